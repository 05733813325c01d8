"""The Dask executor (``METALEARN_DASK=tcp://scheduler:8786``): every run is a task on a Dask
distributed cluster.

A launch stores the run (``queued``), records ``dask`` and the task's key on it, and submits
:func:`train_task` with ``resources={"runs": 1}`` and ``fire_and_forget``, so the task runs to its
end whoever launched it (a page, the CLI, a sweep's controller) and whether or not that process
lives on. Workers are started with ``--resources runs=1`` per worker process, so one run takes one
worker process and its cores; queueing is the scheduler's.

On the worker, :func:`train_task` opens the same store (the database URL and artefact location
travel with the task, never a file on the app's host), marks the run running and trains it with the
local worker's :func:`~metalearn_core.worker.execute`. A thread writes a heartbeat every
:data:`HEARTBEAT_SECONDS`; the heartbeat's answer carries a cancel request, which the training loop
turns into a clean ``cancelled`` ending at its next progress write (within about a second). A
worker that dies leaves its run's heartbeat to age: readers then mark it ``interrupted``
(:meth:`RunStore.reconcile`). If the scheduler hands the lost task to another worker, that worker
finds the run already started and marks it interrupted at once instead of training it again.

TensorFlow in a Dask worker: the thread pools are sized once per worker process, before its first
run imports TensorFlow, from ``METALEARN_WORKER_THREADS`` or the machine's cores divided by the
worker processes the scheduler knows on that host.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import distributed

from metalearn_core.config import RunConfig
from metalearn_core.data.domains import load_domain
from metalearn_core.executors.base import Executor
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore
from metalearn_core.worker import RunCancelled, execute

HEARTBEAT_SECONDS = 3.0  # well inside store.HEARTBEAT_TIMEOUT
RESOURCE = "runs"
_threads_set = False
_threads_lock = threading.Lock()
_preloaded: dict[str, object] = {}  # MNIST kept loaded between a worker's runs, by path


class DaskUnavailable(RuntimeError):
    """The scheduler cannot be reached, or no worker offers a ``runs`` slot."""


def task_key(run_id: int, store: RunStore) -> str:
    """The task's key on the scheduler: unique per run and store, so two labs can share a cluster."""
    where = store.database_url or str(store.home.resolve())
    return f"metalearn-run-{run_id}-{hashlib.sha1(where.encode()).hexdigest()[:8]}"


class DaskExecutor(Executor):
    """Runs as tasks on the Dask scheduler at ``address``; one client per process, made when first needed."""

    name = "dask"

    def __init__(self, address: str) -> None:
        self.address = address
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None or self._client.status in ("closed", "closing"):
                try:
                    self._client = distributed.Client(self.address, timeout=10, set_as_default=False)
                except (OSError, TimeoutError) as error:
                    raise DaskUnavailable(f"cannot reach the Dask scheduler at {self.address}: {error}; "
                                          "start it with `dask scheduler` or unset METALEARN_DASK to train "
                                          "runs on this machine") from error
            return self._client

    def slots(self) -> int:
        """The cluster's ``runs`` slots: how many runs it trains at once."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return int(sum(info.get("resources", {}).get(RESOURCE, 0) for info in workers.values()))

    def launch(self, store: RunStore, config: RunConfig, mnist_path: str | os.PathLike | None = None,
               use_spare: bool = True, tags: list[str] | None = None, owner: str = "") -> int:
        """Store ``config`` as a queued run and submit its task; returns the run id. Refuses, before
        storing anything, when no worker offers a ``runs`` slot (the run would wait for ever)."""
        client = self.client
        if self.slots() < 1:
            raise DaskUnavailable(f"no worker of the Dask scheduler at {self.address} offers a '{RESOURCE}' "
                                  f"slot: start workers with `dask worker {self.address} --nthreads 1 "
                                  f"--resources {RESOURCE}=1`")
        run_id = store.create_run(config, tags, owner=owner)
        key = task_key(run_id, store)
        store.set_executor(run_id, "dask", key)
        store.update_summary(run_id, dask={"scheduler": self.address, "key": key})
        mnist = str(Path(mnist_path).expanduser().resolve()) if mnist_path else None
        try:
            future = client.submit(train_task, str(store.home), run_id, store.database_url,
                                   store.artifacts.url if store.artifacts is not None else None, mnist,
                                   key=key, resources={RESOURCE: 1}, pure=False, retries=0)
            distributed.fire_and_forget(future)
            self._confirm(key)
        except Exception as error:  # the run would wait for ever: record why it never started
            store.finish(run_id, "failed", error=f"could not be handed to the Dask scheduler at {self.address}: {error}")
            raise
        return run_id

    def _confirm(self, key: str, timeout: float = 15.0) -> None:
        """Wait until the scheduler holds the task: a launcher that exits right after submitting
        (the CLI) could otherwise close its connection before the submission went out."""
        deadline = time.monotonic() + timeout
        while not self.client.run_on_scheduler(lambda dask_scheduler: key in dask_scheduler.tasks):
            if time.monotonic() > deadline:
                raise DaskUnavailable(f"the Dask scheduler at {self.address} did not take task {key} "
                                      f"within {timeout:.0f} s")
            time.sleep(0.05)

    def cancel(self, store: RunStore, run_id: int, reason: str = "") -> str:
        """Flag the run; a running task sees the flag at its next heartbeat and stops cleanly, a
        queued one is cancelled on the scheduler and ends ``cancelled`` here."""
        run = store.get(run_id)
        if not run.is_active:
            return run.status
        store.request_cancel(run_id, reason)
        if run.status == "queued":
            key = run.executor_handle or task_key(run_id, store)
            try:
                self.client.cancel([distributed.Future(key, client=self.client)], force=True)
            except Exception:  # noqa: BLE001 - the flag alone still stops it when it starts
                pass
            if store.get(run_id).status == "queued":
                note = reason or "cancelled by the user"
                store.finish(run_id, "cancelled", error=f"{note}; cancelled before it started")
        return store.get(run_id).status

    def capacity(self, store: RunStore) -> int:
        settings = get_settings(home=store.home)
        slots = max(1, self.slots())
        return min(slots, settings.max_concurrent_runs) if settings.max_runs_set else slots

    def describe(self) -> str:
        return f"dask ({self.address})"


def _size_thread_pools() -> int:
    """Set TensorFlow's thread pools for this worker process, once, before TensorFlow runs anything."""
    global _threads_set
    with _threads_lock:
        if _threads_set:
            return -1
        _threads_set = True
        threads = os.environ.get("METALEARN_WORKER_THREADS", "").strip()
        if threads:
            count = max(1, int(threads))
        else:
            count = max(1, (os.cpu_count() or 1) // _worker_processes_on_this_host())
        import tensorflow as tf  # heavy: TensorFlow, in the worker only (the launcher never imports it)

        try:
            tf.config.threading.set_intra_op_parallelism_threads(count)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, count))
        except RuntimeError:  # TensorFlow already ran something in this process: keep its pools
            return -1
        return count


