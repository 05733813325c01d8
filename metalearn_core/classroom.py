"""Classroom mode: each signed-in person sees and manages their own runs and sweeps.

Off by default. With ``METALEARN_CLASSROOM=1`` the dashboard asks for sign-in (Streamlit's
``st.login``, OpenID Connect) and hands every page a :class:`ScopedRunStore` and a
:class:`ScopedSweepStore` for the person signed in (a :class:`Viewer`): every list is filtered by
the owner column, every new run or sweep records its owner, and every action by id (read, cancel,
rename, delete) on someone else's run answers as if the run did not exist. The scoped stores have
only the methods a page uses (a worker's writes are not among them). The people named in
``METALEARN_TEACHERS`` (comma-separated e-mails, case-insensitive) may switch to the whole class's
runs. Nothing here imports streamlit: the pages only say who is signed in.

Example:
    >>> viewer = Viewer(email="ada@school.org")
    >>> viewer.scope
    'ada@school.org'
    >>> Viewer(email="t@school.org", teacher=True, whole_class=True).scope is None
    True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metalearn_core.runs.store import Run, RunNotFound, RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.store import Sweep, SweepNotFound, SweepStore

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class ClassroomSettings:
    """``METALEARN_CLASSROOM`` (on or off) and ``METALEARN_TEACHERS`` (lower-cased e-mails)."""

    enabled: bool = False
    teachers: frozenset[str] = frozenset()

    def is_teacher(self, email: str) -> bool:
        return email.strip().lower() in self.teachers


def classroom_settings(environ: dict[str, str] | None = None) -> ClassroomSettings:
    """Read the classroom settings; ValueError (naming the variable) for a value that is neither on nor off.

    Example:
        >>> classroom_settings({"METALEARN_CLASSROOM": "1", "METALEARN_TEACHERS": "T@School.org, b@x.org"}).teachers
        frozenset({'b@x.org', 't@school.org'})
    """
    environ = os.environ if environ is None else environ
    value = environ.get("METALEARN_CLASSROOM", "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(f"METALEARN_CLASSROOM must be 1 (on) or 0 (off), got {environ['METALEARN_CLASSROOM']!r}")
    teachers = frozenset(email.strip().lower() for email in environ.get("METALEARN_TEACHERS", "").split(",")
                         if email.strip())
    return ClassroomSettings(enabled=value in _TRUE, teachers=teachers)


@dataclass(frozen=True)
class Viewer:
    """The person looking at the lab: ``email`` is empty when classroom mode is off (everyone sees all)."""

    email: str = ""
    teacher: bool = False
    whole_class: bool = False  # a teacher's choice to see every student's runs

    def __post_init__(self) -> None:
        if self.whole_class and not self.teacher:
            raise ValueError("only a teacher can see the whole class")

    @property
    def scope(self) -> str | None:
        """The owner every query is filtered by, or None for every run (classroom off, or class view)."""
        if not self.email or self.whole_class:
            return None
        return self.email

    def can_see(self, owner: str) -> bool:
        return self.scope is None or owner == self.scope


class ScopedRunStore:
    """A :class:`RunStore` as one :class:`Viewer` sees it, exposing only what a page may do.

    It has no other attribute: a worker's writes (``log_metrics``, ``set_progress``,
    ``mark_running``, ``heartbeat``...) and the warm worker's bookkeeping are simply absent, so no
    page, by mistake or by design, can write a run's results. What it has (:attr:`PAGE_METHODS`):

    - reading the viewer's runs: :meth:`list_runs`, :meth:`get`, :meth:`metrics`, :meth:`points`,
      :meth:`layer_stats`, :meth:`run_folder`, and where the store is (``home``, :meth:`describe`);
    - acting on them: :meth:`create_run` (always the viewer's), :meth:`rename`, :meth:`set_tags`,
      :meth:`delete`, :meth:`request_cancel`;
    - what an executor does with the store when a page launches or cancels one of the viewer's runs:
      the worker lock and pid, the warm worker's claim, the executor's handle, and (Dask) a summary
      note or the ending of a run that never started (:meth:`update_summary`, :meth:`finish` act on
      a queued run only, never on one a worker trains).

    Everything by id answers for someone else's run as if it did not exist (:class:`RunNotFound`).

    Example:
        >>> store = ScopedRunStore(RunStore(home), Viewer("ada@school.org"))  # doctest: +SKIP
        >>> store.list_runs()  # only Ada's runs                                 # doctest: +SKIP
    """

    PAGE_METHODS = ("list_runs", "get", "metrics", "points", "layer_stats", "run_folder", "describe",
                    "create_run", "rename", "set_tags", "delete", "request_cancel",
                    "worker_lock_path", "worker_alive", "claim_spare", "release_claim", "set_pid", "set_executor",
                    "update_summary", "finish")
    PAGE_ATTRIBUTES = ("home", "spare_lock_path", "database_url", "artifacts")
    _ENDINGS = ("failed", "cancelled")  # how a launcher may end a run that never started

    def __init__(self, store: RunStore, viewer: Viewer) -> None:
        self.store = store
        self.viewer = viewer

    # -- where the store is ---------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.store.home

    @property
    def spare_lock_path(self) -> Path:
        return self.store.spare_lock_path

    @property
    def database_url(self) -> str | None:
        return self.store.database_url

    @property
    def artifacts(self) -> Any:
        return self.store.artifacts

    def describe(self) -> str:
        return self.store.describe()

    # -- reading --------------------------------------------------------------------------------
    def list_runs(self, statuses: tuple[str, ...] | None = None, owner: str | None = None) -> list[Run]:
        if owner is not None and not self.viewer.can_see(owner):
            return []
        return self.store.list_runs(statuses, owner=self.viewer.scope if owner is None else owner)

    def get(self, run_id: int) -> Run:
        run = self.store.get(run_id)
        if not self.viewer.can_see(run.owner):
            raise RunNotFound(run_id)  # someone else's run answers as a missing one: nothing leaks
        return run

    def _check(self, run_id: int) -> None:
        if self.viewer.scope is not None:
            self.get(run_id)

    def metrics(self, run_id: int) -> list[dict[str, Any]]:
        self._check(run_id)
        return self.store.metrics(run_id)

    def points(self, run_id: int) -> list[dict[str, Any]]:
        self._check(run_id)
        return self.store.points(run_id)

    def layer_stats(self, run_id: int) -> list[dict[str, Any]]:
        self._check(run_id)
        return self.store.layer_stats(run_id)

    def run_folder(self, run_id: int) -> Path:
        self._check(run_id)
        return self.store.run_folder(run_id)

    # -- acting on the viewer's runs ------------------------------------------------------------
    def create_run(self, config, tags: list[str] | None = None, owner: str = "") -> int:
        """A new run always belongs to the person signed in, whoever launches it for them."""
        return self.store.create_run(config, tags, owner=self.viewer.email or owner)

    def rename(self, run_id: int, name: str) -> None:
        self._check(run_id)
        self.store.rename(run_id, name)

    def set_tags(self, run_id: int, tags: list[str]) -> None:
        self._check(run_id)
        self.store.set_tags(run_id, tags)

    def delete(self, run_id: int) -> None:
        self._check(run_id)
        self.store.delete(run_id)

    def request_cancel(self, run_id: int, reason: str = "") -> None:
        self._check(run_id)
        self.store.request_cancel(run_id, reason)

    # -- what an executor does when a page launches or cancels ----------------------------------
    def worker_lock_path(self, run_id: int) -> Path:
        self._check(run_id)
        return self.store.worker_lock_path(run_id)

    def worker_alive(self, run_id: int) -> bool:
        self._check(run_id)
        return self.store.worker_alive(run_id)

    def claim_spare(self, run_id: int, mnist: str) -> int | None:
        self._check(run_id)
        return self.store.claim_spare(run_id, mnist)

    def release_claim(self, run_id: int) -> None:
        self._check(run_id)
        self.store.release_claim(run_id)

    def set_pid(self, run_id: int, pid: int) -> None:
        self._check(run_id)
        self.store.set_pid(run_id, pid)

    def set_executor(self, run_id: int, executor: str, handle: str = "") -> None:
        self._check(run_id)
        self.store.set_executor(run_id, executor, handle)

    def _queued(self, run_id: int) -> bool:
        run = self.get(run_id)
        return run.status == "queued"

    def update_summary(self, run_id: int, **items: Any) -> None:
        """A launcher's note on a run not started yet (the Dask task's key); a started run's summary
        is its worker's to write."""
        if not self._queued(run_id):
            raise ValueError(f"run {run_id} has started: only its worker writes its summary")
        self.store.update_summary(run_id, **items)

    def finish(self, run_id: int, status: str, summary: dict | None = None, error: str = "") -> None:
        """End a run that never started, as failed (it could not be handed over) or cancelled
        (before it started). A run a worker has taken is left to it: that worker ends it."""
        if status not in self._ENDINGS or summary is not None:
            raise ValueError(f"a page can only end a run that never started, as {' or '.join(self._ENDINGS)}")
        if self._queued(run_id):
            self.store.finish(run_id, status, error=error)

    def __repr__(self) -> str:
        return f"ScopedRunStore({self.store.describe()}, {self.viewer.scope or 'everyone'})"


