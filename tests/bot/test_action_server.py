"""The actions under a real Rasa SDK action server, spoken to with a real Rasa action-request body."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def action_server(real_index_dir, tmp_path_factory):
    port = free_port()
    env = dict(os.environ, SANIC_HOST="127.0.0.1", RCA_INDEX_DIR=str(real_index_dir),
               RCA_CACHE_DIR=str(tmp_path_factory.mktemp("cache")), RCA_REPORTS_DIR=str(tmp_path_factory.mktemp("reports")))
    process = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode())
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("action server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


def request_body(action: str, text: str, intent: str, slots: dict | None = None) -> dict:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    tracker = {
        "sender_id": "test-user", "slots": {"cancer_type": None, "country": None, "requested_slot": None,
                                            **(slots or {})},
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        "events": [{"event": "action", "name": "action_listen"},
                   {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}],
        "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    }
    return {"next_action": action, "sender_id": "test-user", "tracker": tracker, "domain": domain, "version": "3.6.21"}


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}/webhook", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_answer_action_returns_cited_custom_payload(action_server):
    reply = post(action_server, request_body("action_answer_question", "How is penile cancer diagnosed?", "ask_question"))
    assert reply["responses"], reply
    custom = reply["responses"][0]["custom"]
    assert custom["intent"] == "ask_question"
    assert custom["citations"] and custom["citations"][0]["doc_id"] == "nci-penile-cancer"
    assert {"trials", "organisations"} <= set(custom)
    assert {"event": "slot", "name": "cancer_type", "value": "penile cancer"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in reply["events"]]


def test_trial_action_without_cancer_type_asks_and_sets_the_form_slots(action_server):
    reply = post(action_server, request_body("action_find_trial", "find me a trial", "find_trial"))
    assert reply["responses"][-1]["buttons"]
    assert all(r["custom"]["intent"] == "find_trial" for r in reply["responses"])
    slots = {e["name"]: e["value"] for e in reply["events"] if e["event"] == "slot"}
    assert slots["requested_slot"] == "cancer_type"


def test_emergency_action(action_server):
    reply = post(action_server, request_body("action_emergency", "I can't breathe", "emergency"))
    assert "999" in reply["responses"][0]["text"] and reply["responses"][0]["custom"]["intent"] == "emergency"


def test_unknown_action_is_a_clear_error(action_server):
    request = urllib.request.Request(f"{action_server}/webhook", data=json.dumps(
        request_body("action_does_not_exist", "hi", "greet")).encode(), headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 404


def test_a_personal_question_rasa_calls_out_of_scope_is_deferred_kindly(action_server):
    body = request_body("action_out_of_scope", "will he lose his leg?", "out_of_scope", {"cancer_type": "Ewing sarcoma"})
    reply = post(action_server, body)
    first = reply["responses"][0]
    assert first["text"].startswith("I can't say what will happen to him")
    assert first["custom"]["intent"] == "ask_question"
    body = request_body("action_out_of_scope", "can you tell me if I have it?", "out_of_scope")
    assert post(action_server, body)["responses"][0]["text"].startswith("I can't tell whether you have it")


def test_a_country_after_a_trial_search_continues_it_whatever_rasa_classified(action_server):
    body = request_body("action_answer_question", "is there one in the Netherlands?", "ask_question",
                        {"cancer_type": "adenoid cystic carcinoma"})
    body["tracker"]["events"] = [
        {"event": "user", "text": "are there trials for adenoid cystic carcinoma"},
        {"event": "bot", "text": "I found 1 study", "data": {"custom": {"intent": "find_trial"}}},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "is there one in the Netherlands?"}]
    reply = post(action_server, body)
    assert all(r["custom"]["intent"] == "find_trial" for r in reply["responses"])
    assert any("in the Netherlands" in (r.get("text") or "") for r in reply["responses"])


def test_a_message_naming_a_cancer_that_rasa_did_not_understand_is_answered(action_server):
    reply = post(action_server, request_body("action_default_fallback", "my dad has been told he has bile duct cancer",
                                             "nlu_fallback"))
    assert reply["responses"][0]["custom"]["intent"] == "ask_question"
    assert reply["responses"][-1]["custom"]["cancer_type"] == "bile duct cancer"
