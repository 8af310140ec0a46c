"""The Redis conversation store against a real redis-server: keys, TTLs, outages and recovery.

The behaviour every store shares is in test_store_contract.py. Each test here that stops Redis
starts its own server (tests/redis_server.py), so the module's shared server is never disturbed.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time

import pytest
import redis
import redis_server

from bot.store import new_state
from server import backends
from server.backends import StoreUnavailable
from server.redis_store import RedisStore, connect
from server.sqlite_store import SqliteStore


DAY = 86400


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    with redis_server.running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def client(shared_server):
    made = connect(shared_server.url)
    made.flushdb()
    yield made
    made.close()


@pytest.fixture
def own_server(tmp_path):
    """A redis-server this test may stop and restart."""
    with redis_server.running_redis(tmp_path / "redis") as server:
        yield server


def a_state(country: str = "France") -> dict:
    state = new_state()
    state["slots"].update(cancer_type="thymoma", country=country)
    state["history"] = [{"time": 1, "user": "first question", "intent": "ask_question", "messages": []}]
    return state


def test_state_is_json_under_the_session_key_with_the_retention_ttl(client):
    store = RedisStore(client, retention_days=30)
    before = time.time()
    store.save("abc", a_state())
    assert client.keys("*") == [b"rca:session:abc"]
    stored = json.loads(client.get("rca:session:abc"))
    assert stored["slots"]["country"] == "France" and before <= stored["updated"] <= time.time()
    assert 30 * DAY - 5 <= client.ttl("rca:session:abc") <= 30 * DAY


def test_saving_again_restarts_the_ttl(client):
    store = RedisStore(client, retention_days=1)
    store.save("s", a_state())
    client.expire("rca:session:s", 100)
    store.save("s", a_state("Chile"))
    assert client.ttl("rca:session:s") > DAY - 5


def test_fractional_retention_and_a_custom_prefix(client):
    store = RedisStore(client, retention_days=0.5, prefix="test:")
    store.save("s", a_state())
    assert store.ttl_seconds == DAY // 2 and 0 < client.ttl("test:s") <= DAY // 2
    assert store.load("s")["slots"]["country"] == "France"


def test_redis_deletes_sessions_past_retention(client):
    """Retention is Redis's own expiry: no purge job. One second of retention, then it is gone."""
    store = RedisStore(client, retention_days=1 / DAY)
    store.save("short", a_state())
    assert store.ttl_seconds == 1 and store.export("short") is not None
    deadline = time.monotonic() + 5
    while store.export("short") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.export("short") is None and store.load("short")["slots"]["country"] is None
    assert store.purge_expired() == 0


def test_stores_on_one_redis_see_each_other(shared_server, client):
    one, two = RedisStore(connect(shared_server.url)), RedisStore(connect(shared_server.url))
    one.save("s", a_state("Japan"))
    assert two.load("s")["slots"]["country"] == "Japan"
    assert two.delete("s") and one.export("s") is None


@pytest.mark.parametrize("days", [0, -1, 0.0, float("nan"), float("inf"), "30", None, True])
def test_rejects_a_bad_retention(client, days):
    with pytest.raises(ValueError, match="retention_days"):
        RedisStore(client, retention_days=days)


def test_rejects_what_is_not_a_client_or_a_prefix(client):
    with pytest.raises(TypeError, match="redis.Redis"):
        RedisStore("redis://127.0.0.1:6379/0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix"):
        RedisStore(client, prefix="")


@pytest.mark.parametrize("url", ["", "localhost:6379", "http://127.0.0.1:6379", None])
def test_connect_rejects_what_is_not_a_redis_url(url):
    with pytest.raises(ValueError, match="REDIS_URL"):
        connect(url)  # type: ignore[arg-type]


def test_connect_rejects_bad_timeouts():
    with pytest.raises(ValueError, match="socket_timeout"):
        connect("redis://127.0.0.1:6379/0", socket_timeout=0)


