"""Time budgets for tests that may run on a busy machine (CI on a developer's machine, a benchmark
beside it).

- A wait for training gets its budget from the run's own progress: :func:`wait_for` with a
  ``progress`` snapshot (see :func:`home_progress`) keeps waiting while the snapshot keeps changing
  and fails only after ``stall`` seconds without any change, or after ``timeout`` seconds in all (a
  generous ceiling that catches a run which "progresses" for ever).
- Fixed waits (a process start-up, a page's script run) are scaled by :func:`slowdown`: the factor
  in ``METALEARN_TEST_SLOWDOWN`` (default 1) times how far the machine's load exceeds its cores.
- Tests that need a quiet machine (two runs side by side, anything timing-related) carry the
  ``needs_quiet`` marker; ``tests/conftest.py`` then calls :func:`wait_for_quiet` before the test
  body, a bounded wait for the CPUs to calm down, after which the test proceeds anyway (with a
  warning), since its waits hold under load too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SLOWDOWN_VARIABLE = "METALEARN_TEST_SLOWDOWN"
MAX_LOAD_FACTOR = 8.0  # a load-derived factor never stretches a fixed wait more than this
CPU_QUANTUM = 0.25  # CPU seconds: a change of the processes' CPU time by this much counts as progress
LOOK_EVERY = 1.0  # seconds between two progress snapshots (they read the database and /proc)


def slowdown_factor() -> float:
    """``METALEARN_TEST_SLOWDOWN``: how much slower than a quiet machine to allow for (at least 1)."""
    text = os.environ.get(SLOWDOWN_VARIABLE, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{SLOWDOWN_VARIABLE} must be a number of at least 1, got {text!r}") from None
    if not value >= 1.0:  # also refuses nan
        raise ValueError(f"{SLOWDOWN_VARIABLE} must be a number of at least 1, got {text!r}")
    return value


def load_factor() -> float:
    """The 1-minute load average per CPU when above 1 (capped at MAX_LOAD_FACTOR), else 1."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1.0
    return min(max(load / (os.cpu_count() or 1), 1.0), MAX_LOAD_FACTOR)


def slowdown() -> float:
    """How much longer than on a quiet machine a fixed wait should allow now."""
    return slowdown_factor() * load_factor()


def scaled(seconds: float) -> float:
    """``seconds`` stretched by :func:`slowdown`."""
    return seconds * slowdown()


def scaled_ms(milliseconds: float) -> float:
    """Playwright's timeouts are in milliseconds."""
    return milliseconds * slowdown()


