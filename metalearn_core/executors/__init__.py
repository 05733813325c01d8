"""Executors: where runs and sweep trials train, behind one interface (:class:`Executor`).

- ``local`` (the default): each run is a detached process on this host behind a slot queue
  (``METALEARN_MAX_RUNS`` at once), with a warm worker for the next launch
  (:mod:`metalearn_core.executors.local`).
- ``dask`` (``METALEARN_DASK=tcp://scheduler:8786``): each run is a task on a Dask distributed
  cluster that needs one ``runs`` resource, so one run takes one worker process and its cores; the
  worker writes metrics, progress and a heartbeat to the run database
  (:mod:`metalearn_core.executors.dask`).

:mod:`metalearn_core.runner` keeps the callers' functions (``launch``, ``cancel``,
``ensure_spare``) and sends each call here: a launch to the executor the settings name, a cancel to
the executor the run was launched with.

Example:
    >>> get_executor(get_settings()).name  # doctest: +SKIP
    'local'
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from metalearn_core.executors.base import Executor
from metalearn_core.executors.local import LocalExecutor
from metalearn_core.runs.settings import Settings, get_settings
from metalearn_core.runs.store import Run


def _local(address: str | None) -> Executor:
    return LocalExecutor()


def _dask(address: str | None) -> Executor:
    from metalearn_core.executors.dask import DaskExecutor  # optional: Dask

    return DaskExecutor(address)


# name -> a factory taking the scheduler address; the Dask one imports its module when called, so a
# local run never imports Dask.
REGISTRY: dict[str, Callable[[str | None], Executor]] = {"local": _local, "dask": _dask}
_cache: dict[tuple[str, str], Executor] = {}
_cache_lock = threading.Lock()

__all__ = ["REGISTRY", "Executor", "executor_for_run", "get_executor", "named"]


def named(name: str, address: str | None = None) -> Executor:
    """The executor ``name`` (with its scheduler ``address`` for ``dask``), one per process."""
    if name not in REGISTRY:
        raise ValueError(f"unknown executor {name!r}; known: {', '.join(REGISTRY)}")
    if name == "dask" and not address:
        raise ValueError("the dask executor needs a scheduler address (METALEARN_DASK=tcp://host:8786)")
    with _cache_lock:
        key = (name, address or "")
        if key not in _cache:
            _cache[key] = REGISTRY[name](address)
        return _cache[key]


def get_executor(settings: Settings | None = None) -> Executor:
    """The executor new runs go to: Dask when ``METALEARN_DASK`` names a scheduler, else local."""
    settings = settings or get_settings()
    return named(settings.executor, settings.dask_address)


def executor_for_run(run: Run, settings: Settings | None = None) -> Executor:
    """The executor a stored run was launched with (a cancel must go where the run is). A Dask run
    names its scheduler in its summary, so a process without ``METALEARN_DASK`` still reaches it."""
    if run.executor == "local":
        return named("local")
    settings = settings or get_settings()
    address = (run.summary.get("dask") or {}).get("scheduler") or settings.dask_address
    return named(run.executor, address)
