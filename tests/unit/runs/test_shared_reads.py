"""SharedReads: one store read per key and time-to-live, however many sessions ask at once."""

import threading
import time

import pytest

from metalearn_core.runs.shared_reads import SharedReads


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_read_is_reused_within_the_ttl_and_repeated_after_it():
    clock, calls = Clock(), []
    reads = SharedReads(ttl=0.25, clock=clock)

    def load():
        calls.append(clock.now)
        return [len(calls)]

    assert reads.get("k", load) == [1]
    clock.now += 0.2
    assert reads.get("k", load) == [1]
    clock.now += 0.1  # 0.3 s after the read: stale
    assert reads.get("k", load) == [2]
    assert reads.get("other", load) == [3]  # keys are apart
    assert calls == [100.0, 100.3, 100.3]


def test_sessions_asking_at_once_wait_for_one_read():
    reads, calls, started = SharedReads(ttl=10), [], threading.Barrier(12)
    results = []

    def load():
        calls.append(1)
        time.sleep(0.2)  # a slow query: the others arrive while it runs
        return "rows"

    def session():
        started.wait()
        results.append(reads.get(("home", "metrics", 1), load))

    threads = [threading.Thread(target=session) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["rows"] * 12
    assert len(calls) == 1


def test_a_failed_read_reaches_the_caller_and_is_not_remembered():
    reads = SharedReads(ttl=10)

    def broken():
        raise KeyError("run 7 is gone")

    with pytest.raises(KeyError, match="run 7"):
        reads.get("k", broken)
    assert reads.get("k", lambda: "fresh") == "fresh"


def test_entries_are_bounded():
    clock = Clock()
    reads = SharedReads(ttl=1, max_entries=3, clock=clock)
    for key in range(3):
        reads.get(key, lambda key=key: key)
        clock.now += 0.1
    reads.get("new", lambda: "new")  # all three fresh: the oldest goes
    loads = []
    assert reads.get(0, lambda: loads.append(0) or "again") == "again"
    assert reads.get(2, lambda: loads.append(2) or "again") == 2  # still kept
    assert loads == [0]


def test_a_negative_ttl_is_refused():
    with pytest.raises(ValueError, match="ttl must be >= 0"):
        SharedReads(ttl=-1)