def _worker_processes_on_this_host() -> int:
    try:
        worker = distributed.get_worker()
        host = worker.address.split("://")[-1].rsplit(":", 1)[0]
        infos = worker.client.scheduler_info(n_workers=-1).get("workers", {}).values()
        return max(1, sum(1 for info in infos if info.get("host") == host))
    except Exception:  # noqa: BLE001 - outside a worker, or the scheduler did not say
        return 1


def train_task(home: str, run_id: int, database: str | None, artifacts: str | None,
               mnist_path: str | None) -> str:
    """Train run ``run_id`` of the store at ``home``/``database`` on this Dask worker; returns its status."""
    store = RunStore(home, database=database, artifacts=artifacts)
    run = store.get(run_id)
    if run.status != "queued":  # ended meanwhile, or started on a worker that died: never train twice
        if run.status == "running":
            store.finish(run_id, "interrupted", error="its Dask worker stopped while it trained (killed or "
                         "crashed); metrics recorded so far are kept, and it is not trained again")
            return "interrupted"
        return run.status
    if run.cancel_requested:
        store.finish(run_id, "cancelled", error=(run.error or "cancelled by the user") + "; cancelled before it started")
        return "cancelled"
    threads = _size_thread_pools()
    store.mark_running(run_id)
    store.heartbeat(run_id)
    try:
        where = distributed.get_worker().address
    except Exception:  # noqa: BLE001 - called outside a worker (a test, by hand)
        where = "no worker"
    store.update_summary(run_id, dask={"scheduler": (run.summary.get("dask") or {}).get("scheduler"),
                                       "key": run.executor_handle, "worker": where, "pid": os.getpid(),
                                       **({"tensorflow_threads": threads} if threads > 0 else {})})
    cancelled = threading.Event()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                if store.heartbeat(run_id):
                    cancelled.set()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the timeout is ten beats
                pass

    def check() -> None:
        if cancelled.is_set():
            raise RunCancelled()

    beater = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    beater.start()
    try:
        data = _preloaded.get(mnist_path or "") if run.config.training.dataset == "mnist" else None
        status = execute(store, run_id, mnist_path, data=data, check=check)
        if data is None and run.config.training.dataset == "mnist" and len(_preloaded) < 2:
            _keep_mnist(mnist_path)
        return status
    finally:
        stop.set()
        beater.join(timeout=HEARTBEAT_SECONDS + 1)
        store.db.close()


def _keep_mnist(mnist_path: str | None) -> None:
    """Keep MNIST loaded for this worker's next run (its load costs about a second)."""
    try:
        _preloaded[mnist_path or ""] = load_domain("mnist", mnist_path)
    except Exception:  # noqa: BLE001 - the next run loads it itself
        pass
