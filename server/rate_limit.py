"""Per-client request limits that every worker process shares: in SQLite on one machine, in Redis across several.

Both limiters count with a *sliding window counter*: a counter per client per minute, and a request
is allowed while `previous minute's count x the part of it still inside the last 60 s + this
minute's count + 1 <= per_minute`. Unlike fixed minutes, a client cannot fit two full bursts
around a minute boundary; unlike a log of every request, it keeps two integers per client. Only
allowed requests are counted, so the Retry-After a refused client is given is the real wait.

Counters are keyed by a hash of the client's address, never the address itself (see `hashed_key`),
and live two minutes at most. If the counters cannot be reached the limiter lets requests through
and logs a warning: an outage of the limit's storage must not take search and chat down with it.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Mapping

import redis

from server.backends import OutageLog
from server.redis_store import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
#: A fixed, public salt: it only keeps addresses out of plain sight in the counters (file rows, Redis
#: key listings); every worker on every machine must compute the same key, so it cannot be random
#: per process. The counters' short life (two minutes), not the hash, is what protects privacy.
SALT = b"rca-rate-limit-v1\x00"

# Connections a child process inherited through fork: kept, never closed, so the child never touches
# the parent's SQLite connection (as in server/sqlite_store.py).
_INHERITED: list[sqlite3.Connection] = []


def parse_exempt_addresses(value: str) -> frozenset[str]:
    """The `rate_limit_exempt` setting as a set of normalised IP addresses; `none` or "" for none."""
    addresses = set()
    for entry in (item.strip() for item in value.split(",")):
        if not entry or entry.lower() == "none":
            continue
        try:
            addresses.add(str(ipaddress.ip_address(entry)))
        except ValueError as exc:
            raise ValueError(f"RCA_RATE_LIMIT_EXEMPT entry {entry!r} is not an IP address such as 127.0.0.1") from exc
    return frozenset(addresses)


def is_forwarded(headers: Mapping[str, str]) -> bool:
    """Whether a proxy passed the request on: its address then is the proxy's, not the client's."""
    return any(name in headers for name in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))


def hashed_key(key: str) -> str:
    """128 bits of sha256(SALT + key), as hex: the same in every process, no raw address stored."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    return hashlib.sha256(SALT + key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def wait_after_refusal(previous: int, current: int, elapsed: float, per_minute: int) -> float:
    """Seconds until one more request fits, for a client just refused (always > 0).

    `elapsed` is the time since the current window began. Either enough of the previous window slides
    out later in this one, or (this window full) the next window starts with `current` as its previous.
    """
    if current + 1 <= per_minute and previous > 0:
        # previous * (1 - t / W) + current + 1 <= per_minute  <=>  t >= W * (1 - room / previous)
        at = WINDOW_SECONDS * (1 - (per_minute - 1 - current) / previous)
        wait = at - elapsed
    else:
        at = WINDOW_SECONDS * (1 - (per_minute - 1) / max(current, 1))
        wait = WINDOW_SECONDS - elapsed + max(at, 0.0)
    return max(wait, 0.001)  # float rounding must never turn a refusal into "go ahead"


def _allowed(previous: int, current: int, weight: float, per_minute: int) -> bool:
    return previous * weight + current + 1 <= per_minute


def _check(per_minute: int, clock: Callable[[], float]) -> None:
    if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 1:
        raise ValueError(f"per_minute must be a whole number of at least 1, not {per_minute!r} "
                         "(to turn the limit off, use no limiter)")
    if not callable(clock):
        raise TypeError(f"clock must be a function returning the time in seconds, not {clock!r}")


def _window(now: float) -> tuple[int, float, float]:
    """(window number, seconds since it began, weight of the previous window still inside the last minute)."""
    number = math.floor(now / WINDOW_SECONDS)
    elapsed = min(max(now - number * WINDOW_SECONDS, 0.0), float(WINDOW_SECONDS))
    return number, elapsed, 1.0 - elapsed / WINDOW_SECONDS


