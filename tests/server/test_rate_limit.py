"""Per-client rate limits in SQLite and Redis: counting, windows, sharing between processes, and over HTTP.

The unit tests move an injected clock instead of sleeping. The Redis limiter talks to a real
redis-server (tests/redis_server.py). The slow tests run several processes: spawned workers
hammering one counter, then `python -m server` with two gunicorn workers.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import multiprocessing
import sqlite3
import threading
import time
from urllib.parse import urlsplit

import pytest
import redis_server
from serving import running_server

from server import backends
from server.rate_limit import SALT, RedisRateLimiter, SqliteRateLimiter, hashed_key, wait_after_refusal
from server.redis_store import connect

T0 = 1_800_000_000.0  # the start of a minute (1_800_000_000 / 60 is whole)
IP = "203.0.113.7"


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server.running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(params=["sqlite", "redis"])
def make(request, tmp_path):
    """A factory of limiters of one kind, all sharing one set of counters (a file, or a Redis database)."""
    if request.param == "sqlite":
        made: list[SqliteRateLimiter] = []

        def sqlite(per_minute: int, clock: Clock) -> SqliteRateLimiter:
            made.append(SqliteRateLimiter(tmp_path / "sessions.ratelimit.sqlite3", per_minute, clock=clock))
            return made[-1]

        yield sqlite
        for limiter in made:
            limiter.close()
        return
    client = connect(request.getfixturevalue("redis_url"))
    client.flushdb()
    yield lambda per_minute, clock: RedisRateLimiter(client, per_minute, clock=clock)
    client.close()


def hits(limiter, n: int, key: str = IP) -> list[float]:
    return [limiter.hit(key) for _ in range(n)]


# counting

@pytest.mark.parametrize("per_minute", [1, 5, 30])
def test_exactly_per_minute_hits_then_a_positive_wait(make, per_minute):
    clock = Clock(T0 + 10)
    limiter = make(per_minute, clock)
    assert hits(limiter, per_minute) == [0.0] * per_minute
    refused = hits(limiter, 5)
    assert all(wait > 0 for wait in refused)
    assert len(set(refused)) == 1  # refusals are not counted: the wait does not grow
    assert refused[0] == pytest.approx(50 + 60 / per_minute)  # end of this minute + one slot of the next


def test_separate_keys_are_independent(make):
    clock = Clock(T0 + 5)
    limiter = make(3, clock)
    assert hits(limiter, 3, "198.51.100.1") == [0.0] * 3
    assert limiter.hit("198.51.100.1") > 0
    assert hits(limiter, 3, "198.51.100.2") == [0.0] * 3
    assert hits(limiter, 3, "2001:db8::1") == [0.0] * 3


def test_limiters_on_the_same_counters_share_them(make):
    clock = Clock(T0 + 5)
    one, two = make(4, clock), make(4, clock)
    assert [one.hit(IP), two.hit(IP), one.hit(IP), two.hit(IP)] == [0.0] * 4
    assert one.hit(IP) > 0 and two.hit(IP) > 0


# windows

def test_the_window_slides_and_counters_expire(make):
    clock = Clock(T0 + 10)
    limiter = make(6, clock)
    assert hits(limiter, 6) == [0.0] * 6
    clock.now = T0 + 60 + 5  # next minute: 6 * 55/60 = 5.5 of the last minute's hits still count
    assert limiter.hit(IP) > 0
    clock.now = T0 + 60 + 10  # 6 * 50/60 = 5, room for one
    assert hits(limiter, 2) == [0.0, pytest.approx(10.0)]
    clock.now = T0 + 3 * 60  # two minutes on, nothing counts any more
    assert hits(limiter, 6) == [0.0] * 6 and limiter.hit(IP) > 0


@pytest.mark.parametrize("per_minute", [1, 3, 10])
@pytest.mark.parametrize("offset", [0.0, 10.5, 59.9])
def test_the_wait_given_is_the_real_wait(make, per_minute, offset):
    """Waiting the seconds a refusal names is enough, and a moment less is not, minute after minute."""
    clock = Clock(T0 + offset)
    limiter = make(per_minute, clock)
    for _round in range(4):
        while (wait := limiter.hit(IP)) == 0.0:
            pass
        clock.now += wait - 0.05
        assert limiter.hit(IP) > 0
        clock.now += 0.05 + 1e-6
        assert limiter.hit(IP) == 0.0
        clock.now += 7.3  # and some time passes before the next burst


def test_no_double_burst_around_a_minute_boundary(make):
    clock = Clock(T0 + 59)
    limiter = make(10, clock)
    assert hits(limiter, 10) == [0.0] * 10
    clock.now = T0 + 61  # fixed minutes would allow 10 more here
    assert limiter.hit(IP) > 0


def test_wait_after_refusal():
    assert wait_after_refusal(0, 10, 15.0, 10) == pytest.approx(45 + 6)  # this minute full
    assert wait_after_refusal(10, 0, 3.0, 10) == pytest.approx(3.0)  # 10 x (1 - 6/60) + 1 <= 10 at 6 s
    assert wait_after_refusal(10, 5, 15.0, 10) == pytest.approx(60 * (1 - 4 / 10) - 15)
    assert wait_after_refusal(3, 3, 59.999999, 3) > 0  # never zero or negative


# storage

def test_sqlite_counters_are_hashed_wal_and_cleaned_up(tmp_path):
    clock = Clock(T0 + 1)
    limiter = SqliteRateLimiter(tmp_path / "rl.sqlite3", 5, clock=clock)
    hits(limiter, 3)
    clock.now = T0 + 61
    limiter.hit("198.51.100.9")
    with sqlite3.connect(tmp_path / "rl.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = set(conn.execute("SELECT key, window, count FROM hits"))
    conn.close()
    window = int(T0 // 60)
    assert rows == {(hashed_key(IP), window, 3), (hashed_key("198.51.100.9"), window + 1, 1)}
    assert hashed_key(IP) == hashlib.sha256(SALT + IP.encode()).hexdigest()[:32] and IP not in str(rows)
    clock.now = T0 + 5 * 60  # later windows: the finished ones are deleted
    limiter.hit(IP)
    with sqlite3.connect(tmp_path / "rl.sqlite3") as conn:
        assert list(conn.execute("SELECT key, window, count FROM hits")) == [(hashed_key(IP), window + 5, 1)]
    conn.close()
    limiter.close()


def test_redis_counters_are_hashed_and_expire(redis_url):
    client = connect(redis_url)
    client.flushdb()
    limiter = RedisRateLimiter(client, 5, clock=Clock(T0 + 1))
    hits(limiter, 2)
    keys = client.keys("*")
    assert keys == [f"rca:ratelimit:{{{hashed_key(IP)}}}:{int(T0 // 60)}".encode()]
    assert IP.encode() not in keys[0] and client.get(keys[0]) == b"2"
    assert 60 < client.ttl(keys[0]) <= 121  # kept while it is this or the previous minute


def test_a_broken_sqlite_file_lets_requests_through_with_a_warning(tmp_path, caplog):
    path = tmp_path / "rl.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    limiter = SqliteRateLimiter(path, 1, clock=Clock())
    with caplog.at_level(logging.WARNING, logger="server.rate_limit"):
        assert hits(limiter, 3) == [0.0] * 3
    assert len(caplog.records) == 1  # one warning per outage, not one per request
    assert "rate limit not applied" in caplog.text and IP not in caplog.text


def test_a_redis_outage_lets_requests_through_then_counting_resumes(tmp_path, caplog):
    with redis_server.running_redis(tmp_path / "redis") as server:
        limiter = RedisRateLimiter(connect(server.url), 2, clock=Clock(T0 + 1))
        assert hits(limiter, 3)[2] > 0
        server.stop()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="server.rate_limit"):
            assert hits(limiter, 3) == [0.0] * 3
        assert time.monotonic() - started < 5 and "Redis unavailable" in caplog.text
        server.start()  # empty (no persistence); the script is loaded again by itself
        assert hits(limiter, 3) == [0.0, 0.0, pytest.approx(59 + 30)]


# construction

@pytest.mark.parametrize("per_minute", [0, -1, True, 1.5, "30", None])
def test_rejects_a_bad_limit(tmp_path, per_minute):
    with pytest.raises(ValueError, match="per_minute"):
        SqliteRateLimiter(tmp_path / "rl.sqlite3", per_minute)
    with pytest.raises(ValueError, match="per_minute"):
        RedisRateLimiter(connect("redis://127.0.0.1:1/0"), per_minute)


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="clock"):
        SqliteRateLimiter(tmp_path / "rl.sqlite3", 5, clock=123)  # type: ignore[arg-type]
    for path, message in [(":memory:", "file path"), ("", "file path"), (tmp_path, "is a directory")]:
        with pytest.raises(ValueError, match=message):
            SqliteRateLimiter(path, 5)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="parent path is a file"):
        SqliteRateLimiter(tmp_path / "file" / "rl.sqlite3", 5)
    with pytest.raises(ValueError, match="busy_timeout"):
        SqliteRateLimiter(tmp_path / "rl.sqlite3", 5, busy_timeout=0)
    with pytest.raises(TypeError, match="redis.Redis"):
        RedisRateLimiter("redis://127.0.0.1:6379/0", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        SqliteRateLimiter(tmp_path / "rl.sqlite3", 5).hit(None)  # type: ignore[arg-type]


def test_make_rate_limiter_picks_the_backend(tmp_path):
    config = {"DATABASE": tmp_path / "var" / "sessions.sqlite3", "REDIS_URL": "", "RATE_LIMIT_PER_MINUTE": 0}
    assert backends.make_rate_limiter(config) is None
    sqlite = backends.make_rate_limiter(dict(config, RATE_LIMIT_PER_MINUTE=7))
    assert isinstance(sqlite, SqliteRateLimiter) and sqlite.per_minute == 7
    assert sqlite.path == tmp_path / "var" / "sessions.ratelimit.sqlite3"
    on_redis = backends.make_rate_limiter(dict(config, RATE_LIMIT_PER_MINUTE=7, REDIS_URL="redis://127.0.0.1:1/0"))
    assert isinstance(on_redis, RedisRateLimiter) and on_redis.per_minute == 7
    for bad in (-1, True, "30"):
        with pytest.raises(ValueError, match="RATE_LIMIT_PER_MINUTE"):
            backends.make_rate_limiter(dict(config, RATE_LIMIT_PER_MINUTE=bad))
    assert backends.rate_limit_path("/x/db") == backends.rate_limit_path("/x/db.sqlite3").with_name("db.ratelimit.sqlite3")


class _Refuses:
    """A limiter that refuses everyone, recording who it was asked about."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def hit(self, key: str) -> float:
        self.keys.append(key)
        return 12.0


