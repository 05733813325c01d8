"""The worker process of one run: wait for a slot, train, record the outcome.

Started by the local executor (:mod:`metalearn_core.executors.local`); run by hand as
``python -m metalearn_core.worker RUN_ID --home HOME``. A Dask worker trains a run with the same
:func:`execute` (see :mod:`metalearn_core.executors.dask`). The worker trains any kind, so it sits
above :mod:`metalearn_core.kinds`; the runner and the executors that start it sit beside it, and it
never imports them.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator

from metalearn_core import kinds
from metalearn_core.config import ConfigError
from metalearn_core.data.domains import load_domain
from metalearn_core.data.mnist import DataError, load_mnist
from metalearn_core.runs.reporting import Reporter
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore

PROGRESS_INTERVAL = 0.25  # seconds between two progress writes: at most four per second


class RunCancelled(Exception):
    """Raised in the worker when SIGTERM arrives (a cancel request)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise RunCancelled()


@contextlib.contextmanager
def run_slot(store: RunStore, run_id: int, slots: int, poll: float = 0.2) -> Iterator[int]:
    """Wait until this run is the oldest queued one and a slot lock is free; hold it inside."""
    folder = store.home / "slots"
    folder.mkdir(exist_ok=True)
    while True:
        store.reconcile()  # a dead older run must not block the queue
        if store.queue_position(run_id) == 0:
            for index in range(slots):
                handle = open(folder / f"slot-{index}.lock", "a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                try:
                    yield index
                finally:
                    handle.close()
                return
        time.sleep(poll)


class StoreReporter:
    """Writes epochs to the store at once and progress at most every PROGRESS_INTERVAL seconds.

    ``check``, when given, is called before each write and may raise :class:`RunCancelled`: a run
    on a Dask worker, where no SIGTERM arrives, learns of a cancel that way."""

    def __init__(self, store: RunStore, run_id: int, launched_at: float,
                 check: Callable[[], None] | None = None) -> None:
        self.store, self.run_id, self.launched_at = store, run_id, launched_at
        self.check = check or (lambda: None)
        self.started = time.time()
        self._first_progress = True

    def on_epoch(self, series: str, epoch: int, metrics: dict) -> None:
        self.check()
        self.store.log_metrics(self.run_id, series, epoch, metrics)

    def on_layer_stats(self, series: str, epoch: int, stats: list[dict]) -> None:
        self.check()
        self.store.log_layer_stats(self.run_id, series, epoch, stats)

    def on_progress(self, progress: dict) -> None:
        self.check()
        if self._first_progress and progress.get("batch") is not None:
            self._first_progress = False
            self.store.update_summary(self.run_id, startup_seconds=time.time() - self.launched_at)
        self.store.set_progress(self.run_id, {**progress, "elapsed": time.time() - self.started})


def _run_data(dataset: str, mnist_path: str | None, preloaded=None):
    """The run's domain: a warm worker's preloaded MNIST for MNIST runs, else loaded now."""
    if dataset == "mnist":
        return preloaded if preloaded is not None else load_domain("mnist", mnist_path)
    return load_domain(dataset)  # its path comes from the environment (METALEARN_FASHION_MNIST)


def execute(store: RunStore, run_id: int, mnist_path: str | None, data=None,
            check: Callable[[], None] | None = None) -> str:
    """Train run ``run_id`` in this process and record its outcome; returns the final status.

    The run gets the data of ``config.training.dataset``. ``data`` is MNIST already loaded by a
    warm worker (or a Dask worker's earlier run), used only by MNIST runs; otherwise the domain is
    loaded here. ``check`` (see :class:`StoreReporter`) is also called once the data is loaded."""
    run = store.get(run_id)
    try:
        config = run.config
        # Where start-up time goes, in seconds since the launch (bench/bench_app.py reports it).
        timing = {"worker_running": time.time() - run.created_at}
        train = kinds.get(config.kind).entry()  # imports the kind's training code, and TensorFlow

        timing["tensorflow_imported"] = time.time() - run.created_at
        data = _run_data(config.training.dataset, mnist_path, data)
        timing["data_loaded"] = time.time() - run.created_at
        store.update_summary(run_id, data=data.describe(), timing=timing)
        if check is not None:
            check()
        writer = StoreReporter(store, run_id, run.created_at, check)
        reporter = Reporter(on_epoch=writer.on_epoch, on_progress=writer.on_progress,
                            on_layer_stats=writer.on_layer_stats)
        result = train(config, data, reporter, run.folder)
        if result.evaluation is not None:
            (run.folder / "evaluation.json").write_text(json.dumps(result.evaluation.to_dict()))
        store.update_summary(run_id, **result.summary)
        _finish(store, run_id, result.status, error=result.message)
        return result.status
    except RunCancelled:
        reason = store.get(run_id).error or "cancelled by the user"
        _finish(store, run_id, "cancelled", error=f"{reason}; metrics so far are kept")
        return "cancelled"
    except (ConfigError, DataError) as error:
        _finish(store, run_id, "failed", error=str(error))
        return "failed"
    except Exception as error:  # noqa: BLE001 - any crash is recorded, with the traceback in the log
        traceback.print_exc()
        _finish(store, run_id, "failed", error=f"{type(error).__name__}: {error} (see worker.log)")
        return "failed"


def _finish(store: RunStore, run_id: int, status: str, error: str = "") -> None:
    """Push the run's files to the shared artefact location (if one is set), then record its end,
    so that a reader who sees the run ended finds its files there."""
    if store.artifacts is not None:
        try:
            store.artifacts.push(run_id, store.run_folder(run_id))
        except Exception as push_error:  # noqa: BLE001 - the run's outcome is recorded all the same
            traceback.print_exc()
            error = (error + "; " if error else "") + f"its files could not be copied to {store.artifacts.describe()}: {push_error}"
    store.finish(run_id, status, error=error)


def train_run(store: RunStore, run_id: int, mnist_path: str | None, data=None) -> str:
    """Wait for a slot, then train; a cancel while queued ends the run as cancelled."""
    settings = get_settings(home=store.home)
    try:
        with run_slot(store, run_id, settings.max_concurrent_runs):
            if store.get(run_id).cancel_requested:
                raise RunCancelled()
            store.mark_running(run_id)
            status = execute(store, run_id, mnist_path, data)
    except RunCancelled:
        store.finish(run_id, "cancelled", error="cancelled before it started")
        status = "cancelled"
    print(f"run {run_id}: {status}", flush=True)
    return status


def _log_to(path) -> None:
    """Send this process's output to ``path`` from now on (a warm worker's run keeps its own log)."""
    sys.stdout.flush()
    sys.stderr.flush()
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)


