"""`python -m server` for real: gunicorn with two workers, sharing conversations through SQLite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error

import pytest
from serving import ROOT, call, free_port, running_server


@pytest.fixture(scope="module")
def served_with_log(real_index_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    with running_server(real_index_dir, work) as (url, _process):
        yield url, work / "server.log"


@pytest.fixture(scope="module")
def served(served_with_log):
    return served_with_log[0]


def test_ready_and_answers_over_http(served):
    assert call(f"{served}/readyz")["status"] == "ready"
    reply = call(f"{served}/api/chat", {"session_id": "http-1", "message": "What is Merkel cell carcinoma?"})
    assert reply["intent"] == "ask_question" and reply["messages"][0]["citations"]


def test_conversation_state_is_shared_by_the_workers(served):
    """Turns of one conversation land on either worker; the follow-up still knows the cancer type."""
    call(f"{served}/api/chat", {"session_id": "shared", "message": "What is vulvar cancer?"})
    for _ in range(6):  # several requests, so both workers answer some
        reply = call(f"{served}/api/chat", {"session_id": "shared", "message": "how is it treated?"})
        assert reply["messages"][0]["citations"][0]["doc_id"] == "nci-vulvar-cancer"


def test_errors_over_http_use_the_json_shape(served):
    with pytest.raises(urllib.error.HTTPError) as error:
        call(f"{served}/api/chat", {"session_id": "bad id!", "message": "hi"})
    assert error.value.code == 400
    assert json.loads(error.value.read())["error"]["code"] == "invalid_session_id"


def test_missing_index_fails_fast_with_the_fix(tmp_path):
    result = subprocess.run([sys.executable, "-m", "server", "--port", str(free_port())], cwd=ROOT,
                            env=dict(os.environ, RCA_INDEX_DIR=str(tmp_path / "none")),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "make index" in result.stderr


def test_logs_hold_route_patterns_but_never_message_text(served_with_log):
    url, log_path = served_with_log
    canary = "CANARY-7f3a9c my neighbour Jane Roe"
    call(f"{url}/api/chat", {"session_id": "canary-session", "message": f"What is thymoma? {canary}"})
    call(f"{url}/api/search?q=thymoma+{canary.replace(' ', '+')}")
    call(f"{url}/api/feedback", {"session_id": "canary-session", "message_id": "m1", "rating": "down",
                                 "comment": canary})
    for bad in ({"session_id": "canary-session", "message": canary * 200}, {"session_id": canary, "message": "x"}):
        with pytest.raises(urllib.error.HTTPError) as error:
            call(f"{url}/api/chat", bad)
        assert "CANARY" not in error.value.read().decode()
    logged = log_path.read_text(errors="replace")
    assert "POST /api/chat 200" in logged and "GET /api/search 200" in logged
    assert "CANARY" not in logged and "canary-session" not in logged and "Jane" not in logged


@pytest.mark.parametrize("cores, workers, threads", [(2, 2, "1"), (2, 1, "2"), (8, 3, "2"), (1, 4, "1")])
def test_workers_share_the_cores_unless_threads_are_set(monkeypatch, cores, workers, threads):
    from server.__main__ import share_cores_between_workers

    monkeypatch.delenv("RCA_TORCH_THREADS", raising=False)
    monkeypatch.setattr("server.__main__.os.cpu_count", lambda: cores)
    share_cores_between_workers(workers)
    assert os.environ["RCA_TORCH_THREADS"] == threads
    monkeypatch.setenv("RCA_TORCH_THREADS", "3")
    share_cores_between_workers(workers)
    assert os.environ["RCA_TORCH_THREADS"] == "3"
