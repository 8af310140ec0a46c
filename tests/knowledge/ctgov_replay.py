"""A local stand-in for ClinicalTrials.gov's `GET /api/v2/studies`, so sync tests need no network.

It serves pages keyed by (query.cond, pageToken), records every request, and can be told to misbehave
for given requests: 429 with Retry-After, a 5xx, a stall longer than the client's timeout, a body cut
short, any raw body, or the page with one malformed study added. Pages are either given whole or built
from the recorded studies in tests/data/clinicaltrials (split into pages linked by nextPageToken).
"""
from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

V2 = Path(__file__).resolve().parents[1] / "data" / "clinicaltrials" / "v2_json"
API_PATH = "/api/v2/studies"


def recorded_studies() -> list[dict[str, Any]]:
    """The recorded v2 studies, each once, in a fixed order: the biomcp search pages, then the AACT studies."""
    studies: dict[str, dict[str, Any]] = {}
    for path in sorted((V2 / "biomcp_captures").glob("search_*.json")):
        for study in json.loads(path.read_text(encoding="utf-8"))["studies"]:
            studies.setdefault(nct_id(study), study)
    for path in sorted((V2 / "aact_fixtures").glob("*.json")):
        study = json.loads(path.read_text(encoding="utf-8"))
        studies.setdefault(nct_id(study), study)
    return list(studies.values())


def nct_id(study: Any) -> str | None:
    try:
        found = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return found if isinstance(found, str) else None


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]

    @property
    def token(self) -> str | None:
        return self.query.get("pageToken")


@dataclass(frozen=True)
class Reply:
    """What to answer instead of (or, for `stall` and `with_study`, as well as) the page itself."""
    kind: str  # "status", "stall", "truncated", "raw", "with_study"
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes = b""
    study: Any = None


def too_many_requests(retry_after: str | None = "2") -> Reply:
    return Reply("status", 429, retry_after=retry_after, body=b"Too Many Requests")


def server_error(status: int = 500) -> Reply:
    return Reply("status", status, body=b"<html><body>Internal Server Error</body></html>")


def client_error(status: int = 400, text: str = "Bad request") -> Reply:
    return Reply("status", status, body=text.encode())


def stall(seconds: float) -> Reply:
    """Answer the page only after `seconds` (released early when the server closes)."""
    return Reply("stall", seconds=seconds)


def truncated() -> Reply:
    """Promise the page's full Content-Length, send half of it, and hang up."""
    return Reply("truncated")


def raw(body: bytes, status: int = 200) -> Reply:
    return Reply("raw", status, body=body)


def with_study(study: Any) -> Reply:
    """The page with one more study inserted in the middle (say, a malformed one)."""
    return Reply("with_study", study=study)


def page_token(condition: str, index: int) -> str:
    """Opaque, URL-safe and deterministic, like the API's own tokens."""
    return base64.urlsafe_b64encode(f"{condition}\x00{index}".encode()).decode().rstrip("=")


class ReplayServer:
    def __init__(self) -> None:
        self.pages: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.totals: dict[str, int] = {}
        self.requests: list[Request] = []
        self.on_request: Callable[[Request], None] | None = None  # e.g. to note a fake clock's time
        self._scripts: dict[tuple[str, str | None], deque[Reply]] = {}
        self._always: dict[tuple[str, str | None], Reply] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="ctgov-replay",
                                        daemon=True)  # a short poll: close() returns at once
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v2"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what it serves

    def add_page(self, condition: str, body: dict[str, Any], token: str | None = None) -> None:
        """Serve `body` (a recorded {"studies": [...]} page, as is) for this condition and pageToken."""
        self.pages[(condition, token)] = body

    def add_pages(self, condition: str, studies: list[Any], page_size: int) -> list[str | None]:
        """Split the studies into pages linked by nextPageToken; returns each page's token (None first)."""
        chunks = [studies[i:i + page_size] for i in range(0, len(studies), page_size)] or [[]]
        tokens: list[str | None] = [None] + [page_token(condition, i) for i in range(1, len(chunks))]
        for i, chunk in enumerate(chunks):
            body: dict[str, Any] = {"studies": chunk}
            if i + 1 < len(chunks):
                body["nextPageToken"] = tokens[i + 1]
            self.add_page(condition, body, tokens[i])
        self.totals[condition] = len(studies)
        return tokens

    def script(self, condition: str, *replies: Reply, token: str | None = None) -> None:
        """The next requests for this page get these replies, one each, then the page again."""
        with self._lock:
            self._scripts.setdefault((condition, token), deque()).extend(replies)

    def break_page(self, condition: str, reply: Reply, token: str | None = None) -> None:
        """Every request for this page gets `reply`, until `heal`."""
        with self._lock:
            self._always[(condition, token)] = reply

    def heal(self) -> None:
        with self._lock:
            self._always.clear()
            self._scripts.clear()

    def tokens_requested(self, condition: str | None = None) -> list[str | None]:
        return [r.token for r in self.requests if condition is None or r.query.get("query.cond") == condition]

    # -- the HTTP side

    def _next_reply(self, key: tuple[str, str | None]) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(key)
            if queue:
                return queue.popleft()
            return self._always.get(key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a stall past its timeout): nothing to do

            def _send(self, status: int, body: bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None, length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                request = Request(parts.path, query)
                with replay._lock:
                    replay.requests.append(request)
                if replay.on_request:
                    replay.on_request(request)
                if parts.path != API_PATH:
                    return self._send(404, b"Not Found", "text/plain")
                condition = query.get("query.cond", "")
                key = (condition, query.get("pageToken"))
                reply = replay._next_reply(key)
                if reply is not None and reply.kind == "status":
                    headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
                    return self._send(reply.status, reply.body, "text/plain", headers)
                if reply is not None and reply.kind == "raw":
                    return self._send(reply.status, reply.body)
                if reply is not None and reply.kind == "stall":
                    replay._closing.wait(reply.seconds)
                page = replay.pages.get(key)
                if page is None:  # like the API, a token it does not know is a bad request
                    return self._send(400, f"Unknown pageToken {key[1]!r} for query.cond {condition!r}".encode(),
                                      "text/plain")
                page = dict(page)
                if reply is not None and reply.kind == "with_study":
                    studies = list(page["studies"])
                    studies.insert(len(studies) // 2, reply.study)
                    page["studies"] = studies
                if query.get("countTotal") == "true" and key[1] is None and condition in replay.totals:
                    page["totalCount"] = replay.totals[condition]
                body = json.dumps(page).encode()
                if reply is not None and reply.kind == "truncated":
                    self.close_connection = True
                    return self._send(200, body[:len(body) // 2], length=len(body))
                self._send(200, body)

        return Handler
