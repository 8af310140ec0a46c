"""Load: 64 concurrent sessions for a bounded time: 0 errors, answers identical to sequential ones, no
session sees another's slots.

`python -m server` runs for real (gunicorn, 2 workers, conversations in SQLite) on the shipped index.
64 scripted conversations (a cancer-type question and its follow-ups; the trial form answered with a
cancer type; organisations in a country, then a cancer type and follow-ups) each get their own
session. Each is first run sequentially, recording every reply; then all 64 run at once, one thread
and one kept-alive `http.client` connection each, REPEATS times over (the second run of a script
starts from the slots the first one left, so it tests their persistence too), within DEADLINE seconds.

Every concurrent reply must equal the sequential reply for the same turn, apart from the per-message
random `id` (and `session_id`, which is the session's own): the intent, its confidence, the texts,
buttons, citations (doc_id, quote, offsets...), trials and organisations. Because every conversation
has its own cancer type (and the organisation ones their own country), a slot read from another
session would change a follow-up's answer; the follow-ups are also checked against the cancer's own
document, and the slots stored at the end against the session's own values.
"""
from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from serving import ROOT, running_server

from bot import templates
from knowledge.document_format import load_documents
from server.sqlite_store import SqliteStore

pytestmark = pytest.mark.slow

SESSIONS = 64
REPEATS = 3
DEADLINE = 180.0  # seconds for the whole concurrent phase; it takes about 10 on 2 cores

# (as the user writes it, canonical slot value (its name in knowledge/cancers.yml)); its questions and
# follow-ups must cite a page about it first
CANCERS = [
    ("thymoma", "thymoma"),
    ("vulvar cancer", "vulvar cancer"),
    ("penile cancer", "penile cancer"),
    ("Merkel cell carcinoma", "Merkel cell carcinoma"),
    ("Ewing sarcoma", "Ewing sarcoma"),
    ("Kaposi sarcoma", "Kaposi sarcoma"),
    ("uterine sarcoma", "uterine sarcoma"),
    ("anal cancer", "anal cancer"),
    ("gallbladder cancer", "gallbladder cancer"),
    ("parathyroid cancer", "parathyroid cancer"),
    ("osteosarcoma", "osteosarcoma"),
    ("male breast cancer", "male breast cancer"),
    ("nasopharyngeal cancer", "nasopharyngeal cancer"),
    ("salivary gland cancer", "salivary gland cancer"),
    ("urethral cancer", "urethral cancer"),
    ("small intestine cancer", "small intestine cancer"),
    ("bile duct cancer", "bile duct cancer"),
    ("uveal melanoma", "intraocular melanoma"),
    ("GIST", "gastrointestinal stromal tumor"),
    ("Langerhans cell histiocytosis", "Langerhans cell histiocytosis"),
    ("mycosis fungoides", "mycosis fungoides"),
    ("hypopharyngeal cancer", "hypopharyngeal cancer"),
    ("gestational trophoblastic disease", "gestational trophoblastic disease"),
    ("soft tissue sarcoma", "soft tissue sarcoma"),
]
COUNTRIES = ["France", "Slovenia", "Italy", "United Kingdom", "Bulgaria", "Germany", "Japan", "Canada"]
FOLLOW_UPS = ("how is it treated?", "how is it diagnosed?")
# The cancers each shipped document is about, as the served index has them.
ABOUT = {d.doc_id: set(d.cancer_types) for d in load_documents(ROOT / "knowledge" / "documents").documents}


@dataclass
class Conversation:
    session_id: str
    kind: str
    cancer: str  # as written
    canonical: str
    country: str | None
    turns: list[str]
    baseline: list[dict[str, Any]] = field(default_factory=list)  # REPEATS x turns, normalised


