"""Views of base runs: the training settings, and the test-set results of a finished run."""

from __future__ import annotations

from dashboard import common, editor
from dashboard import results as result_views
from dashboard.kinds import learned_optimizer
from metalearn_core.runs.store import Run, RunStore


def meta_settings(store: RunStore) -> dict[str, dict]:
    return {}  # a base run has no meta network


def training_settings(store: RunStore) -> tuple[dict, dict[str, dict]]:
    """Epochs, batch, optimizer (a finished learned optimizer among them), schedule, data slice."""
    return editor.training_widgets(learned_optimizer.finished_optimizers(store)), {}


def results(store: RunStore, run: Run) -> None:
    """Test metrics, the curves, the confusion matrix, the per-class table and misclassified digits."""
    data = common.current_mnist()
    result_views.final_panel(store, run, data.x_test, data.y_test)
