"""Conversation state in Redis, shared by every worker on every machine that uses the same `REDIS_URL`.

`RedisStore` implements `bot.store.ConversationStore` with the same extra methods as `SqliteStore`
(`export`, `purge_expired`, `close`). Each session is one JSON string under `rca:session:<id>`,
written with a TTL of the retention period, so Redis itself deletes conversations nobody touched
for that long: saving again restarts the clock, as `updated` does for SQLite.

When Redis cannot be reached every operation raises `StoreUnavailable` (the server answers 503)
within a few seconds: short socket timeouts, and one quick retry that also reconnects, so the first
request after a Redis restart succeeds on a fresh connection without rebuilding anything.

Nothing here logs the content of a conversation: warnings name the session by its first 8
characters only.
"""
from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Callable, TypeVar

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from bot.store import SLOTS, new_state
from server.backends import OutageLog, StoreUnavailable

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86400.0
KEY_PREFIX = "rca:session:"

#: Errors that mean "Redis is not reachable or not writable right now" (BusyLoadingError, a Redis
#: still loading its data after a restart, is a ConnectionError). Anything else is a bug: let it raise.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)

T = TypeVar("T")


def connect(url: str, *, socket_timeout: float = 1.5, connect_timeout: float = 1.0) -> redis.Redis:
    """A client for `url` (redis://host:port/db) that fails fast and recovers by itself.

    Worst case per command: two attempts of at most `socket_timeout` each, so a Redis that stopped
    answering costs a request about 3 s, not redis-py's default of 5 s x 4 attempts. The retry also
    replaces a connection that died with a restarted server. Nothing is sent until the first
    command, so the app starts (and answers 503 on conversations) while Redis is down.
    """
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"REDIS_URL must look like redis://host:port/db, not {url!r}")
    for name, value in (("socket_timeout", socket_timeout), ("connect_timeout", connect_timeout)):
        if not (isinstance(value, (int, float)) and 0 < value <= 60):
            raise ValueError(f"{name} must be a number of seconds in (0, 60], not {value!r}")
    return redis.Redis.from_url(
        url, socket_timeout=socket_timeout, socket_connect_timeout=connect_timeout,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.2), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError], health_check_interval=30)


class RedisStore:
    """Conversation states as JSON strings under `rca:session:<id>`, expiring after `retention_days`."""

    def __init__(self, client: redis.Redis, retention_days: float = 30.0, *, prefix: str = KEY_PREFIX):
        if not isinstance(client, redis.Redis):
            raise TypeError(f"client must be a redis.Redis (see server.redis_store.connect), not {type(client).__name__}")
        if isinstance(retention_days, bool) or not isinstance(retention_days, (int, float)):
            raise ValueError(f"retention_days must be a number of days, not {retention_days!r}")
        if not math.isfinite(retention_days) or retention_days <= 0:
            raise ValueError(f"retention_days must be a positive number of days, not {retention_days!r}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, not {prefix!r}")
        self.client = client
        self.retention_days = float(retention_days)
        # Whole seconds, at least 1: Redis's EX takes an integer and 0 is an error.
        self.ttl_seconds = max(1, math.ceil(self.retention_days * SECONDS_PER_DAY))
        self.prefix = prefix
        self._outage = OutageLog(log)

    def __repr__(self) -> str:
        return f"RedisStore({self.client!r}, retention_days={self.retention_days})"

    def key(self, session_id: str) -> str:
        _check_id(session_id)
        return self.prefix + session_id

    # ConversationStore

    def load(self, session_id: str) -> dict[str, Any]:
        """The session's state; a new empty state if there is none or the stored one is unreadable."""
        state = self._read(session_id)
        return state if state is not None else new_state()

    def save(self, session_id: str, state: dict[str, Any]) -> None:
        """Replace the session's state, stamped with the time of saving, and restart its TTL."""
        key = self.key(session_id)
        text = json.dumps(dict(state, updated=time.time()), ensure_ascii=False, separators=(",", ":"))
        self._call(lambda: self.client.set(key, text.encode("utf-8"), ex=self.ttl_seconds))

    def delete(self, session_id: str) -> bool:
        """Forget a session; True if it existed."""
        key = self.key(session_id)
        return bool(self._call(lambda: self.client.delete(key)))

    # beyond the protocol, as SqliteStore

    def export(self, session_id: str) -> dict[str, Any] | None:
        """The stored state, as saved; None if the session is unknown (or its value is unreadable)."""
        return self._read(session_id)

    def purge_expired(self, now: float | None = None) -> int:
        """Nothing to do: Redis deletes a session when its TTL runs out. Always 0; kept for parity."""
        return 0

    def close(self) -> None:
        """Close this process's idle connections; the client reconnects if used again."""
        self.client.connection_pool.disconnect()

    # helpers

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except UNAVAILABLE_ERRORS as exc:
            self._outage.warning("conversation store unavailable: %s: %s", type(exc).__name__, exc)
            raise StoreUnavailable(f"Redis: {type(exc).__name__}") from exc

    def _read(self, session_id: str) -> dict[str, Any] | None:
        key = self.key(session_id)
        raw = self._call(lambda: self.client.get(key))
        if raw is None:
            return None
        try:
            state = json.loads(raw)
        except (TypeError, ValueError) as exc:  # the message could quote the value: log its type only
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


def _check_id(session_id: str) -> None:
    if not isinstance(session_id, str):
        raise TypeError(f"session_id must be a str, not {type(session_id).__name__}")
