"""The local executor (the default): every run trains in its own OS process on this host, one (or
``METALEARN_MAX_RUNS``) at a time.

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
from metalearn_core.executors.base import Executor
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore, lock_held

ROOT = Path(__file__).resolve().parents[2]  # the project root, where metalearn_core is importable
# The worker process's command line is ``python -m`` of this module; the launcher never imports it (nor
# TensorFlow through it).
WORKER_MODULE = "metalearn_core.worker"


def data_key(mnist_path: str | os.PathLike | None) -> str:
    return str(Path(mnist_path).expanduser().resolve()) if mnist_path else ""


def worker_command(store: RunStore, mnist_path: str | os.PathLike | None, *arguments: str) -> list[str]:
    command = [sys.executable, "-m", WORKER_MODULE, *arguments, "--home", str(store.home)]
    return command + (["--mnist", data_key(mnist_path)] if mnist_path else [])


def spawn_detached(command: list[str], log_path: Path, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """Start ``command`` in a new session (it outlives its starter), its output appended to ``log_path``."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=pass_fds,
            start_new_session=True, env=env, cwd=str(ROOT),
        )


class LocalExecutor(Executor):
    """Worker processes on this host behind the slot queue, with a warm worker for the next launch."""

    name = "local"

    def launch(self, store: RunStore, config: RunConfig, mnist_path: str | os.PathLike | None = None,
               use_spare: bool = True, tags: list[str] | None = None, owner: str = "") -> int:
        """Queue ``config`` as a new run (of ``owner``) and start its worker process; returns the run id.

        When a warm worker (see :meth:`ensure_spare`) is ready, it takes the run and training starts
        without waiting for TensorFlow to import. Otherwise the launcher takes the run's worker lock
        before starting a fresh worker and hands the locked file to it, so there is no moment at
        which a live run looks dead to a reader."""
        run_id = store.create_run(config, tags, owner=owner)
        if use_spare and lock_held(store.spare_lock_path):
            if store.claim_spare(run_id, data_key(mnist_path)) is not None:
                if store.worker_alive(run_id):  # the spare lock, or the run's own once the warm worker took it
                    return run_id
                store.release_claim(run_id)  # the warm worker died meanwhile: start a fresh one
        lock_path = store.worker_lock_path(run_id)
        lock = open(lock_path, "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command = worker_command(store, mnist_path, str(run_id), "--lock-fd", str(lock.fileno()))
            process = spawn_detached(command, store.run_folder(run_id) / "worker.log", pass_fds=(lock.fileno(),))
            store.set_pid(run_id, process.pid)
        finally:
            lock.close()  # the worker keeps its own copy of the locked file open
        return run_id

    def ensure_spare(self, store: RunStore, mnist_path: str | os.PathLike | None = None,
                     while_training: bool = False) -> bool:
        """Start a warm worker unless one is alive or a run is training; returns True if it started one.

        A warm worker imports TensorFlow and loads MNIST ahead of time (about 5 s on two cores),
        then waits for the next launch, so a run's first batch comes seconds sooner. It is not
        started while a run trains, so that it never competes with one for the cores, and it exits
        after ``METALEARN_SPARE_IDLE`` seconds (default 1800) without a run, or when the app that
        started it stops. ``METALEARN_WARM_WORKER=0`` turns warm workers off.

        ``while_training`` starts one even while a run trains: a sweep's controller does, so that
        its next trial starts warm; warming up takes one core for a few seconds, once per trial,
        where a cold start of the next trial would take both for longer."""
        if os.environ.get("METALEARN_WARM_WORKER", "1") == "0":
            return False
        if not while_training and store.list_runs(statuses=("queued", "running")):
            return False
        with open(store.spare_lock_path, "a") as lock:
            try:  # taken here and handed to the worker: no second one can start meanwhile
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            command = worker_command(store, mnist_path, "--spare", "--lock-fd", str(lock.fileno()),
                                     "--parent", str(os.getpid()))
            spawn_detached(command, store.home / "spare.log", pass_fds=(lock.fileno(),))
        return True

    def cancel(self, store: RunStore, run_id: int, reason: str = "") -> str:
        """A queued or running worker gets SIGTERM, which it turns into a clean "cancelled" ending
        that keeps every metric recorded so far; ``reason`` becomes the run's note. A run that has
        already ended is left as it is."""
        run = store.get(run_id)
        if not run.is_active:
            return run.status
        store.request_cancel(run_id, reason)
        if run.pid and store.worker_alive(run_id):
            try:
                os.kill(run.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return store.get(run_id).status

    def capacity(self, store: RunStore) -> int:
        return get_settings(home=store.home).max_concurrent_runs