def _move_to_run_lock(store: RunStore, run_id: int, spare_fd: int) -> None:
    """Hold the run's own worker lock instead of the spare lock, so that the next warm worker (a
    sweep's next trial) can warm up while this run trains. The run's lock is taken before the
    store points at it and the spare lock is let go after, so the run never looks dead."""
    path = store.run_folder(run_id) / "worker.lock"
    run_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)  # kept open while this process lives
    fcntl.flock(run_fd, fcntl.LOCK_EX)
    store.set_lock_path(run_id, path)
    os.close(spare_fd)


def wait_as_spare(store: RunStore, mnist_path: str | None, lock_fd: int | None = None,
                  parent: int | None = None, poll: float = 0.1) -> int:
    """Be the warm worker: hold the spare lock, import TensorFlow, load MNIST, wait for a run.

    The spare lock then serves as the claimed run's worker lock, so the run is never without one.
    """
    if lock_fd is None:  # started by hand; the runner hands over the lock already taken
        lock_fd = os.open(store.spare_lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another warm worker is already waiting
    pid = os.getpid()
    parent = parent or os.getppid()
    store.register_spare(pid, mnist_path or "", ready=False)  # a launch from now on waits for this one
    try:
        from metalearn_core.kinds.base.run import train_base  # noqa: F401 - heavy: TensorFlow, loaded before a run comes

        try:
            data = load_mnist(mnist_path)
        except Exception as error:  # noqa: BLE001 - the run itself will report the data problem
            print(f"warm worker: MNIST not preloaded ({error})", flush=True)
            data = None
        store.mark_spare_ready(pid)
        idle = float(os.environ.get("METALEARN_SPARE_IDLE", "1800"))
        deadline = time.monotonic() + idle
        # A warm worker serves the app that started it: it leaves when that app (its parent) stops.
        while time.monotonic() < deadline and os.getppid() == parent:
            run_id = store.take_claim(pid)
            if run_id is not None:
                _log_to(store.run_folder(run_id) / "worker.log")
                _move_to_run_lock(store, run_id, lock_fd)  # the next warm worker may start meanwhile
                store.update_summary(run_id, warm_start=True)
                train_run(store, run_id, mnist_path, data)
                return 0
            time.sleep(poll)
    except RunCancelled:  # SIGTERM while warming up or idle; a run handed over meanwhile ends cleanly
        claimed = store.take_claim(pid)
        if claimed is not None:
            store.finish(claimed, "cancelled", error="cancelled before it started")
        raise
    finally:
        store.unregister_spare(pid)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train one queued run (started by the runner).")
    parser.add_argument("run_id", type=int, nargs="?")
    parser.add_argument("--home", required=True)
    parser.add_argument("--mnist", default=None)
    parser.add_argument("--lock-fd", type=int, default=None)
    parser.add_argument("--spare", action="store_true", help="wait, warm, for the next launched run")
    parser.add_argument("--parent", type=int, default=None, help="the app's pid: a warm worker leaves with it")
    args = parser.parse_args(argv)
    store = RunStore(args.home)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.spare:
        try:
            return wait_as_spare(store, args.mnist, args.lock_fd, args.parent)
        except RunCancelled:  # SIGTERM while idle
            return 0
    if args.run_id is None:
        parser.error("a run id is needed (or --spare)")
    if args.lock_fd is None:  # started by hand: take the worker lock ourselves
        lock = open(store.worker_lock_path(args.run_id), "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    train_run(store, args.run_id, args.mnist)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
