"""What every conversation store promises, run against each of them: in memory, SQLite and Redis.

The Redis store talks to a real redis-server started for this module (tests/redis_server.py) on a
free loopback port; each test starts from an empty database. Behaviour only one store has is tested
in test_sqlite_store.py and test_redis_store.py.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest
import redis_server

from bot.store import SLOTS, InMemoryStore, new_state
from server.redis_store import RedisStore, connect
from server.sqlite_store import SqliteStore

DAY = 86400.0


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server.running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


def _make(kind: str, tmp_path, redis_url_factory):
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "sessions.sqlite3")
    client = connect(redis_url_factory())
    client.flushdb()
    return RedisStore(client)


def _close(store) -> None:
    if hasattr(store, "close"):
        store.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    made = _make(request.param, tmp_path, lambda: request.getfixturevalue("redis_url"))
    yield made
    _close(made)


@pytest.fixture(params=["sqlite", "redis"])
def persistent(request, tmp_path):
    """The stores that keep states outside the process, with `export` and raw access for corrupting a value."""
    made = _make(request.param, tmp_path, lambda: request.getfixturevalue("redis_url"))
    yield made
    _close(made)


def put_raw(store, session_id: str, text: str) -> None:
    """Write `text` as the stored value, behind the store's back."""
    if isinstance(store, SqliteStore):
        store.export(session_id)  # the store creates its table on first use
        with sqlite3.connect(store.path) as conn:
            conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (session_id, text, time.time()))
        conn.close()
    else:
        store.client.set(store.key(session_id), text)


def a_state(country: str = "France", turns: int = 1) -> dict:
    state = new_state()
    state["slots"].update(cancer_type="thymoma", country=country)
    state["history"] = [{"time": 1, "user": f"message {n} ✓", "intent": "ask_question", "messages": []}
                        for n in range(turns)]
    return state


# every store

def test_round_trip(store):
    state = a_state(turns=3)
    store.save("s1", state)
    loaded = store.load("s1")
    assert loaded["slots"] == state["slots"] and loaded["history"] == state["history"]
    assert abs(loaded["updated"] - time.time()) < 60


def test_unknown_session_gives_a_new_state(store):
    loaded = store.load("nobody")
    assert set(loaded["slots"]) == set(SLOTS) and all(v is None for v in loaded["slots"].values())


def test_sessions_are_isolated(store):
    store.save("a", a_state("France"))
    store.save("b", a_state("Kenya"))
    assert store.load("a")["slots"]["country"] == "France"
    assert store.load("b")["slots"]["country"] == "Kenya"
    loaded = store.load("a")
    loaded["slots"]["country"] = "Peru"  # changing a loaded state changes nothing stored
    loaded["history"][0]["user"] = "changed"
    assert store.load("a")["slots"]["country"] == "France"
    assert store.load("a")["history"][0]["user"] == "message 0 ✓"
    assert store.load("b")["slots"]["country"] == "Kenya"


def test_saving_does_not_change_the_callers_state(store):
    state = a_state()
    state["updated"] = 1.0
    store.save("s", state)
    state["history"].append({"user": "later"})  # nor does changing it after saving
    assert state["updated"] == 1.0
    assert len(store.load("s")["history"]) == 1


def test_delete(store):
    store.save("gone", a_state())
    store.save("kept", a_state())
    assert store.delete("gone") is True
    assert store.delete("gone") is False
    assert store.delete("never") is False
    assert store.load("gone")["slots"]["country"] is None
    assert store.load("kept")["slots"]["country"] == "France"


def test_save_replaces_the_state(store):
    store.save("s", a_state("France", turns=5))
    store.save("s", a_state("Chile", turns=1))
    loaded = store.load("s")
    assert loaded["slots"]["country"] == "Chile" and len(loaded["history"]) == 1


def test_text_survives_as_written(store):
    state = a_state()
    state["history"][0]["user"] = "Ça va? 子宮 \U0001F600 \"quoted\" \\ back\nslash"
    store.save("s", state)
    assert store.load("s")["history"][0]["user"] == state["history"][0]["user"]


# stores that keep states outside the process (SQLite, Redis)

def test_export(persistent):
    assert persistent.export("nobody") is None
    persistent.save("s", a_state(turns=2))
    exported = persistent.export("s")
    assert exported is not None and exported["history"] == a_state(turns=2)["history"]
    persistent.delete("s")
    assert persistent.export("s") is None


def test_purge_expired_returns_a_count(persistent):
    persistent.save("s", a_state())
    assert persistent.purge_expired() == 0  # nothing is older than the retention period
    assert persistent.export("s") is not None


@pytest.mark.parametrize("text", ["{not json: 'secret message text'", '["secret message text"]',
                                  '{"slots": "secret message text"}', "null"])
def test_a_corrupt_value_gives_a_new_state_and_a_warning(persistent, caplog, text):
    persistent.save("broken", a_state())
    put_raw(persistent, "broken", text)
    with caplog.at_level(logging.WARNING):
        loaded = persistent.load("broken")
    assert loaded["slots"] == new_state()["slots"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "secret" not in caplog.text and "broken" in caplog.text
    persistent.save("broken", loaded)  # the conversation carries on
    assert persistent.load("broken")["slots"] == new_state()["slots"]


def test_missing_slots_are_filled_in(persistent):
    put_raw(persistent, "s", '{"slots": {"country": "Peru"}, "updated": 1.0}')
    assert persistent.load("s")["slots"] == {**{name: None for name in SLOTS}, "country": "Peru"}


def test_message_text_is_never_logged(persistent, caplog):
    state = a_state()
    state["history"][0]["user"] = "my private question"
    with caplog.at_level(logging.DEBUG):
        persistent.save("s", state)
        persistent.load("s")
        persistent.export("s")
        persistent.purge_expired(time.time() + 60 * DAY)
        persistent.delete("s")
    assert "private" not in caplog.text


def test_rejects_a_session_id_that_is_not_text(persistent):
    with pytest.raises(TypeError):
        persistent.load(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        persistent.save(None, a_state())  # type: ignore[arg-type]


def test_threads_share_one_store(persistent):
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                state = persistent.load("shared")
                state["slots"]["country"] = f"{n}-{i}"
                persistent.save("shared", state)
                persistent.save(f"thread-{n}", a_state(str(i)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(persistent.load(f"thread-{n}")["slots"]["country"] == "19" for n in range(4))
    assert persistent.load("shared")["slots"]["country"].endswith("-19")


def test_close_then_use_again(persistent):
    persistent.save("s", a_state())
    persistent.close()
    assert persistent.load("s")["slots"]["country"] == "France"
    persistent.close()
    persistent.close()  # closing twice is fine
