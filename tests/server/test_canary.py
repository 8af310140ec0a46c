"""A canary string sent in messages never appears in logs or error bodies; retention removes old sessions.

`python -m server` runs for real (gunicorn, 2 workers; its output goes to work/server.log). A canary
unique to the run, "CANARY<random letters>", is sent with a channel tag through every way text gets
in: chat and webhook messages, messages that take the "not sure" path (logged as content gaps),
feedback comments, over-long messages, invalid session ids, search queries, bad JSON, 404 paths, query
strings, headers, and requests that make the server fail.

Where it may legitimately end up:
* the conversation database (sessions.sqlite3 and its -wal/-shm files), which stores the conversation;
* the content-gap report (reports/gaps.jsonl), which keeps the *text* of unanswered questions and of
  negative feedback by design (bot/report.py). What it promises is redaction: e-mail addresses, phone
  numbers, dates and names after "my name is" are removed. So the plain canary may be in an event's
  "text" (and only there, and only from those channels), and the personal data sent alongside it
  (an e-mail address, a phone number, a date of birth, a name, all unique to the run) never;
* 200 responses that show the user their own input: a search echoes its query, the Rasa channel its
  sender, the export page the conversation.
Everywhere else, never: no error body, no header, the server log, any other file under the work dir,
or any file under var/ written during the run.

The canary is letters only, so no redaction pattern (phone, date) can touch it and no URL or JSON
encoding can hide it; files are searched case-insensitively.
"""
from __future__ import annotations

import http.client
import json
import random
import re
import string
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from serving import ROOT, running_server

pytestmark = pytest.mark.slow

RNG = random.Random(5077)  # fixed: the canary takes part in routing a message, so it must not change between runs
TOKEN = "".join(RNG.choice(string.ascii_uppercase) for _ in range(14))
CANARY = f"CANARY{TOKEN}"
TAGGED = re.compile(rf"{CANARY}X([A-Z]+)", re.IGNORECASE)


def canary(channel: str) -> str:
    return f"{CANARY}X{channel.upper().replace('-', '')}"


def _name() -> str:
    return RNG.choice(string.ascii_uppercase) + "".join(RNG.choice("bcdfghjklmnpqrstvwxz") for _ in range(6))


# Personal data the gap report promises to redact, unique to the run.
FIRST, LAST = _name(), _name()
EMAIL = f"{FIRST.lower()}.{LAST.lower()}@example.org"
PHONE = f"+44 20 {RNG.randint(1000, 9999)} {RNG.randint(1000, 9999)}"
BIRTH = f"{RNG.randint(10, 28)}/{RNG.randint(10, 12)}/19{RNG.randint(40, 79)}"
PERSONAL = {"first name": FIRST, "last name": LAST, "e-mail": EMAIL, "phone": PHONE, "date of birth": BIRTH}
PII_SENTENCE = f"My name is {FIRST} {LAST}, write to {EMAIL} or call {PHONE}. I was born on {BIRTH}."

SESSION = "canary-session-1"
MAX_CHARS = 1000

# Channels whose text the gap report keeps (redacted) by design; checked to have really been logged.
REPORTED = {"chatgap", "chatgappii", "chatfeedback", "feedbackdown", "webhookgap"}
# Channels whose text the conversation database keeps.
STORED = {"chat", "chatgap", "chatgappii", "chatfeedback", "webhook", "webhookgap", "validsession", "deleted"}


@dataclass
class Sent:
    channel: str
    method: str
    path: str
    status: int
    body: bytes
    headers: str
    echo_ok: bool  # a 200 that shows the user their own input


