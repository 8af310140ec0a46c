"""The SQLite conversation store, and the behaviour it shares with the in-memory store.

Every database lives in pytest's temporary folder. The multi-process test starts its workers with
the 'spawn' context, as separate interpreters like gunicorn's workers.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.store import SLOTS, InMemoryStore, new_state
from server.sqlite_store import SqliteStore

DAY = 86400.0


@pytest.fixture
def sqlite_store(tmp_path):
    store = SqliteStore(tmp_path / "db" / "sessions.sqlite3")
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    """Each ConversationStore implementation, for the behaviour they share."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    sqlite = SqliteStore(tmp_path / "sessions.sqlite3")
    yield sqlite
    sqlite.close()


def a_state(country: str = "France", turns: int = 1) -> dict:
    state = new_state()
    state["slots"].update(cancer_type="thymoma", country=country)
    state["history"] = [{"time": 1, "user": f"message {n} ✓", "intent": "ask_question", "messages": []}
                        for n in range(turns)]
    return state


def insert_raw(path: Path, session_id: str, text: str, updated: float) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (session_id, text, updated))
    conn.close()


# behaviour shared with InMemoryStore

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
    assert store.load("a")["slots"]["country"] == "France"
    assert store.load("b")["slots"]["country"] == "Kenya"


def test_saving_does_not_change_the_callers_state(store):
    state = a_state()
    state["updated"] = 1.0
    store.save("s", state)
    assert state["updated"] == 1.0


def test_delete(store):
    store.save("gone", a_state())
    store.save("kept", a_state())
    assert store.delete("gone") is True
    assert store.delete("gone") is False
    assert store.delete("never") is False
    assert store.load("gone")["slots"]["country"] is None
    assert store.load("kept")["slots"]["country"] == "France"


# SQLite only

def test_wal_mode_and_schema(sqlite_store):
    sqlite_store.save("s", a_state())
    with sqlite3.connect(sqlite_store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1]: (row[2], row[3], row[5]) for row in conn.execute("PRAGMA table_info(sessions)")}
    conn.close()
    assert columns == {"session_id": ("TEXT", 0, 1), "state": ("TEXT", 1, 0), "updated": ("REAL", 1, 0)}


def test_connection_settings(sqlite_store):
    conn = sqlite_store._conn()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_nothing_is_opened_or_created_before_first_use(tmp_path):
    path = tmp_path / "new" / "sessions.sqlite3"
    SqliteStore(path)
    assert path.parent.is_dir() and not path.exists()


def test_state_is_stored_as_json_with_the_time(sqlite_store):
    before = time.time()
    sqlite_store.save("s", a_state())
    with sqlite3.connect(sqlite_store.path) as conn:
        text, updated = conn.execute("SELECT state, updated FROM sessions WHERE session_id = 's'").fetchone()
    conn.close()
    assert before <= updated <= time.time()
    assert json.loads(text)["updated"] == updated and json.loads(text)["slots"]["country"] == "France"


def test_save_replaces_the_state(sqlite_store):
    sqlite_store.save("s", a_state("France", turns=5))
    sqlite_store.save("s", a_state("Chile", turns=1))
    loaded = sqlite_store.load("s")
    assert loaded["slots"]["country"] == "Chile" and len(loaded["history"]) == 1


def test_export(sqlite_store):
    assert sqlite_store.export("nobody") is None
    sqlite_store.save("s", a_state(turns=2))
    exported = sqlite_store.export("s")
    assert exported is not None and exported["history"] == a_state(turns=2)["history"]
    sqlite_store.delete("s")
    assert sqlite_store.export("s") is None


def stored_ids(path) -> set[str]:
    """The session ids with a row in the file, expired or not."""
    with sqlite3.connect(path) as conn:
        ids = {row[0] for row in conn.execute("SELECT session_id FROM sessions")}
    conn.close()
    return ids


def test_purge_with_an_injected_now(sqlite_store):
    sqlite_store.save("old", a_state())
    sqlite_store.save("recent", a_state())
    now = time.time()
    insert_raw(sqlite_store.path, "old", json.dumps(a_state()), now - 31 * DAY)
    insert_raw(sqlite_store.path, "recent", json.dumps(a_state()), now - 29 * DAY)
    assert sqlite_store.purge_expired(now) == 1
    assert sqlite_store.export("old") is None and sqlite_store.export("recent") is not None
    assert sqlite_store.purge_expired(now) == 0
    assert sqlite_store.purge_expired(now + 2 * DAY) == 1
    assert sqlite_store.export("recent") is None


