"""Where shared state lives: conversations and rate-limit counters.

SQLite on one machine (shared by every worker), Redis when `REDIS_URL` is set (several machines).
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.store import ConversationStore
from server.errors import ApiError

if TYPE_CHECKING:
    import redis

STORE_UNAVAILABLE_MESSAGE = "Conversation storage is unavailable; please try again in a moment."


class StoreUnavailable(ApiError):
    """The conversation store cannot be reached right now (Redis down or timing out). Recoverable:
    nothing is rebuilt, the next request simply tries again.

    An `ApiError`, so the app's existing handler answers 503 `store_unavailable` with Retry-After;
    `detail` (the cause, for the log) never reaches the client.
    """

    RETRY_AFTER_SECONDS = 5

    def __init__(self, detail: str = ""):
        super().__init__(503, "store_unavailable", STORE_UNAVAILABLE_MESSAGE,
                         headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)})
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class RateLimiter(Protocol):
    def hit(self, key: str) -> float:
        """Count one request by `key`; 0.0 if it is allowed, else the seconds until the next one is."""


class OutageLog:
    """Logs an outage warning at most once per `every` seconds, so a down backend cannot flood the log."""

    def __init__(self, logger: logging.Logger, every: float = 30.0):
        self.logger, self.every = logger, every
        self._last = -float("inf")
        self._lock = threading.Lock()

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every:
                return
            self._last = now
        self.logger.warning(message, *args)


def make_store(config: dict[str, Any]) -> ConversationStore:
    if config.get("REDIS_URL"):
        from server.redis_store import RedisStore

        return RedisStore(redis_client(config["REDIS_URL"]), retention_days=config["SESSION_RETENTION_DAYS"])
    from server.sqlite_store import SqliteStore

    return SqliteStore(config["DATABASE"], retention_days=config["SESSION_RETENTION_DAYS"])


def make_rate_limiter(config: dict[str, Any]) -> RateLimiter | None:
    """None when the limit is off (RATE_LIMIT_PER_MINUTE 0)."""
    per_minute = config.get("RATE_LIMIT_PER_MINUTE", 0)
    if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 0:
        raise ValueError(f"RATE_LIMIT_PER_MINUTE must be 0 (off) or a positive whole number, not {per_minute!r}")
    if per_minute == 0:
        return None
    from server.rate_limit import RedisRateLimiter, SqliteRateLimiter

    if config.get("REDIS_URL"):
        return RedisRateLimiter(redis_client(config["REDIS_URL"]), per_minute)
    return SqliteRateLimiter(rate_limit_path(config["DATABASE"]), per_minute)


def rate_limit_path(database: Path | str) -> Path:
    """The counters' own SQLite file beside the sessions database: sessions.sqlite3 -> sessions.ratelimit.sqlite3."""
    path = Path(database).expanduser()
    return path.with_name(f"{path.stem}.ratelimit{path.suffix or '.sqlite3'}")


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> "redis.Redis":
    """One client (one connection pool) per URL, shared by the store and the limiter of a worker.

    redis-py's pool notices a fork and opens new connections in the child, so sharing is safe.
    """
    from server.redis_store import connect

    return connect(url)
