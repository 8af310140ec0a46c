"""server.index_reload: a switch waits for requests in flight, and new requests wait for the switch."""
from __future__ import annotations

import threading
import time

import pytest

from server.index_reload import IndexReloader, ReadWriteGate


def test_writer_waits_for_readers_in_flight():
    gate, events = ReadWriteGate(), []
    reading = threading.Event()

    def reader() -> None:
        with gate.reading():
            reading.set()
            time.sleep(0.2)
            events.append("read done")

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait()
    with gate.writing():
        events.append("write")
    thread.join()
    assert events == ["read done", "write"]


def test_new_readers_wait_for_a_waiting_writer():
    gate, events = ReadWriteGate(), []
    first_reading, writer_waiting = threading.Event(), threading.Event()

    def first_reader() -> None:
        with gate.reading():
            first_reading.set()
            writer_waiting.wait()
            time.sleep(0.1)
            events.append("first read done")

    def writer() -> None:
        writer_waiting.set()
        with gate.writing():
            events.append("write")

    def late_reader() -> None:
        with gate.reading():
            events.append("late read")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    first_reading.wait()
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    writer_waiting.wait()
    time.sleep(0.05)  # the writer is now queued behind the first reader
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    for thread in threads:
        thread.join(timeout=5)
    assert events == ["first read done", "write", "late read"]


class FakeSearcher:
    def __init__(self, newer=None, error=None):
        self.newer, self.error, self.used = newer, error, []

    def newer_build(self):
        if self.error:
            raise self.error
        return self.newer

    def use(self, snapshot):
        self.used.append(snapshot)


class Snapshot:
    build_id = "b2"


def test_reloader_switches_once_and_checks_at_most_every_interval():
    searcher = FakeSearcher(newer=Snapshot())
    reloader = IndexReloader(searcher, every=60)
    assert reloader.reload_if_due() is True
    assert reloader.reload_if_due() is False  # within the interval: not even looked at
    assert len(searcher.used) == 1


def test_a_broken_new_build_keeps_the_old_one_in_use():
    from index.store import IndexCorrupt

    searcher = FakeSearcher(error=IndexCorrupt("checksum mismatch"))
    assert IndexReloader(searcher, every=0).reload_if_due() is False
    assert searcher.used == []


def test_negative_interval_is_refused():
    with pytest.raises(ValueError, match="at least 0"):
        IndexReloader(FakeSearcher(), every=-1)