def test_this_machine_is_exempt_unless_the_request_came_through_a_proxy(loaded):
    from bot.store import InMemoryStore
    from server.app import create_app

    limiter = _Refuses()
    app = create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": True, "RELOAD_CHECK_SECONDS": 3600.0,
                      "RATE_LIMITER": limiter})  # the default exemption: 127.0.0.1 and ::1
    client = app.test_client()

    def status(address: str, headers: dict | None = None) -> int:
        return client.get("/api/search?q=sarcoma", environ_base={"REMOTE_ADDR": address}, headers=headers).status_code

    assert status("127.0.0.1") == 200 and status("::1") == 200 and limiter.keys == []
    assert status("127.0.0.2") == 429 and status(IP) == 429  # only the listed addresses
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):  # a local proxy's clients are limited
        assert status("127.0.0.1", {header: IP}) == 429
    assert limiter.keys == ["127.0.0.2", IP, "127.0.0.1", "127.0.0.1", "127.0.0.1"]


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1,::1", {"127.0.0.1", "::1"}), (" 10.0.0.5 , 0:0:0:0:0:0:0:1 ", {"10.0.0.5", "::1"}),
    ("none", set()), ("", set()),
])
def test_exempt_addresses_are_parsed(value, expected):
    from server.rate_limit import parse_exempt_addresses

    assert parse_exempt_addresses(value) == expected


