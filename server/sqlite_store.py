"""Conversation state in one SQLite file, shared by every gunicorn worker on the machine.

`SqliteStore` implements `bot.store.ConversationStore`. The file is in WAL mode, so readers never
wait for the writer and the workers' writes queue on SQLite's own lock (`busy_timeout`) instead of
failing. Each thread opens its own connection the first time it needs one; every operation is one
statement in autocommit mode, so there is no read-then-write transaction that could fail with
SQLITE_BUSY under WAL. A connection opened before a fork is never used (nor closed) by the child.

Nothing here logs the content of a conversation: warnings name the session by its first 8
characters only.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from bot.store import SLOTS, new_state

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated);
"""

# Connections a child process inherited through fork: kept alive so that it never closes (and so
# never touches the locks or the WAL of) a connection that belongs to its parent.
_INHERITED: list[sqlite3.Connection] = []


class _Connection:
    """One thread's connection, and the process that opened it. Closed when its thread ends."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn: sqlite3.Connection | None = conn
        self.pid = os.getpid()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if self.pid != os.getpid():
            _INHERITED.append(conn)
            return
        try:
            conn.close()
        except sqlite3.Error:  # closing must never raise
            pass

    def __del__(self) -> None:
        self.close()


class SqliteStore:
    """Conversation states as JSON rows in `sessions(session_id, state, updated)`."""

    #: Seconds between the opportunistic purges that `save` runs (per store object, so per worker).
    PURGE_EVERY_SECONDS = 3600.0

    def __init__(self, path: Path | str, retention_days: float = 30.0, *, busy_timeout: float = 5.0):
        if isinstance(retention_days, bool) or not isinstance(retention_days, (int, float)):
            raise ValueError(f"retention_days must be a number of days, not {retention_days!r}")
        if not math.isfinite(retention_days) or retention_days <= 0:
            raise ValueError(f"retention_days must be a positive number of days, not {retention_days!r}")
        if not busy_timeout > 0:
            raise ValueError(f"busy_timeout must be a positive number of seconds, not {busy_timeout!r}")
        if str(path) in ("", ":memory:"):
            raise ValueError("the session database must be a file path (shared by every worker), "
                             f"not {str(path)!r}")
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise ValueError(f"the session database path {self.path} is a directory; "
                             "give the path of a file inside it, e.g. sessions.sqlite3")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ValueError(f"cannot create the folder for the session database {self.path}: "
                             "a parent path is a file") from exc
        self.retention_days = float(retention_days)
        self.busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._last_purge: float | None = None  # time.monotonic() of the last purge run by save
        self._warned_journal = False

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r}, retention_days={self.retention_days})"

    # connections

    def _conn(self) -> sqlite3.Connection:
        holder: _Connection | None = getattr(self._local, "holder", None)
        if holder is not None and holder.conn is not None and holder.pid == os.getpid():
            return holder.conn
        if holder is not None:
            holder.close()  # inherited through fork, or closed by close(): put aside
        holder = _Connection(self._connect())
        self._local.holder = holder
        with self._lock:
            self._open.add(holder)
        assert holder.conn is not None
        return holder.conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            # Switching to WAL needs a moment alone with the file; when several workers open a new
            # file together SQLite can answer "locked" without waiting, so retry until the timeout.
            deadline = time.monotonic() + self.busy_timeout
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    conn.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
            if str(mode).lower() != "wal" and not self._warned_journal:
                self._warned_journal = True
                log.warning("session database %s is not in WAL mode (journal_mode=%s)", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA secure_delete = ON")  # a deleted conversation is overwritten, not left in free pages
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close this process's connections, from every thread. The store reopens them if used again."""
        with self._lock:
            holders = list(self._open)
            self._open = weakref.WeakSet()
        for holder in holders:
            holder.close()

    # ConversationStore

    def load(self, session_id: str) -> dict[str, Any]:
        """The session's state; a new empty state if there is none or the stored one is unreadable."""
        state = self._read(session_id)
        return state if state is not None else new_state()

    def save(self, session_id: str, state: dict[str, Any]) -> None:
        """Insert or replace the session's state, stamped with the time of saving."""
        _check_id(session_id)
        now = time.time()
        text = json.dumps(dict(state, updated=now), ensure_ascii=False, separators=(",", ":"))
        self._conn().execute(
            "INSERT INTO sessions (session_id, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            (session_id, text, now))
        self._purge_if_due(now)

    def delete(self, session_id: str) -> bool:
        """Forget a session; True if it existed."""
        _check_id(session_id)
        conn = self._conn()
        cursor = conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        if cursor.rowcount > 0:
            # The patient asked for it gone: copy the WAL into the file and empty it, so the old pages
            # do not linger there until the next automatic checkpoint. Busy readers just delay it.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount > 0

    # beyond the protocol

    def export(self, session_id: str) -> dict[str, Any] | None:
        """The stored state, as saved; None if the session is unknown (or its row is unreadable)."""
        return self._read(session_id)

    def purge_expired(self, now: float | None = None) -> int:
        """Delete the sessions not updated for more than `retention_days`; how many were deleted."""
        now = time.time() if now is None else float(now)
        cutoff = now - self.retention_days * SECONDS_PER_DAY
        conn = self._conn()
        cursor = conn.execute("DELETE FROM sessions WHERE updated < ?", (cutoff,))
        deleted = max(cursor.rowcount, 0)
        if deleted:
            log.info("purged %d session(s) older than %g days", deleted, self.retention_days)
            # Gone from the disk now, as a deletion the patient asks for is: not left in the WAL and the
            # main file's old pages until a checkpoint that a killed worker may never make.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    # helpers

    def _read(self, session_id: str) -> dict[str, Any] | None:
        _check_id(session_id)
        # A session past retention is gone even before the next purge deletes its row.
        cutoff = time.time() - self.retention_days * SECONDS_PER_DAY
        row = self._conn().execute("SELECT state FROM sessions WHERE session_id = ? AND updated >= ?",
                                   (session_id, cutoff)).fetchone()
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except (TypeError, ValueError) as exc:  # the message could quote the row: log its type only
            log.warning("session %s: stored state is not valid JSON (%s); starting a new conversation",
                        session_id[:8], type(exc).__name__)
            return None
        if not isinstance(state, dict) or not isinstance(state.get("slots"), dict):
            log.warning("session %s: stored state has the wrong shape; starting a new conversation",
                        session_id[:8])
            return None
        for name in SLOTS:
            state["slots"].setdefault(name, None)
        return state

    def _purge_if_due(self, now: float) -> None:
        tick = time.monotonic()
        with self._lock:
            if self._last_purge is not None and tick - self._last_purge < self.PURGE_EVERY_SECONDS:
                return
            self._last_purge = tick
        try:
            self.purge_expired(now)
        except sqlite3.Error as exc:  # the save itself succeeded; the next purge will catch up
            log.warning("purging expired sessions failed: %s", exc)


def _check_id(session_id: str) -> None:
    if not isinstance(session_id, str):
        raise TypeError(f"session_id must be a str, not {type(session_id).__name__}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