def test_purge_uses_retention_days(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3", retention_days=0.5)
    store.save("s", a_state())
    assert store.purge_expired(time.time() + 0.4 * DAY) == 0
    assert store.purge_expired(time.time() + 0.6 * DAY) == 1
    store.close()


def test_save_purges_at_most_once_an_hour(sqlite_store, monkeypatch):
    sqlite_store.save("first", a_state())  # the first save purges (nothing to purge yet)
    insert_raw(sqlite_store.path, "stale", json.dumps(a_state()), time.time() - 40 * DAY)
    sqlite_store.save("second", a_state())
    assert stored_ids(sqlite_store.path) == {"first", "second", "stale"}  # less than an hour since the last purge
    clock = time.monotonic() + sqlite_store.PURGE_EVERY_SECONDS + 1
    monkeypatch.setattr("server.sqlite_store.time.monotonic", lambda: clock)
    sqlite_store.save("third", a_state())
    assert stored_ids(sqlite_store.path) == {"first", "second", "third"}


def test_a_session_past_retention_is_gone_before_it_is_purged(sqlite_store):
    sqlite_store.save("fresh", a_state())
    insert_raw(sqlite_store.path, "stale", json.dumps(a_state()), time.time() - 31 * DAY)
    assert "stale" in stored_ids(sqlite_store.path)  # no purge has run since
    assert sqlite_store.export("stale") is None
    assert sqlite_store.load("stale")["slots"] == new_state()["slots"]
    assert sqlite_store.export("fresh") is not None


def test_deleted_conversations_leave_no_text_in_the_files(sqlite_store):
    state = a_state()
    state["history"][0]["user"] = "zyxwvut private words"
    sqlite_store.save("gone", state)
    sqlite_store.save("kept", a_state())
    assert sqlite_store.delete("gone")
    files = [sqlite_store.path, Path(f"{sqlite_store.path}-wal")]
    assert all(b"zyxwvut" not in f.read_bytes() for f in files if f.exists())


@pytest.mark.parametrize("text", ["{not json: 'secret message text'", '["secret message text"]',
                                  '{"slots": "secret message text"}', "null"])
def test_a_corrupt_row_gives_a_new_state_and_a_warning(sqlite_store, caplog, text):
    sqlite_store.save("broken", a_state())
    insert_raw(sqlite_store.path, "broken", text, time.time())
    with caplog.at_level(logging.WARNING, logger="server.sqlite_store"):
        loaded = sqlite_store.load("broken")
    assert loaded["slots"] == new_state()["slots"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "secret" not in caplog.text and "broken" in caplog.text
    sqlite_store.save("broken", loaded)  # the conversation carries on
    assert sqlite_store.load("broken")["slots"] == new_state()["slots"]


def test_missing_slots_are_filled_in(sqlite_store):
    sqlite_store.save("s", a_state())
    insert_raw(sqlite_store.path, "s", json.dumps({"slots": {"country": "Peru"}, "updated": 1.0}), time.time())
    assert sqlite_store.load("s")["slots"] == {**{name: None for name in SLOTS}, "country": "Peru"}


def test_message_text_is_never_logged(sqlite_store, caplog):
    state = a_state()
    state["history"][0]["user"] = "my private question"
    with caplog.at_level(logging.DEBUG):
        sqlite_store.save("s", state)
        sqlite_store.load("s")
        sqlite_store.export("s")
        sqlite_store.purge_expired(time.time() + 60 * DAY)
        sqlite_store.delete("s")
    assert "private" not in caplog.text


def test_threads_get_their_own_connections(sqlite_store):
    connections, errors = [], []

    def work(n: int) -> None:
        try:
            connections.append(sqlite_store._conn())
            for i in range(20):
                state = sqlite_store.load("shared")
                state["slots"]["country"] = f"{n}-{i}"
                sqlite_store.save("shared", state)
                sqlite_store.save(f"thread-{n}", a_state(str(i)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({id(conn) for conn in connections}) == 4
    assert all(sqlite_store.load(f"thread-{n}")["slots"]["country"] == "19" for n in range(4))
    assert sqlite_store.load("shared")["slots"]["country"].endswith("-19")


def test_close_then_use_again(sqlite_store):
    sqlite_store.save("s", a_state())
    first = sqlite_store._conn()
    sqlite_store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")
    assert sqlite_store.load("s")["slots"]["country"] == "France"
    sqlite_store.close()
    sqlite_store.close()  # closing twice is fine


def test_two_stores_on_one_file_see_each_other(tmp_path):
    one, two = SqliteStore(tmp_path / "s.sqlite3"), SqliteStore(tmp_path / "s.sqlite3")
    one.save("s", a_state("Japan"))
    assert two.load("s")["slots"]["country"] == "Japan"
    assert two.delete("s") and one.export("s") is None
    one.close()
    two.close()


def test_accepts_a_string_path(tmp_path):
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    store.save("s", a_state())
    assert store.path == tmp_path / "s.sqlite3" and store.path.is_file()
    store.close()


def test_creates_the_parent_folder(tmp_path):
    path = tmp_path / "a" / "b" / "sessions.sqlite3"
    store = SqliteStore(path)
    assert path.parent.is_dir()
    store.save("s", a_state())
    assert path.is_file()
    store.close()


@pytest.mark.parametrize("days", [0, -1, 0.0, float("nan"), float("inf"), "30", None, True])
def test_rejects_a_bad_retention(tmp_path, days):
    with pytest.raises(ValueError, match="retention_days"):
        SqliteStore(tmp_path / "s.sqlite3", retention_days=days)


def test_rejects_a_directory(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        SqliteStore(tmp_path)


def test_rejects_a_file_as_parent_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="parent path is a file"):
        SqliteStore(tmp_path / "file" / "sessions.sqlite3")


@pytest.mark.parametrize("path", [":memory:", ""])
def test_rejects_a_path_that_is_not_a_file(path):
    with pytest.raises(ValueError, match="file path"):
        SqliteStore(path)


def test_rejects_a_session_id_that_is_not_text(sqlite_store):
    with pytest.raises(TypeError):
        sqlite_store.load(42)  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection(sqlite_store):
    """As gunicorn --preload: a connection opened before the fork is never used by the child."""
    sqlite_store.save("parent", a_state("France"))
    inherited = sqlite_store._conn()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            if sqlite_store._conn() is not inherited:
                sqlite_store.save("child", a_state("Chile"))
                sqlite_store.close()
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sqlite_store._conn() is inherited  # the parent's connection still works
    assert sqlite_store.load("child")["slots"]["country"] == "Chile"


# several processes, as gunicorn's workers

SAVES = 50
PROCESSES = 4


def _worker(path: str, n: int, barrier, results) -> None:
    """Spawned worker: SAVES saves to its own session and to one shared by every worker."""
    try:
        store = SqliteStore(Path(path))
        barrier.wait(timeout=60)
        store.load(f"own-{n}")  # every worker opens the new file (WAL, tables) at once
        barrier.wait(timeout=60)  # and every worker's saves start together
        for i in range(SAVES):
            own = store.load(f"own-{n}")
            own["slots"]["country"] = str(i)
            own.setdefault("history", []).append({"user": f"turn {i}"})
            store.save(f"own-{n}", own)
            shared = store.load("shared")
            shared["slots"].update(country=str(i), cancer_type=f"worker-{n}")
            store.save("shared", shared)
        store.close()
        results.put((n, None))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent
        results.put((n, f"{type(exc).__name__}: {exc}"))


def test_concurrent_writers_from_several_processes(tmp_path):
    path = tmp_path / "shared" / "sessions.sqlite3"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_worker, args=(str(path), n, barrier, results)) for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert outcomes == {n: None for n in range(PROCESSES)}
    assert all(worker.exitcode == 0 for worker in workers)

    store = SqliteStore(path)
    for n in range(PROCESSES):
        own = store.load(f"own-{n}")
        assert own["slots"]["country"] == str(SAVES - 1)
        assert [turn["user"] for turn in own["history"]] == [f"turn {i}" for i in range(SAVES)]
    shared = store.load("shared")
    assert shared["slots"]["country"] == str(SAVES - 1)  # each worker's last save wrote SAVES - 1
    assert shared["slots"]["cancer_type"] in {f"worker-{n}" for n in range(PROCESSES)}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == PROCESSES + 1
    conn.close()
    store.close()
