"""Start, resume and cancel sweeps: each sweep's controller is a detached process of its own.

Like a run's worker, the controller is started in a new session, so a closed browser or a finished
CLI does not stop it, and the launcher hands it the controller lock already taken, so there is no
moment at which a live sweep looks dead.

Example:
    >>> sweep_id = launch_sweep(RunStore(home), SweepStore(home), config)  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

from metalearn_core.runner import spawn_detached
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.store import SweepStore

RESUMABLE = ("interrupted", "cancelled", "failed")


def start_controller(sweeps: SweepStore, sweep_id: int, mnist_path: str | os.PathLike | None = None) -> int:
    """Start the sweep's controller process and return its pid; ValueError when one is already alive."""
    sweep = sweeps.get(sweep_id)
    lock = open(sweep.lock_path, "a")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"sweep {sweep_id} already has a controller running") from None
        command = [sys.executable, "-m", "metalearn_core.sweeps.controller", str(sweep_id),
                   "--home", str(sweeps.home), "--lock-fd", str(lock.fileno())]
        if mnist_path:
            command += ["--mnist", str(mnist_path)]
        process = spawn_detached(command, sweep.folder / "controller.log", pass_fds=(lock.fileno(),))
    finally:
        lock.close()  # the controller keeps its own copy of the locked file open
    return process.pid


def launch_sweep(sweeps: SweepStore, config: SweepConfig, mnist_path: str | os.PathLike | None = None) -> int:
    """Store a new sweep and start its controller; returns the sweep id."""
    sweep_id = sweeps.create(config)
    start_controller(sweeps, sweep_id, mnist_path)
    return sweep_id


def resume_sweep(sweeps: SweepStore, sweep_id: int, mnist_path: str | os.PathLike | None = None) -> int:
    """Start a new controller for an interrupted (or cancelled) sweep: it adopts the trials in flight
    and goes on until the budget is spent. ValueError when the sweep is not resumable."""
    sweep = sweeps.get(sweep_id)
    if sweep.status not in RESUMABLE:
        raise ValueError(f"sweep {sweep_id} is {sweep.status}; only a sweep that is "
                         f"{', '.join(RESUMABLE)} can be resumed")
    sweeps.clear_cancel(sweep_id)
    sweeps.update_state(sweep_id, status="queued", queued_at=time.time())
    return start_controller(sweeps, sweep_id, mnist_path)


def cancel_sweep(runs: RunStore, sweeps: SweepStore, sweep_id: int) -> str:
    """Cancel a sweep: its controller cancels the trials in flight (their curves are kept) and stops.
    A sweep without a live controller (interrupted) is closed here. Returns the status after asking."""
    sweep = sweeps.get(sweep_id)
    if sweep.is_active:
        sweeps.request_cancel(sweep_id)
        return sweeps.get(sweep_id).status
    if sweep.status == "interrupted":
        from metalearn_core.sweeps.controller import close_interrupted  # heavy: Optuna

        close_interrupted(runs, sweeps, sweep_id)
    return sweeps.get(sweep_id).status