def test_make_store_picks_redis_when_redis_url_is_set(shared_server, tmp_path):
    config = {"REDIS_URL": shared_server.url, "DATABASE": tmp_path / "s.sqlite3", "SESSION_RETENTION_DAYS": 2.0}
    store = backends.make_store(config)
    assert isinstance(store, RedisStore) and store.ttl_seconds == 2 * DAY
    store.save("picked", a_state())
    assert store.load("picked")["slots"]["country"] == "France"
    assert not (tmp_path / "s.sqlite3").exists()  # SQLite untouched
    assert backends.make_store(config).client is store.client  # one pool per URL per worker
    sqlite = backends.make_store(dict(config, REDIS_URL=""))
    assert isinstance(sqlite, SqliteStore) and sqlite.retention_days == 2.0
    sqlite.close()


# outages

def test_an_outage_raises_store_unavailable_quickly_and_the_same_store_recovers(own_server, caplog):
    store = RedisStore(connect(own_server.url))
    store.save("conv", a_state("France"))
    own_server.stop()
    with caplog.at_level(logging.WARNING, logger="server.redis_store"):
        for operation in (lambda: store.load("conv"), lambda: store.save("conv", a_state()),
                          lambda: store.delete("conv"), lambda: store.export("conv")):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as raised:
                operation()
            assert time.monotonic() - started < 5
            assert isinstance(raised.value.__cause__, redis.ConnectionError)
    assert "first question" not in caplog.text
    error = raised.value
    assert (error.status, error.code, error.headers) == (503, "store_unavailable", {"Retry-After": "5"})
    assert error.message == "Conversation storage is unavailable; please try again in a moment."

    own_server.start()  # same port; the data is gone (no persistence), the store object is the same
    assert own_server.ping()
    assert store.load("conv")["slots"]["country"] is None
    store.save("conv", a_state("Chile"))
    assert store.load("conv")["slots"]["country"] == "Chile"


def test_a_restart_between_two_requests_goes_unnoticed(own_server):
    """The pooled connection died with the old server; the retry reconnects, no error reaches the caller."""
    store = RedisStore(connect(own_server.url))
    store.save("conv", a_state("France"))
    own_server.restart()
    store.save("conv", a_state("Chile"))
    assert store.load("conv")["slots"]["country"] == "Chile"


def test_a_frozen_redis_times_out_within_5_seconds(own_server):
    """A server that accepts connections but never answers (SIGSTOP): the socket timeouts end the wait."""
    store = RedisStore(connect(own_server.url))
    store.save("conv", a_state("France"))
    os.kill(own_server.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            store.load("conv")
        assert time.monotonic() - started < 5
        assert isinstance(raised.value.__cause__, redis.TimeoutError)
    finally:
        os.kill(own_server.process.pid, signal.SIGCONT)
    assert store.load("conv")["slots"]["country"] == "France"


def test_an_unreachable_address_fails_within_the_timeouts():
    """A port nobody listens on: refused at once, retried once, then StoreUnavailable."""
    from serving import free_port

    store = RedisStore(connect(f"redis://127.0.0.1:{free_port()}/0"))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.load("anything")
    assert time.monotonic() - started < 5


# over HTTP (the Flask app)

@pytest.fixture
def down_app(loaded, own_server, monkeypatch, tmp_path):
    from server.app import create_app

    monkeypatch.setenv("RCA_REPORTS_DIR", str(tmp_path / "reports"))
    store = RedisStore(connect(own_server.url))
    app = create_app({"RESOURCES": loaded, "STORE": store, "RATE_LIMITER": None, "TESTING": True,
                      "RELOAD_CHECK_SECONDS": 3600.0})
    return app.test_client(), own_server


def test_the_api_answers_503_while_redis_is_down_and_recovers(down_app):
    """StoreUnavailable is an ApiError(503), so server/errors.py's ApiError handler gives the JSON shape
    and Retry-After with no handler of its own."""
    client, server = down_app
    assert client.post("/api/chat", json={"session_id": "http", "message": "What is thymoma?"}).status_code == 200
    server.stop()
    for response in (client.post("/api/chat", json={"session_id": "http", "message": "how is it treated?"}),
                     client.delete("/api/sessions/http"), client.get("/api/sessions/http/export")):
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.get_json() == {"error": {"code": "store_unavailable", "message":
                                                 "Conversation storage is unavailable; please try again in a moment."}}
    assert client.get("/api/search?q=thymoma").status_code == 200  # search needs no conversation store
    server.start()
    reply = client.post("/api/chat", json={"session_id": "http", "message": "What is thymoma?"})
    assert reply.status_code == 200 and reply.get_json()["messages"][0]["citations"]
