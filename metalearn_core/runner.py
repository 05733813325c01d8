"""The background runner: every launch, cancel and warm worker goes through one executor.

``launch`` stores a queued run and hands it to the executor the settings name: ``local`` (the
default: a detached worker process on this host behind a slot queue, see
:mod:`metalearn_core.executors.local`) or ``dask`` when ``METALEARN_DASK`` names a scheduler (a
task on the cluster, see :mod:`metalearn_core.executors.dask`). A closed browser, a page
reload or a finished CLI does not stop the run either way. ``cancel`` goes to the executor the run
was launched with and stops it within about a second, keeping the metrics recorded so far.
"""

from __future__ import annotations

import os

from metalearn_core.config import RunConfig
from metalearn_core.executors import executor_for_run, get_executor
from metalearn_core.executors.local import spawn_detached
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore

__all__ = ["cancel", "capacity", "ensure_spare", "launch", "spawn_detached"]


def launch(store: RunStore, config: RunConfig, mnist_path: str | os.PathLike | None = None,
           use_spare: bool = True, tags: list[str] | None = None, owner: str = "") -> int:
    """Queue ``config`` as a new run (of ``owner``, the signed-in person in classroom mode) and
    start it on the current executor; returns the run id.

    Locally, a ready warm worker (see :func:`ensure_spare`) takes the run and training starts
    without waiting for TensorFlow to import; otherwise a fresh worker process starts. On Dask the
    run becomes a task that waits in the scheduler's queue for a worker with a free ``runs`` slot.

    Example:
        >>> run_id = launch(RunStore("~/.metalearn"), RunConfig(name="quick"))  # doctest: +SKIP
    """
    executor = get_executor(get_settings(home=store.home))
    return executor.launch(store, config, mnist_path, use_spare=use_spare, tags=tags, owner=owner)


def ensure_spare(store: RunStore, mnist_path: str | os.PathLike | None = None, while_training: bool = False) -> bool:
    """Start a warm worker unless one is alive or a run is training; returns True if it started one.

    Only the local executor has warm workers (see
    :meth:`~metalearn_core.executors.local.LocalExecutor.ensure_spare`): a Dask worker keeps
    TensorFlow imported and MNIST loaded between its runs by itself, so there this does nothing.
    ``while_training`` starts one even while a run trains (a sweep's controller does).
    """
    return get_executor(get_settings(home=store.home)).ensure_spare(store, mnist_path, while_training)


def cancel(store: RunStore, run_id: int, reason: str = "") -> str:
    """Ask a run to stop; returns its status after asking.

    The run ends "cancelled" and keeps every metric recorded so far; ``reason`` becomes its note.
    A run that has already ended is left as it is.
    """
    run = store.get(run_id)
    if not run.is_active:
        return run.status
    return executor_for_run(run, get_settings(home=store.home)).cancel(store, run_id, reason)


def capacity(store: RunStore) -> int:
    """How many runs the current executor trains at once (a sweep keeps that many trials in flight):
    ``METALEARN_MAX_RUNS`` locally, the cluster's ``runs`` slots on Dask."""
    return get_executor(get_settings(home=store.home)).capacity(store)