def _request(url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), str(response.getheaders())
    finally:
        connection.close()


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _send_everything(url: str) -> list[Sent]:
    sent: list[Sent] = []
    j = {"Content-Type": "application/json"}

    def go(channel, method, path, body=None, headers=None, echo_ok=False):
        status, data, response_headers = _request(url, method, path, body, headers)
        sent.append(Sent(channel, method, path, status, data, response_headers, echo_ok))
        return status, data

    # accepted messages
    go("chat", "POST", "/api/chat", _json({"session_id": SESSION, "message": f"What is thymoma? {canary('chat')}"}), j)
    go("chatgap", "POST", "/api/chat", _json({"session_id": SESSION,
                                               "message": f"what colour is the thymoma mascot? {canary('chatgap')}"}), j)
    go("chatgappii", "POST", "/api/chat", _json({"session_id": SESSION, "message":
                                                  f"who won the thymoma marathon in 1987? {PII_SENTENCE} {canary('chatgappii')}"}), j)
    # the feedback intent, by its quick-reply payload: the classifier's reading of free text with a
    # 40-letter nonsense word in it is not what is tested here
    go("chatfeedback", "POST", "/api/chat", _json({"session_id": SESSION, "message":
                                                    f'/feedback{{"comment": "wrong answer {canary("chatfeedback")}"}}'}), j)
    go("webhook", "POST", "/webhooks/rest/webhook",
       _json({"sender": "canary-sender", "message": f"What is penile cancer? {canary('webhook')}"}), j, echo_ok=True)
    go("webhookgap", "POST", "/webhooks/rest/webhook",
       _json({"sender": "canary-sender", "message": f"who won the thymoma marathon in 1987? {canary('webhookgap')}"}),
       j, echo_ok=True)
    go("validsession", "POST", "/api/chat", _json({"session_id": f"s-{canary('validsession')}", "message": "hello"}), j,
       echo_ok=True)  # a reply names its session
    go("deleted", "POST", "/api/chat", _json({"session_id": "canary-deleted", "message": f"hi {canary('deleted')}"}), j)
    go("deleted", "DELETE", "/api/sessions/canary-deleted")
    go("export", "GET", f"/api/sessions/{SESSION}/export", echo_ok=True)
    # feedback
    go("feedbackdown", "POST", "/api/feedback", _json({"session_id": SESSION, "message_id": "m1", "rating": "down",
                                                       "comment": f"wrong answer. {PII_SENTENCE} {canary('feedbackdown')}"}), j)
    go("feedbackup", "POST", "/api/feedback", _json({"session_id": SESSION, "message_id": "m1", "rating": "up",
                                                     "comment": f"great {canary('feedbackup')}"}), j)
    go("feedbackbad", "POST", "/api/feedback", _json({"session_id": SESSION, "message_id": "m1", "rating": "meh",
                                                      "comment": canary("feedbackbad")}), j)
    go("feedbacklong", "POST", "/api/feedback", _json({"session_id": SESSION, "message_id": "m1", "rating": "down",
                                                       "comment": canary("feedbacklong") * 60}), j)
    go("feedbackid", "POST", "/api/feedback", _json({"session_id": f"{canary('feedbackid')} !", "message_id": "m1",
                                                     "rating": "down", "comment": "wrong"}), j)
    # refused messages
    go("chatlong", "POST", "/api/chat", _json({"session_id": SESSION, "message": canary("chatlong") * 60}), j)
    go("webhooklong", "POST", "/webhooks/rest/webhook",
       _json({"sender": "canary-sender", "message": canary("webhooklong") + "x" * MAX_CHARS}), j)
    go("badsession", "POST", "/api/chat", _json({"session_id": f"{canary('badsession')} !", "message": "hi"}), j)
    go("longsession", "POST", "/api/chat", _json({"session_id": canary("longsession") * 6, "message": "hi"}), j)
    go("badsender", "POST", "/webhooks/rest/webhook", _json({"sender": f"{canary('badsender')}/..", "message": "hi"}), j)
    go("badfield", "POST", "/api/chat", _json({"session_id": SESSION, "message": [canary("badfield")]}), j)
    go("badjson", "POST", "/api/chat", f'{{"session_id": "{SESSION}", "message": "{canary("badjson")}'.encode(), j)
    go("array", "POST", "/api/chat", _json([canary("array")]), j)
    go("textplain", "POST", "/api/chat", canary("textplain").encode(), {"Content-Type": "text/plain"})
    go("oversized", "POST", "/api/chat", _json({"session_id": SESSION, "message": canary("oversized") * 1000}), j)
    go("method", "PUT", "/api/chat", _json({"session_id": SESSION, "message": canary("method")}), j)
    # bodies that make the server fail today (see the report): the traceback must not carry the text
    go("surrogate", "POST", "/api/chat", _json({"session_id": SESSION, "message": f"\ud800 {canary('surrogate')}"}), j)
    go("nested", "POST", "/api/chat", b"[" * 3000 + _json(canary("nested")) + b"]" * 3000, j)
    go("surrogatecomment", "POST", "/api/feedback", _json({"session_id": SESSION, "message_id": "m1", "rating": "down",
                                                           "comment": f"\udc00 {canary('surrogatecomment')}"}), j)
    # search
    go("search", "GET", f"/api/search?q=thymoma+{canary('search')}&k=2", echo_ok=True)
    go("searchlong", "GET", f"/api/search?q={canary('searchlong') * 60}")
    go("searchk", "GET", f"/api/search?q=thymoma&k={canary('searchk')}")
    go("reference", "GET", f"/reference?q=thymoma+{canary('reference')}", echo_ok=True)
    # paths and query strings
    for path in (f"/api/documents/{canary('path')}", f"/{canary('path')}", f"/api/sessions/{canary('path')}/export",
                 f"/documents/{canary('path')}", f"/static/{canary('path')}.js", f"/api/{canary('path')}",
                 f"/api/sessions/{quote(canary('path') + ' !')}", f"/webhooks/{canary('path')}"):
        go("path", "GET", path)
    go("query", "GET", f"/healthz?{canary('query')}=1")
    go("query", "GET", f"/readyz?x={canary('query')}")
    go("query", "GET", f"/documents/nci-irci?start={canary('query')}&end=5")
    go("query", "POST", f"/api/chat?x={canary('query')}", _json({"session_id": SESSION, "message": "hello"}), j)
    # headers
    go("header", "POST", "/api/chat", _json({"session_id": SESSION, "message": "hello"}),
       {**j, "User-Agent": canary("header"), "Referer": f"https://{canary('header')}.example/",
        "Origin": f"https://{canary('header')}.example.org", "X-Forwarded-For": canary("header"),
        "Accept-Language": canary("header"), "Cookie": f"session={canary('header')}"})
    go("header", "OPTIONS", "/api/chat", None, {"Origin": f"https://{canary('header')}.example.org",
                                               "Access-Control-Request-Method": "POST"})
    return sent


