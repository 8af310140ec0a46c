"""Live re-indexing: each worker switches to a newly published index between requests.

Requests run under a shared "read" hold; a switch takes the exclusive hold, so it waits for the
requests in flight and no request ever sees two builds (one turn may search several times). The new
build is loaded before the switch, so requests pause only for the swap itself.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from index.search import Searcher
from index.store import IndexError_

log = logging.getLogger("server")


class ReadWriteGate:
    """Many readers or one writer; a waiting writer goes before new readers, so it cannot starve."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writer and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            self._condition.wait_for(lambda: not self._writer and not self._readers)
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._condition:
                self._writer = False
                self._condition.notify_all()


class IndexReloader:
    """Looks for a new build at most every `every` seconds, and switches the searcher to it."""

    def __init__(self, searcher: Searcher, every: float):
        if every < 0:
            raise ValueError(f"every must be at least 0 seconds, got {every}")
        self.searcher = searcher
        self.every = every
        self.gate = ReadWriteGate()
        self._last_check = 0.0
        self._lock = threading.Lock()

    def reload_if_due(self) -> bool:
        """True if the searcher switched to another build."""
        if not self._lock.acquire(blocking=False):  # one thread per worker checks; the others go on serving
            return False
        try:
            now = time.monotonic()
            if now - self._last_check < self.every:
                return False
            self._last_check = now
            try:
                snapshot = self.searcher.newer_build()
            except IndexError_ as exc:  # a broken new build never replaces a working one
                log.error("new index build not loaded: %s", exc)
                return False
            if snapshot is None:
                return False
            with self.gate.writing():
                self.searcher.use(snapshot)
        finally:
            self._lock.release()
        log.info("switched to index build %s", snapshot.build_id)
        return True


class ReloadingMiddleware:
    """WSGI middleware: check for a new index, then serve the request under the gate's shared hold.

    Every response names the build that served it in `X-Index-Build`.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], reloader: IndexReloader):
        self.app = app
        self.reloader = reloader

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.reloader.reload_if_due()
        with self.reloader.gate.reading():
            build = self.reloader.searcher.snapshot.build_id

            def start_with_build(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
                return start_response(status, [*headers, ("X-Index-Build", build)], *exc_info)

            body = self.app(environ, start_with_build)
            try:
                return list(body)  # the whole body is built before the hold ends
            finally:
                if hasattr(body, "close"):
                    body.close()
