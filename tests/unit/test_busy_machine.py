"""The time budgets of tests/busy_machine.py, on a fake clock: a wait lasts as long as the work makes
progress, fails soon when it makes none, and stops at its ceiling; fixed waits stretch with the
slowdown factor; a needs_quiet test waits a bounded time for idle CPUs."""

from __future__ import annotations

import busy_machine
import pytest

from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunStore


class FakeClock:
    """time.monotonic and time.sleep for busy_machine: sleeping moves the clock, nothing waits."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.01)


@pytest.fixture()
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(busy_machine.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(busy_machine.time, "sleep", fake.sleep)
    monkeypatch.setattr(busy_machine, "load_factor", lambda: 1.0)
    monkeypatch.delenv(busy_machine.SLOWDOWN_VARIABLE, raising=False)
    return fake


def test_a_wait_lasts_as_long_as_the_work_progresses(clock):
    start = clock.now
    value = busy_machine.wait_for(lambda: clock.now - start >= 500 and "done", timeout=900,
                                  progress=lambda: int(clock.now), stall=60)
    assert value == "done" and clock.now - start >= 500  # far past the stall window: it kept moving


def test_a_wait_without_progress_fails_after_the_stall_window_not_the_ceiling(clock):
    start = clock.now
    with pytest.raises(AssertionError, match="run 3's end not reached: no progress for 6[0-9] s"):
        busy_machine.wait_for(lambda: False, timeout=900, progress=lambda: "same", stall=60, what="run 3's end")
    assert clock.now - start < 70


def test_a_wait_that_progresses_for_ever_stops_at_its_ceiling(clock):
    start = clock.now
    with pytest.raises(AssertionError, match="not reached in 900 s"):
        busy_machine.wait_for(lambda: False, timeout=900, progress=lambda: clock.now, stall=60)
    assert clock.now - start < 901


def test_a_fixed_wait_stretches_with_the_slowdown_factor(clock, monkeypatch):
    monkeypatch.setenv(busy_machine.SLOWDOWN_VARIABLE, "3")
    start = clock.now
    with pytest.raises(AssertionError, match="slowdown x3.0"):
        busy_machine.wait_for(lambda: False, timeout=10)
    assert 30 <= clock.now - start < 31
    assert busy_machine.scaled(10) == 30 and busy_machine.scaled_ms(1000) == 3000


@pytest.mark.parametrize("text", ["x", "0.5", "nan", "-2"])
def test_a_bad_slowdown_factor_is_one_clear_error(monkeypatch, text):
    monkeypatch.setenv(busy_machine.SLOWDOWN_VARIABLE, text)
    with pytest.raises(ValueError, match="METALEARN_TEST_SLOWDOWN must be a number of at least 1"):
        busy_machine.slowdown_factor()


def test_the_load_factor_counts_only_load_beyond_the_cores(monkeypatch):
    monkeypatch.setattr(busy_machine.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(busy_machine.os, "getloadavg", lambda: (1.5, 0, 0))
    assert busy_machine.load_factor() == 1.0
    monkeypatch.setattr(busy_machine.os, "getloadavg", lambda: (6.0, 0, 0))
    assert busy_machine.load_factor() == 3.0
    monkeypatch.setattr(busy_machine.os, "getloadavg", lambda: (100.0, 0, 0))
    assert busy_machine.load_factor() == busy_machine.MAX_LOAD_FACTOR


def test_waiting_for_quiet_is_bounded_per_test_and_per_session(clock, monkeypatch):
    monkeypatch.setattr(busy_machine, "_quiet_budget_left", [])
    monkeypatch.setenv("METALEARN_QUIET_WAIT", "60")
    monkeypatch.setenv("METALEARN_QUIET_BUDGET", "100")
    readings = iter([1.9, 1.8, 0.3])

    def busy_cores():
        clock.sleep(1.0)
        return next(readings, 2.0)

    monkeypatch.setattr(busy_machine, "busy_cores", busy_cores)
    assert busy_machine.wait_for_quiet() == (True, 0.3, 3.0)  # quiet at the third reading
    quiet, busy, first = busy_machine.wait_for_quiet()  # a benchmark beside it: never quiet
    assert not quiet and busy == 2.0 and 60 <= first <= 61
    quiet, _, waited = busy_machine.wait_for_quiet()  # what is left of the session's budget
    assert not quiet and 100 - 3 - first <= waited <= 100 - 3 - first + 1
    assert busy_machine.wait_for_quiet()[2] <= 1.0  # the budget is spent: one reading, then on


def test_a_home_snapshot_changes_when_a_run_moves_and_only_then(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name="snap"))
    before = busy_machine.home_progress(store)
    assert busy_machine.home_progress(store) == before
    store.set_progress(run_id, {"epoch": 1, "batch": 3, "batches": 10})
    moved = busy_machine.home_progress(store)
    assert moved != before and busy_machine.home_progress(store) == moved


def test_cpu_seconds_count_live_processes_only():
    import os

    assert busy_machine.cpu_seconds([os.getpid()]) > 0
    assert busy_machine.cpu_seconds([2**22 + 7]) == 0  # no such process