class ScopedSweepStore:
    """A :class:`SweepStore` as one :class:`Viewer` sees it: lists filtered, new sweeps owned, and
    only what the Sweep page does (:attr:`PAGE_METHODS`): launch, read, cancel and resume the
    viewer's sweeps. A sweep's progress is its controller's to write, through a store of its own."""

    PAGE_METHODS = ("create", "get", "list", "request_cancel", "cancel_requested", "clear_cancel", "update_state")
    PAGE_ATTRIBUTES = ("home",)
    _STATE_KEYS = {"status", "queued_at", "ended_at"}  # what resuming or closing an interrupted sweep writes
    _STATUSES = ("queued", "cancelled")

    def __init__(self, sweeps: SweepStore, viewer: Viewer) -> None:
        self.sweeps = sweeps
        self.viewer = viewer

    @property
    def home(self) -> Path:
        return self.sweeps.home

    def create(self, config: SweepConfig, owner: str = "") -> int:
        return self.sweeps.create(config, owner=self.viewer.email or owner)

    def get(self, sweep_id: int) -> Sweep:
        sweep = self.sweeps.get(sweep_id)
        if not self.viewer.can_see(sweep.owner):
            raise SweepNotFound(sweep_id)
        return sweep

    def list(self) -> list[Sweep]:
        return [sweep for sweep in self.sweeps.list() if self.viewer.can_see(sweep.owner)]

    def request_cancel(self, sweep_id: int) -> None:
        self.get(sweep_id)
        self.sweeps.request_cancel(sweep_id)

    def cancel_requested(self, sweep_id: int) -> bool:
        self.get(sweep_id)
        return self.sweeps.cancel_requested(sweep_id)

    def clear_cancel(self, sweep_id: int) -> None:
        self.get(sweep_id)
        self.sweeps.clear_cancel(sweep_id)

    def update_state(self, sweep_id: int, **items: Any) -> dict[str, Any]:
        """Queue a sweep to resume, or close an interrupted one as cancelled; nothing else."""
        self.get(sweep_id)
        unknown = sorted(set(items) - self._STATE_KEYS)
        if unknown or items.get("status", "queued") not in self._STATUSES:
            raise ValueError(f"sweep {sweep_id}: a page may only queue a sweep to resume or mark it cancelled")
        return self.sweeps.update_state(sweep_id, **items)

    def __repr__(self) -> str:
        return f"ScopedSweepStore({self.sweeps.root}, {self.viewer.scope or 'everyone'})"