def test_a_bad_exempt_address_stops_the_app_with_the_fix(loaded):
    from bot.store import InMemoryStore
    from server.app import create_app

    with pytest.raises(SystemExit, match="RCA_RATE_LIMIT_EXEMPT entry 'localhost' is not an IP address.*Fix or unset"):
        create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "RATE_LIMIT_EXEMPT": "127.0.0.1,localhost"})


# several processes, as gunicorn's workers

PROCESSES, HITS = 4, 50


def _hammer(kind: str, where: str, limit: int, barrier, results) -> None:
    """Spawned worker: HITS hits on one key at one fixed moment; reports how many were allowed."""
    try:
        clock = Clock(T0 + 30)
        limiter = (SqliteRateLimiter(where, limit, clock=clock) if kind == "sqlite"
                   else RedisRateLimiter(connect(where), limit, clock=clock))
        limiter.hit("warm-up")  # every worker opens the file (WAL, table) or connects first
        barrier.wait(timeout=60)
        results.put(sum(limiter.hit(IP) == 0.0 for _ in range(HITS)))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent
        results.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
@pytest.mark.parametrize("limit", [30, 150])  # 150: most hits write, so writers really contend
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_share_one_counter(kind, limit, tmp_path, request):
    if kind == "sqlite":
        where = str(tmp_path / "shared" / "rl.sqlite3")
    else:
        where = request.getfixturevalue("redis_url")
        connect(where).flushdb()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_hammer, args=(kind, where, limit, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    allowed = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(isinstance(n, int) for n in allowed), allowed
    assert sum(allowed) == limit and all(worker.exitcode == 0 for worker in workers)


# over HTTP: python -m server with two gunicorn workers

def send(base: str, method: str, path: str, body: dict | None = None,
            source: str = "127.0.0.1") -> tuple[int, dict[str, str], dict]:
    """One request from the loopback address `source`: the server sees each address as another client."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.headers), json.loads(response.read())
    finally:
        conn.close()


def burst(base: str, n: int = 25) -> list[tuple[int, dict[str, str], dict]]:
    """n searches sent together from n threads."""
    start, outcomes = threading.Barrier(n), [None] * n

    def one(i: int) -> None:
        start.wait(timeout=30)
        outcomes[i] = send(base, "GET", "/api/search?q=sarcoma+treatment&k=1")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes  # type: ignore[return-value]


def assert_ten_of_twenty_five(outcomes) -> None:
    statuses = sorted(status for status, _headers, _body in outcomes)
    assert statuses == [200] * 10 + [429] * 15
    for status, headers, body in outcomes:
        if status == 429:
            assert 1 <= int(headers["Retry-After"]) <= 66  # the rest of this minute and one slot of the next
            assert set(body) == {"error"} and body["error"]["code"] == "rate_limited"
            assert headers["Retry-After"] in body["error"]["message"]
        else:
            assert body["results"]


@pytest.mark.slow
def test_gunicorn_workers_share_the_limit_in_sqlite(real_index_dir, tmp_path):
    with running_server(real_index_dir, tmp_path, RCA_RATE_LIMIT_PER_MINUTE="10", RCA_RATE_LIMIT_EXEMPT="none") as (url, _process):
        assert_ten_of_twenty_five(burst(url))
        assert send(url, "GET", "/api/search?q=sarcoma", source="127.0.0.2")[0] == 200  # another client
        assert send(url, "GET", "/healthz")[0] == 200  # not limited
    with sqlite3.connect(tmp_path / "sessions.ratelimit.sqlite3") as conn:
        rows = dict(conn.execute("SELECT key, sum(count) FROM hits GROUP BY key"))
    conn.close()
    assert rows == {hashed_key("127.0.0.1"): 10, hashed_key("127.0.0.2"): 1}


@pytest.mark.slow
def test_gunicorn_workers_share_redis_for_limits_and_conversations(real_index_dir, tmp_path):
    with redis_server.running_redis(tmp_path / "redis") as redis_db, \
            running_server(real_index_dir, tmp_path, RCA_RATE_LIMIT_PER_MINUTE="10", RCA_RATE_LIMIT_EXEMPT="none",
                           REDIS_URL=redis_db.url) as (url, _process):
        assert_ten_of_twenty_five(burst(url))

        chat = {"session_id": "redis-conv", "message": "What is vulvar cancer?"}
        assert send(url, "POST", "/api/chat", chat, source="127.0.0.2")[0] == 200
        for _ in range(6):  # several turns, so both workers answer some
            status, _headers, reply = send(url, "POST", "/api/chat",
                                              dict(chat, message="how is it treated?"), source="127.0.0.2")
            assert status == 200 and reply["messages"][0]["citations"][0]["doc_id"] == "nci-vulvar-cancer"
        client = connect(redis_db.url)
        stored = json.loads(client.get("rca:session:redis-conv"))
        assert len(stored["history"]) == 7 and client.ttl("rca:session:redis-conv") > 29 * 86400
        assert not (tmp_path / "sessions.sqlite3").exists()
        assert not (tmp_path / "sessions.ratelimit.sqlite3").exists()

        redis_db.stop()  # an outage: conversations answer 503, search goes on (the limit fails open)
        status, headers, body = send(url, "POST", "/api/chat", chat, source="127.0.0.2")
        assert (status, headers["Retry-After"], body["error"]["code"]) == (503, "5", "store_unavailable")
        assert send(url, "GET", "/api/search?q=sarcoma", source="127.0.0.3")[0] == 200
        redis_db.start()  # same port, empty: the workers reconnect by themselves
        status, _headers, reply = send(url, "POST", "/api/chat", chat, source="127.0.0.2")
        assert status == 200 and reply["messages"][0]["citations"]