class SqliteRateLimiter:
    """Counters in `hits(key, window, count)` of their own SQLite file, shared by the machine's workers.

    Each hit is one `BEGIN IMMEDIATE` transaction (read both counters, add one if allowed), so hits
    from several processes queue on SQLite's write lock and none is lost or double-counted.
    """

    def __init__(self, path: Path | str, per_minute: int, *, clock: Callable[[], float] = time.time,
                 busy_timeout: float = 5.0):
        _check(per_minute, clock)
        if not (isinstance(busy_timeout, (int, float)) and busy_timeout > 0):
            raise ValueError(f"busy_timeout must be a positive number of seconds, not {busy_timeout!r}")
        if str(path) in ("", ":memory:"):
            raise ValueError(f"the rate-limit database must be a file path (shared by every worker), not {str(path)!r}")
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise ValueError(f"the rate-limit database path {self.path} is a directory; give a file path")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise ValueError(f"cannot create the folder for the rate-limit database {self.path}: "
                             "a parent path is a file") from exc
        self.per_minute, self.clock, self.busy_timeout = per_minute, clock, float(busy_timeout)
        self._lock = threading.Lock()  # every hit writes, so threads would queue on SQLite's lock anyway
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._cleaned_window: int | None = None
        self._outage = OutageLog(log)

    def __repr__(self) -> str:
        return f"SqliteRateLimiter({str(self.path)!r}, per_minute={self.per_minute})"

    def hit(self, key: str) -> float:
        hashed = hashed_key(key)
        number, elapsed, weight = _window(self.clock())
        try:
            with self._lock:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")  # take the write lock before reading: no lost updates
                try:
                    counts = dict(conn.execute("SELECT window, count FROM hits WHERE key = ? AND window IN (?, ?)",
                                               (hashed, number - 1, number)).fetchall())
                    previous, current = counts.get(number - 1, 0), counts.get(number, 0)
                    allowed = _allowed(previous, current, weight, self.per_minute)
                    if allowed:
                        conn.execute("INSERT INTO hits (key, window, count) VALUES (?, ?, 1) "
                                     "ON CONFLICT (key, window) DO UPDATE SET count = count + 1", (hashed, number))
                    if self._cleaned_window != number:  # once a window per process: drop finished windows
                        conn.execute("DELETE FROM hits WHERE window < ?", (number - 1,))
                    conn.execute("COMMIT")
                    self._cleaned_window = number
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except (sqlite3.Error, OSError) as exc:
            self._outage.warning("rate limit not applied (counters in %s unavailable): %s", self.path, exc)
            return 0.0
        return 0.0 if allowed else wait_after_refusal(previous, current, elapsed, self.per_minute)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        if self._conn is not None:
            _INHERITED.append(self._conn)  # opened by the parent before a fork
        conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            # Several workers may open a new file together: switching to WAL can answer "locked"
            # without waiting, so retry until the timeout.
            deadline = time.monotonic() + self.busy_timeout
            while True:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL, "
                                 "count INTEGER NOT NULL, PRIMARY KEY (key, window)) WITHOUT ROWID")
                    break
                except sqlite3.OperationalError as exc:
                    text = str(exc).lower()
                    if not ("locked" in text or "busy" in text) or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
            conn.execute("PRAGMA synchronous = NORMAL")  # counters: losing the last hits on power loss is fine
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn


# Atomic in Redis: read this and the previous window's counters, count the hit only if it is allowed,
# and keep the counter two windows (it is the "previous" one during the next window). Returns
# {allowed, previous, current}.
_HIT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[1]) + current + 1 <= tonumber(ARGV[2]) then
  current = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {1, previous, current}
end
return {0, previous, current}
"""


class RedisRateLimiter:
    """Counters `rca:ratelimit:{<hash>}:<window>` in Redis, shared by every worker on every machine.

    The time comes from `clock` (the workers' clocks, kept in step by NTP), so tests can move it.
    The hash in braces is a Redis Cluster hash tag: both windows of a client live on one node.
    """

    PREFIX = "rca:ratelimit:"

    def __init__(self, client: redis.Redis, per_minute: int, *, clock: Callable[[], float] = time.time):
        _check(per_minute, clock)
        if not isinstance(client, redis.Redis):
            raise TypeError(f"client must be a redis.Redis (see server.redis_store.connect), not {type(client).__name__}")
        self.client, self.per_minute, self.clock = client, per_minute, clock
        self._script = client.register_script(_HIT_SCRIPT)  # EVALSHA; reloaded after a Redis restart
        self._outage = OutageLog(log)

    def __repr__(self) -> str:
        return f"RedisRateLimiter({self.client!r}, per_minute={self.per_minute})"

    def hit(self, key: str) -> float:
        hashed = hashed_key(key)
        number, elapsed, weight = _window(self.clock())
        keys = [f"{self.PREFIX}{{{hashed}}}:{number}", f"{self.PREFIX}{{{hashed}}}:{number - 1}"]
        try:
            allowed, previous, current = self._script(keys=keys, args=[repr(weight), self.per_minute,
                                                                       2 * WINDOW_SECONDS + 1])
        except UNAVAILABLE_ERRORS as exc:
            self._outage.warning("rate limit not applied (Redis unavailable): %s: %s", type(exc).__name__, exc)
            return 0.0
        return 0.0 if allowed else wait_after_refusal(int(previous), int(current), elapsed, self.per_minute)
