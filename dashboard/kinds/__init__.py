"""The app layer of each run kind, mirroring ``metalearn_core/kinds/``: one module per kind, listed in
:data:`VIEWS`.

``dashboard/kinds/<kind>.py`` holds every view of its kind, in the same shape for every kind:

- ``results(store, run)``: a finished run's panel (Train shows it, and the kind's own page);
- ``meta_settings(store) -> {section: values}``: widgets under the Train page's meta network tab;
- ``training_settings(store) -> (training values, {section: values})``: the Training tab.

A kind launched from its own page (few-shot, online) needs only ``results``. Optional, asked for by
the shared code (a kind without them has no such view):

- ``DRAW_TAB`` and ``draw_tab(store)``: a tab of its own on the Draw page (:func:`draw_tabs`), as
  few-shot's "Teach it your handwriting" and online's "Learn as you draw";
- ``learns_from_drawings(run) -> bool``: "Learn as you draw" can start from this finished run's
  network (:func:`learns_from_drawings`);
- ``sweep_setup(store) -> RunConfig``: the Sweep page's base run, set up with the kind's own page's
  widgets (a kind without it is set up with the Train page's editors and its ``training_settings``).

A module reads the runs of its own kind through :func:`dashboard.results.runs_of`, and the shared
code asks a kind's module instead of comparing its name, so **a new kind's views are a new module here
plus one line in** :data:`VIEWS`. Each module imports pandas, plotly figures and TensorFlow inside the
views that draw them, so importing this package (every page that shows a run does) stays light.

Example:
    >>> views("fewshot").DRAW_TAB
    'Teach it your handwriting (few-shot)'
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from dashboard.kinds import base, fewshot, learned_optimizer, online, stacked, transfer
from metalearn_core.runs.store import Run, RunStore

VIEWS: dict[str, ModuleType] = {
    "base": base,
    "stacked": stacked,
    "fewshot": fewshot,
    "learned_optimizer": learned_optimizer,
    "online": online,
    "transfer": transfer,
}


def views(kind: str) -> ModuleType:
    """The views module of ``kind`` (``dashboard.kinds.<kind>``); KeyError for a kind without one."""
    return VIEWS[kind]


def draw_tabs() -> list[tuple[str, Callable[[RunStore], None]]]:
    """The Draw page's tabs after "Classify a digit": (label, ``draw_tab``) of each kind that has one,
    in :data:`VIEWS` order."""
    return [(module.DRAW_TAB, module.draw_tab) for module in VIEWS.values() if hasattr(module, "draw_tab")]


def learns_from_drawings(run: Run) -> bool:
    """Whether the Draw page's "Learn as you draw" tab can start from ``run``: its kind's views say so,
    and its config reads (a run of a kind this lab does not know never qualifies)."""
    capability = getattr(VIEWS.get(run.kind), "learns_from_drawings", None)
    return capability is not None and not run.config_error and capability(run)