@pytest.fixture(scope="module")
def run(real_index_dir, tmp_path_factory):
    """Everything sent to a real server, which is stopped (its files closed) before the checks."""
    work = tmp_path_factory.mktemp("canary")
    started = time.time()
    with running_server(real_index_dir, work, workers=2) as (url, _process):
        sent = _send_everything(url)
    return {"work": work, "sent": sent, "started": started}


def occurrences(text: str) -> list[str]:
    """The channels whose canary is in the text."""
    return [m.group(1).lower() for m in TAGGED.finditer(text)]


def test_every_channel_was_really_exercised(run):
    by_channel = {}
    for s in run["sent"]:
        by_channel.setdefault(s.channel, []).append(s.status)
    print({k: v for k, v in sorted(by_channel.items())})
    assert by_channel["chat"] == [200] and by_channel["chatgap"] == [200] and by_channel["feedbackdown"] == [200]
    for refused in ("chatlong", "webhooklong", "badsession", "longsession", "badsender", "badjson", "array",
                    "textplain", "feedbackbad", "feedbacklong", "feedbackid", "searchlong", "searchk", "badfield"):
        assert by_channel[refused] == [400], (refused, by_channel[refused])
    assert by_channel["oversized"] == [413] and by_channel["method"] == [405]
    assert set(by_channel["path"]) <= {404, 400, 405} and 404 in by_channel["path"]
    reply = json.loads(next(s.body for s in run["sent"] if s.channel == "chatgap"))
    assert reply["intent"] == "ask_question" and reply["messages"][0]["text"].startswith("I'm not sure")


def test_the_canary_is_in_no_error_body_and_no_header(run):
    leaks = []
    for s in run["sent"]:
        text = s.body.decode("utf-8", errors="replace")
        if occurrences(s.headers) or CANARY.lower() in s.headers.lower():
            leaks.append(f"{s.channel} {s.method} {s.path[:60]}: {s.status} header")
        if CANARY.lower() in text.lower() and not (s.echo_ok and s.status == 200):
            leaks.append(f"{s.channel} {s.method} {s.path[:60]}: {s.status} {text[:120]!r}")
        if s.status >= 400:
            body = json.loads(s.body) if s.body.startswith(b"{") else None
            assert body is not None and set(body) == {"error"}, (s.channel, s.path, s.status, s.body[:200])
    assert not leaks, "the canary came back:\n" + "\n".join(leaks)


def test_the_canary_and_personal_data_are_not_in_the_server_log(run):
    log = (run["work"] / "server.log").read_text(errors="replace")
    assert "POST /api/chat 200" in log and "GET /api/search 200" in log  # it is the access log
    assert CANARY.lower() not in log.lower(), f"canary of channels {sorted(set(occurrences(log)))} in the server log"
    for what, value in PERSONAL.items():
        assert value.lower() not in log.lower(), f"{what} in the server log"
    assert SESSION not in log  # the access log names routes, never paths


