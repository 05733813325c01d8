"""Classroom mode: each signed-in person sees and manages their own runs and sweeps.

Off by default. With ``METALEARN_CLASSROOM=1`` the dashboard asks for sign-in (Streamlit's
``st.login``, OpenID Connect) and hands every page a :class:`ScopedRunStore` and a
:class:`ScopedSweepStore` for the person signed in (a :class:`Viewer`): every list is filtered by
the owner column, every new run or sweep records its owner, and every action by id (read, cancel,
rename, delete) on someone else's run answers as if the run did not exist. The people named in
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
    """A :class:`RunStore` as one :class:`Viewer` sees it; anything not listed here passes through.

    Example:
        >>> store = ScopedRunStore(RunStore(home), Viewer("ada@school.org"))  # doctest: +SKIP
        >>> store.list_runs()  # only Ada's runs                                 # doctest: +SKIP
    """

    _BY_ID = ("metrics", "points", "layer_stats", "rename", "set_tags", "request_cancel", "delete",
              "queue_position", "run_folder", "update_summary")

    def __init__(self, store: RunStore, viewer: Viewer) -> None:
        self.store = store
        self.viewer = viewer

    def list_runs(self, statuses: tuple[str, ...] | None = None, owner: str | None = None) -> list[Run]:
        if owner is not None and not self.viewer.can_see(owner):
            return []
        return self.store.list_runs(statuses, owner=self.viewer.scope if owner is None else owner)

    def create_run(self, config, tags: list[str] | None = None, owner: str = "") -> int:
        """A new run always belongs to the person signed in, whoever launches it for them."""
        return self.store.create_run(config, tags, owner=self.viewer.email or owner)

    def get(self, run_id: int) -> Run:
        run = self.store.get(run_id)
        if not self.viewer.can_see(run.owner):
            raise RunNotFound(run_id)  # someone else's run answers as a missing one: nothing leaks
        return run

    def _check(self, run_id: int) -> None:
        if self.viewer.scope is not None:
            self.get(run_id)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if name in self._BY_ID and callable(attribute):
            def checked(run_id, *args, **kwargs):
                self._check(run_id)
                return attribute(run_id, *args, **kwargs)
            return checked
        return attribute

    def __repr__(self) -> str:
        return f"ScopedRunStore({self.store.describe()}, {self.viewer.scope or 'everyone'})"


class ScopedSweepStore:
    """A :class:`SweepStore` as one :class:`Viewer` sees it: lists filtered, new sweeps owned."""

    def __init__(self, sweeps: SweepStore, viewer: Viewer) -> None:
        self.sweeps = sweeps
        self.viewer = viewer

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

    def update_state(self, sweep_id: int, **items: Any) -> dict[str, Any]:
        self.get(sweep_id)
        return self.sweeps.update_state(sweep_id, **items)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sweeps, name)
