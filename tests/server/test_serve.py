"""`python -m server` for real: gunicorn with two workers, sharing conversations through SQLite."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served(real_index_dir, tmp_path_factory):
    port = free_port()
    work = tmp_path_factory.mktemp("serve")
    env = dict(os.environ, RCA_INDEX_DIR=str(real_index_dir), RCA_DATABASE=str(work / "sessions.sqlite3"),
               RCA_CACHE_DIR=str(work / "cache"), RCA_REPORTS_DIR=str(work / "reports"))
    process = subprocess.Popen([sys.executable, "-m", "server", "--port", str(port), "--workers", "2"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            call(f"{url}/readyz")
            break
        except (OSError, ValueError):
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode())
            time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("server did not become ready")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


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