def test_the_gap_report_keeps_only_redacted_text_of_what_it_reports(run):
    path = run["work"] / "reports" / "gaps.jsonl"
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    reported = set()
    for event in events:
        for key, value in event.items():
            text = json.dumps(value, ensure_ascii=False)
            for what, secret in PERSONAL.items():
                assert secret.lower() not in text.lower(), f"{what} not redacted in {key}: {text}"
            found = set(occurrences(text))
            if key == "text":
                assert found <= REPORTED, f"text of {found - REPORTED} reported: {text}"
                reported |= found
            else:
                assert CANARY.lower() not in text.lower(), f"canary in the report's {key!r}: {text}"
    assert reported == REPORTED, f"not reported: {REPORTED - reported}"  # the paths were really taken
    pii = next(e["text"] for e in events if canary("chatgappii").lower() in e["text"].lower())
    assert all(mark in pii for mark in ("[name]", "[email]", "[phone]", "[date]")), pii
    raw = path.read_text(encoding="utf-8")
    assert CANARY.lower() not in re.sub(rf"{CANARY}X(?:{'|'.join(REPORTED)})", "", raw, flags=re.IGNORECASE).lower()


def _files_with_the_canary(folder: Path, since: float = 0.0, skip: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(s) for s in skip):
            continue
        stat = path.stat()
        if stat.st_mtime < since or stat.st_size > 200_000_000:
            continue
        text = path.read_bytes().decode("latin-1").lower()
        channels = occurrences(text) or (["?"] if CANARY.lower() in text else [])
        personal = [what for what, value in PERSONAL.items() if value.lower().encode().decode("latin-1") in text]
        if channels or personal:
            found[str(path.relative_to(folder))] = sorted(set(channels)) + [f"personal:{p}" for p in personal]
    return found


def test_the_canary_is_in_no_file_but_the_conversation_database_and_the_reported_text(run):
    work = run["work"]
    found = _files_with_the_canary(work)
    database = {name: channels for name, channels in found.items() if name.startswith("sessions.sqlite3")}
    others = {name: channels for name, channels in found.items() if name not in database}
    assert set(others) <= {"reports/gaps.jsonl"}, f"the canary is in {others}"
    # the report's own content is checked above; here only which channels reach it
    assert set(others.get("reports/gaps.jsonl", [])) <= REPORTED
    stored = {c for channels in database.values() for c in channels if not c.startswith("personal:")}
    assert stored <= STORED, f"the database holds text it was never given to store: {stored - STORED}"
    assert {"chat", "chatgap", "webhook"} <= stored  # it does store conversations


def test_nothing_the_server_wrote_under_var_holds_the_canary(run):
    found = _files_with_the_canary(ROOT / "var", since=run["started"] - 1)
    assert not found, f"the canary is in {found}"


# -------------------------------------------------------------------------------------------- retention

RETENTION_DAYS = 0.00002  # 1.7 seconds


def export_status(url: str, session_id: str) -> int:
    return _request(url, "GET", f"/api/sessions/{session_id}/export")[0]


def chat(url: str, session_id: str, message: str) -> int:
    body = _json({"session_id": session_id, "message": message})
    return _request(url, "POST", "/api/chat", body, {"Content-Type": "application/json"})[0]


def test_retention_deletes_sessions_older_than_it_and_keeps_fresh_ones(real_index_dir, tmp_path):
    """Expired sessions are purged by a worker's first save and then at most hourly
    (SqliteStore.PURGE_EVERY_SECONDS): so restart the server after the old session has expired."""
    old_canary = canary("retentionold")
    env = {"RCA_SESSION_RETENTION_DAYS": str(RETENTION_DAYS)}
    with running_server(real_index_dir, tmp_path, workers=1, **env) as (url, _process):
        assert chat(url, "old-session", f"What is thymoma? {old_canary}") == 200
        assert export_status(url, "old-session") == 200
    time.sleep(RETENTION_DAYS * 86400 + 1.5)
    with running_server(real_index_dir, tmp_path, workers=1, **env) as (url, _process):
        assert chat(url, "fresh-session", "What is vulvar cancer?") == 200  # the worker's first save purges
        assert export_status(url, "old-session") == 404
        assert export_status(url, "fresh-session") == 200
        assert json.loads(_request(url, "DELETE", "/api/sessions/old-session")[1])["deleted"] is False
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert re.search(r"purged 1 session\(s\) older than", log), log[-2000:]
    # Gone from the disk too, once the server has stopped (the database, its WAL, the log, the reports).
    # While it runs, the purged row's bytes stay in the WAL and the main file until a checkpoint (and
    # zeroing them relies on this SQLite build's SECURE_DELETE default, which the store does not set).
    assert not _files_with_the_canary(tmp_path), _files_with_the_canary(tmp_path)
