"""Views of stacked runs: base learners and what the meta network sees, then each learner's result."""

from __future__ import annotations

from dashboard import editor
from dashboard.kinds import base
from metalearn_core.runs.store import Run, RunStore


def meta_settings(store: RunStore) -> dict[str, dict]:
    return {"stacking": editor.stacking_widgets()}


def training_settings(store: RunStore) -> tuple[dict, dict[str, dict]]:
    return base.training_settings(store)


def results(store: RunStore, run: Run) -> None:
    """A base run's panel; it adds each base learner's test accuracy beside the meta network's."""
    base.results(store, run)