# AppTest's default_timeout is a limit per script run: a page that imports TensorFlow on a busy
# machine may take several times as long as on a quiet one. One generous value for every page test.
APP_TIMEOUT = 180.0 * slowdown_factor()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of the live processes ``pids`` and of their children already waited
    for (from /proc; a process that has ended counts 0)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in set(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def processes_progress(pids: Iterable[int]) -> int:
    """A progress snapshot of some processes: their CPU time in CPU_QUANTUM steps."""
    return int(cpu_seconds(pids) / CPU_QUANTUM)


def home_progress(store: Any) -> tuple:
    """A snapshot of everything that moves in ``store``'s data home: each run's status, live
    progress, heartbeat and summary, and the CPU time of the processes that name the home (workers,
    the warm worker, sweep controllers) or train its runs on Dask. Equal snapshots: nothing moved."""
    from tools.browser import processes_naming

    pids = list(processes_naming(store.home))
    try:
        runs = store.list_runs()
    except Exception as error:  # noqa: BLE001 - a busy or half-made database: the test's own reads say
        return ("unreadable", type(error).__name__), processes_progress(pids)
    rows = tuple((run.id, run.status, run.started_at, run.ended_at, run.heartbeat_at,
                  json.dumps(run.progress, sort_keys=True, default=str),
                  json.dumps(run.summary, sort_keys=True, default=str)) for run in runs)
    pids += [run.summary["dask"]["pid"] for run in runs
             if isinstance(run.summary.get("dask"), dict) and run.summary["dask"].get("pid")]
    return rows, processes_progress(pids)


def wait_for(predicate: Callable[[], Any], timeout: float = 120.0, poll: float = 0.1,
             progress: Callable[[], Any] | None = None, stall: float = 60.0, what: str = "condition") -> Any:
    """Call ``predicate`` every ``poll`` seconds until it returns a truthy value; return that value.

    Without ``progress``, fail after ``timeout`` seconds (stretched by :func:`slowdown`). With it (a
    function returning a comparable snapshot of the work waited for, looked at every second), fail
    only when the snapshot has not changed for ``stall`` seconds (stretched), or when ``timeout``
    (stretched) has passed in all: then ``timeout`` is a generous ceiling, not a budget."""
    factor = slowdown()
    start = time.monotonic()
    ceiling, stall_limit = start + timeout * factor, stall * factor
    seen = progress() if progress is not None else None
    changed = next_look = start
    while True:
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        if progress is not None and now >= next_look:
            next_look = now + min(LOOK_EVERY, stall_limit / 4)
            current = progress()
            if current != seen:
                seen, changed = current, now
        if now >= ceiling:
            raise AssertionError(f"{what} not reached in {now - start:.0f} s (the ceiling, "
                                 f"slowdown x{factor:.1f})")
        if progress is not None and now - changed >= stall_limit:
            raise AssertionError(f"{what} not reached: no progress for {now - changed:.0f} s "
                                 f"(waited {now - start:.0f} s, slowdown x{factor:.1f})")
        time.sleep(poll)


def wait_until_done(store: Any, run_id: int, timeout: float = 900.0, stall: float = 90.0) -> Any:
    """Run ``run_id`` once it has ended; waits as long as anything in its home makes progress (see
    :func:`wait_for`: ``timeout`` is the ceiling)."""
    def ended():
        run = store.get(run_id)
        return run if not run.is_active else None

    return wait_for(ended, timeout=timeout, poll=0.2, progress=lambda: home_progress(store), stall=stall,
                    what=f"the end of run {run_id}")


def wait_until_idle(store: Any, timeout: float = 900.0, stall: float = 90.0) -> list:
    """Every run of the home once none is active."""
    def idle():
        runs = store.list_runs()
        return runs if not any(run.is_active for run in runs) else None

    return wait_for(idle, timeout=timeout, poll=0.5, progress=lambda: home_progress(store), stall=stall,
                    what="the end of every run")


def busy_cores(window: float = 1.0) -> float | None:
    """How many CPUs were busy, on average, over the next ``window`` seconds (None without /proc)."""
    def sample():
        values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values[:8]), idle

    try:
        total_before, idle_before = sample()
        time.sleep(window)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    if total <= 0:
        return None
    return (os.cpu_count() or 1) * (1.0 - (idle_after - idle_before) / total)


_quiet_budget_left: list[float] = []


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        return max(float(text), 0.0) if text else default
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None


def wait_for_quiet() -> tuple[bool, float | None, float]:
    """Wait until at most ``METALEARN_QUIET_BUSY`` CPUs (default 0.5) are busy over a second, for
    at most ``METALEARN_QUIET_WAIT`` seconds (default 30) and at most what is left of
    ``METALEARN_QUIET_BUDGET`` (default 300 s over the whole session, so that a benchmark running
    beside the suite delays it by a bounded amount). Returns (quiet, busy CPUs last measured,
    seconds waited)."""
    threshold = _env_seconds("METALEARN_QUIET_BUSY", 0.5)
    if not _quiet_budget_left:
        _quiet_budget_left.append(_env_seconds("METALEARN_QUIET_BUDGET", 300.0))
    patience = min(_env_seconds("METALEARN_QUIET_WAIT", 30.0), _quiet_budget_left[0])
    start = time.monotonic()
    busy = busy_cores()
    while busy is not None and busy > threshold and time.monotonic() - start < patience:
        busy = busy_cores()
    waited = time.monotonic() - start
    _quiet_budget_left[0] = max(_quiet_budget_left[0] - waited, 0.0)
    return busy is None or busy <= threshold, busy, waited


def visible_while_progressing(locator: Any, store: Any, what: str, timeout: float = 900.0,
                              stall: float = 90.0) -> None:
    """Wait for a Playwright ``locator`` to show something that appears once training is done (or
    under way): as long as the data home of ``store`` makes progress (see :func:`wait_for`)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def shown() -> bool:
        try:
            locator.wait_for(state="visible", timeout=1000)
        except PlaywrightTimeout:
            return False
        return True

    wait_for(shown, timeout=timeout, poll=0.0, progress=lambda: home_progress(store), stall=stall, what=what)
