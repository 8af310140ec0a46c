"""`python -m bot`: ask prints exactly the HTTP API's JSON; report lists content gaps."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run(real_index_dir, tmp_path_factory):
    env = dict(os.environ, RCA_INDEX_DIR=str(real_index_dir), RCA_CACHE_DIR=str(tmp_path_factory.mktemp("cache")),
               RCA_REPORTS_DIR=str(tmp_path_factory.mktemp("reports")))

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=300)
    return run


def test_ask_json_prints_the_api_shape(run):
    result = run("ask", "--json", "How is vulvar cancer diagnosed?")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert set(reply) == {"intent", "confidence", "answer_status", "cancer_type", "messages"}
    assert reply["answer_status"] == "answered" and reply["cancer_type"] == "vulvar cancer"
    assert reply["intent"] == "ask_question"
    message = reply["messages"][0]
    assert set(message) == {"id", "text", "citations", "buttons", "trials", "organisations"}
    assert message["citations"][0]["doc_id"] == "nci-vulvar-cancer"


def test_ask_reads_one_question_per_line(run):
    result = run("ask", "--json", stdin="hello\n\nI can't breathe and my chest hurts\nwhat is the weather like\n")
    assert result.returncode == 0, result.stderr
    intents = [json.loads(line)["intent"] for line in result.stdout.splitlines()]
    assert intents == ["greet", "emergency", "out_of_scope"]


def test_ask_refuses_an_empty_question(run):
    assert run("ask", "--json", "  ").returncode == 2


def test_report_lists_gaps_after_a_low_confidence_question(run):
    run("ask", "--json", "what does my cat's horoscope say about glorbulent fennimore?")
    run("ask", "--json", "this answer was wrong and useless")
    result = run("report")
    assert result.returncode == 0
    assert "feedback" in result.stdout or "low_confidence" in result.stdout or "not_understood" in result.stdout