def conversations() -> list[Conversation]:
    made = []
    for i in range(SESSIONS):
        cancer, canonical = CANCERS[i % len(CANCERS)]
        kind = ("question", "trial_form", "organisations")[(i // len(CANCERS)) % 3]
        country = None
        if kind == "question":
            turns = [f"What is {cancer}?", "how is it treated?", "how is it diagnosed?"]
        elif kind == "trial_form":
            turns = ["I'd like to find a clinical trial", cancer, "how is it treated?"]
        else:
            country = COUNTRIES[i % len(COUNTRIES)]
            turns = [f"patient organisations in {country}", f"What is {cancer}?", "how is it treated?",
                     "any support groups?", "are there trials?"]
        made.append(Conversation(f"load-{i:02d}-{kind}", kind, cancer, canonical, country, turns))
    assert len({(c.kind, c.cancer) for c in made}) == SESSIONS, "every session has its own conversation"
    return made


def normalised(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply without what legitimately differs between two runs: random message ids, the session id."""
    out = {k: v for k, v in reply.items() if k != "session_id"}
    out["messages"] = [{k: v for k, v in m.items() if k != "id"} for m in reply["messages"]]
    return out


class Client:
    """One kept-alive connection; reopened (and counted) only when the server closed it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connects = 0

    def chat(self, session_id: str, message: str) -> tuple[int, Any]:
        if self.connection.sock is None:
            self.connects += 1
        body = json.dumps({"session_id": session_id, "message": message})
        self.connection.request("POST", "/api/chat", body=body, headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        data = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self.connection.close()


def check_semantics(conversation: Conversation, turn: str, reply: dict[str, Any]) -> None:
    """What a reply must say whoever else is talking: about this session's own cancer type and country."""
    last = reply["messages"][-1]
    if turn in FOLLOW_UPS or turn.startswith("What is "):
        assert reply["intent"] == "ask_question", (conversation.session_id, turn, reply["intent"])
        cited = reply["messages"][0]["citations"][0]["doc_id"]
        assert conversation.canonical in ABOUT[cited], (conversation.session_id, turn, cited)  # its cancer's page
    if reply["intent"] == "find_trial" and last["text"] != templates.ASK_CANCER_TYPE_TRIAL:
        assert f" for {conversation.canonical}" in last["text"], (conversation.session_id, turn, last["text"])
    if reply["intent"] == "find_organisation":
        assert conversation.country and conversation.country in last["text"], (conversation.session_id, turn)


@pytest.fixture(scope="module")
def served(real_index_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("load")
    with running_server(real_index_dir, work, workers=2) as (url, _process):
        yield url, work


def test_64_concurrent_sessions_answer_as_sequential_ones_without_errors_or_leaks(served):
    url, work = served
    script = conversations()

    # 1. sequentially, one connection, each conversation REPEATS times in its own session
    client = Client(url)
    started = time.perf_counter()
    for conversation in script:
        for _ in range(REPEATS):
            for turn in conversation.turns:
                status, reply = client.chat(conversation.session_id + "-seq", turn)
                assert status == 200, (conversation.session_id, turn, status, reply)
                check_semantics(conversation, turn, reply)
                conversation.baseline.append(normalised(reply))
    sequential_seconds = time.perf_counter() - started
    sequential_turns = sum(len(c.baseline) for c in script)
    client.close()

    # 2. all at once, each in a fresh session of its own
    errors: list[str] = []
    mismatches: list[str] = []
    done = [0] * SESSIONS
    connects = [0] * SESSIONS
    barrier = threading.Barrier(SESSIONS)
    stop_at: list[float] = []

    def run(index: int, conversation: Conversation) -> None:
        session = Client(url)
        try:
            barrier.wait(timeout=60)
            for repeat in range(REPEATS):
                for position, turn in enumerate(conversation.turns):
                    if time.monotonic() > stop_at[0]:
                        return
                    try:
                        status, reply = session.chat(conversation.session_id, turn)
                    except (OSError, http.client.HTTPException, ValueError) as exc:
                        errors.append(f"{conversation.session_id} {turn!r}: {type(exc).__name__}: {exc}")
                        session.connection.close()
                        continue
                    if status != 200:
                        errors.append(f"{conversation.session_id} {turn!r}: HTTP {status} {reply}")
                        continue
                    expected = conversation.baseline[repeat * len(conversation.turns) + position]
                    if reply.get("session_id") != conversation.session_id or normalised(reply) != expected:
                        mismatches.append(f"{conversation.session_id} run {repeat} {turn!r}:\n"
                                          f"  got      {json.dumps(normalised(reply))[:600]}\n"
                                          f"  expected {json.dumps(expected)[:600]}")
                    done[index] += 1
        finally:
            connects[index] = session.connects
            session.close()

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(script)]
    stop_at.append(time.monotonic() + DEADLINE)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE + 90)
    concurrent_seconds = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), "a session thread hung"

    total = sum(done)
    print(f"\nsequential: {len(script)} sessions, {sequential_turns} turns in {sequential_seconds:.1f}s "
          f"({sequential_turns / sequential_seconds:.1f} turns/s)")
    print(f"concurrent: {SESSIONS} sessions, {total} turns in {concurrent_seconds:.1f}s "
          f"({total / concurrent_seconds:.1f} turns/s), {len(errors)} errors, {len(mismatches)} mismatches, "
          f"{sum(connects)} connections opened")

    assert not errors, f"{len(errors)} failed requests:\n" + "\n".join(errors[:20])
    assert not mismatches, f"{len(mismatches)} replies differ from the sequential ones:\n" + "\n".join(mismatches[:5])
    # bounded, but not so short that it tested little: every session got through its script at least once
    assert all(count >= len(c.turns) for count, c in zip(done, script)), done
    assert total == sequential_turns, f"only {total} of {sequential_turns} turns ran within {DEADLINE}s"

    # both workers answered: a session's turns were spread over the two processes, sharing SQLite
    workers = set(re.findall(r"\[(\d+)\] INFO server\.access: POST /api/chat 200", (work / "server.log").read_text()))
    assert len(workers) == 2, workers

    # 3. what each session kept is its own
    store = SqliteStore(work / "sessions.sqlite3")
    try:
        for conversation in script:
            state = store.export(conversation.session_id)
            assert state is not None, conversation.session_id
            assert state["slots"]["cancer_type"] == conversation.canonical, (conversation.session_id, state["slots"])
            assert state["slots"]["country"] == conversation.country, (conversation.session_id, state["slots"])
            assert [turn["user"] for turn in state["history"]] == conversation.turns * REPEATS
    finally:
        store.close()
