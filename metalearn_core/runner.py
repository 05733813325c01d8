"""The background runner: every run trains in its own OS process, one (or N) at a time.

``launch`` stores a queued run and starts a detached worker process (``python -m
metalearn_core.worker``) in a new session, so a closed browser, a page reload or a finished CLI
does not stop it. The worker waits its turn (first come, first served) for one of
``max_concurrent_runs`` slot locks, trains, and records the outcome. ``cancel`` stops a run within
about a second and keeps the metrics recorded so far.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

from metalearn_core.config import RunConfig
from metalearn_core.store import RunStore


def launch(store: RunStore, config: RunConfig, mnist_path: str | os.PathLike | None = None) -> int:
    """Queue ``config`` as a new run and start its worker process; returns the run id.

    The launcher takes the run's worker lock before starting the worker and hands the locked file
    to it, so there is no moment at which a live run looks dead to a reader.

    Example:
        >>> run_id = launch(RunStore("~/.metalearn"), RunConfig(name="quick"))  # doctest: +SKIP
    """
    run_id = store.create_run(config)
    lock_path = store.worker_lock_path(run_id)
    lock = open(lock_path, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command = [sys.executable, "-m", "metalearn_core.worker", str(run_id),
                   "--home", str(store.home), "--lock-fd", str(lock.fileno())]
        if mnist_path:
            command += ["--mnist", str(Path(mnist_path).expanduser().resolve())]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        with open(store.run_folder(run_id) / "worker.log", "ab") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(lock.fileno(),), start_new_session=True, env=env,
                cwd=str(Path(__file__).resolve().parent.parent),
            )
        store.set_pid(run_id, process.pid)
    finally:
        lock.close()  # the worker keeps its own copy of the locked file open
    return run_id


def cancel(store: RunStore, run_id: int) -> str:
    """Ask a run to stop; returns its status after asking.

    A queued or running worker gets SIGTERM, which it turns into a clean "cancelled" ending that
    keeps every metric recorded so far. A run that has already ended is left as it is.
    """
    run = store.get(run_id)
    if not run.is_active:
        return run.status
    store.request_cancel(run_id)
    if run.pid and store.worker_alive(run_id):
        try:
            os.kill(run.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return store.get(run_id).status
