"""The evaluation questions through a real Rasa 3.6 server: at least 0.90 pass, no ungrounded citation.

The same questions also go through the project's own /webhooks/rest/webhook (the embedded engine), so
the two are compared in one run; both summaries land in var/rasa/figures.json for docs/benchmarks.md.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from rasa_stack import RASA_VENV, ROOT, rasa_env
from scoring import evaluate

QUESTIONS = ROOT / "tests" / "data" / "questions.jsonl"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "run_eval.py"
TARGET = 0.90


def _report(name: str, summary: dict) -> str:
    failed = [r for r in summary["results"] if not r["pass"]]
    lines = [f"{name}: pass_rate {summary['pass_rate']} qa_hit1 {summary['qa_hit1']} qa_hit3 {summary['qa_hit3']} "
             f"ungrounded {summary['ungrounded_citations']} p50_ms {summary['latency_ms_p50']}"]
    lines += [f"  FAIL {r['id']} ({r['kind']}): intent {r['intent']}, top quote {r['top_quote']!r}" for r in failed]
    return "\n".join(lines)


def _summary(chat_url: str, stack, figures, name: str, label: str) -> dict:
    """The questions scored through `chat_url`, recorded in the figures under `name`."""
    summary = evaluate(chat_url, stack.project, QUESTIONS)
    figures[name] = {k: v for k, v in summary.items() if k != "results"}
    figures[f"{name}_results"] = summary["results"]
    print(_report(label, summary))
    return summary


@pytest.fixture(scope="module")
def rasa_summary(stack, figures):
    return _summary(stack.rasa, stack, figures, "rasa", "through Rasa")


@pytest.fixture(scope="module")
def embedded_summary(stack, figures):
    return _summary(stack.project, stack, figures, "embedded", "embedded engine")


def test_telemetry_is_off(rasa_model):
    config = yaml.safe_load((RASA_VENV / "home" / ".config" / "rasa" / "global.yml").read_text(encoding="utf-8"))
    assert config["metrics"]["enabled"] is False
    assert rasa_env()["RASA_TELEMETRY_ENABLED"] == "false"


def test_questions_through_rasa_pass_with_grounded_citations(rasa_summary):
    assert rasa_summary["ungrounded_citations"] == 0, _report("through Rasa", rasa_summary)
    assert rasa_summary["pass_rate"] >= TARGET, _report("through Rasa", rasa_summary)


def test_rasa_answers_like_the_embedded_engine(rasa_summary, embedded_summary, figures):
    """The same first citation from both engines for nearly every question. Intents may differ where
    the two classifiers disagree (Rasa's DIET on word and character features, the engine's nearest
    examples by sentence embedding): recorded, not asserted."""
    assert embedded_summary["pass_rate"] >= TARGET and embedded_summary["ungrounded_citations"] == 0
    pairs = list(zip(rasa_summary["results"], embedded_summary["results"]))
    same_intent = [r["id"] for r, e in pairs if r["intent"] == e["intent"]]
    same_quote = [r["id"] for r, e in pairs if r["top_quote"] == e["top_quote"]]
    figures["agreement"] = {
        "intent": round(len(same_intent) / len(pairs), 3), "first_citation": round(len(same_quote) / len(pairs), 3),
        "differences": [{"id": r["id"], "rasa": r["intent"], "embedded": e["intent"], "same_first_citation":
                         r["top_quote"] == e["top_quote"]} for r, e in pairs
                        if r["intent"] != e["intent"] or r["top_quote"] != e["top_quote"]]}
    print("agreement", figures["agreement"])
    assert len(same_quote) / len(pairs) >= TARGET, figures["agreement"]


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason=f"{SHARED_EVAL} is not beside this clone (CI copies it there)")
def test_shared_run_eval_through_rasa(stack, figures):
    """`../shared/eval/run_eval.py --rasa --url <rasa> --docs-url <project server>` on questions.jsonl."""
    command = [sys.executable, str(SHARED_EVAL), "--rasa", "--url", stack.rasa, "--docs-url", stack.project,
               "--min-score", str(TARGET)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    print(result.stdout[-2000:], result.stderr[-4000:])
    summary = json.loads(result.stdout[:result.stdout.rindex("}") + 1])
    figures["shared_run_eval"] = summary
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["pass_rate"] >= TARGET and summary["ungrounded_citations"] == 0


@pytest.mark.parametrize("question_set, target", [("uncovered_cancers.jsonl", 1.0), ("offtopic_health.jsonl", 0.95)])
def test_scope_gate_through_rasa(stack, figures, question_set, target):
    """Cancers the sources don't cover are never answered from another cancer's page, and health
    questions outside rare cancers get no cancer's citation, through Rasa as through the engine."""
    summary = evaluate(stack.rasa, stack.project, ROOT / "tests" / "data" / question_set, limit=60)
    figures[f"rasa_{question_set.split('.')[0]}"] = {k: v for k, v in summary.items() if k != "results"}
    failed = [r for r in summary["results"] if not r["pass"]]
    assert summary["ungrounded_citations"] == 0
    assert summary["pass_rate"] >= target, failed


CONVERSATIONS = {"shared": ROOT.parent / "shared" / "eval" / "conversations.jsonl",
                 "own": ROOT / "tests" / "data" / "conversations.jsonl"}


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason=f"{SHARED_EVAL} is not beside this clone (CI copies it there)")
@pytest.mark.parametrize("name, target", [("shared", 0.90), ("own", 0.85)])
def test_conversations_through_rasa(stack, figures, name, target):
    """Several turns in one conversation, through Rasa's slots and the same actions: the cancer, the
    country and the task carry over (bot/actions/rerouting.py). Issue 13 asks 0.90 of the shared set's
    turns; the own set (tests/data/conversations.jsonl) is held near its level (0.92 of turns)."""
    command = [sys.executable, str(SHARED_EVAL), "--rasa", "--url", stack.rasa, "--docs-url", stack.project,
               "--set", str(CONVERSATIONS[name])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    summary = json.loads(result.stdout[:result.stdout.rindex("}") + 1])
    figures[f"rasa_conversations_{name}"] = summary
    print(name, summary)
    assert summary["ungrounded_citations"] == 0
    assert summary["turn_pass_rate"] >= target, result.stderr[-4000:]
