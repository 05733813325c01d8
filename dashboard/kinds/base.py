"""Views of base runs: the training settings, the test-set results of a finished run, and the Draw
page's "Learn as you draw" tab starting from its network."""

from __future__ import annotations

import streamlit as st

from dashboard import common, editor
from dashboard import results as result_views
from dashboard.kinds import learned_optimizer, transfer
from metalearn_core.config import ConfigError
from metalearn_core.data.mnist import DataError
from metalearn_core.runs.store import Run, RunStore


def meta_settings(store: RunStore) -> dict[str, dict]:
    return {}  # a base run has no meta network


def training_settings(store: RunStore) -> tuple[dict, dict[str, dict]]:
    """Epochs, batch, optimizer (a finished learned optimizer among them), schedule, data slice."""
    return editor.training_widgets(learned_optimizer.finished_optimizers(store)), {}


def learns_from_drawings(run: Run) -> bool:
    """The Draw page's "Learn as you draw" tab can start from any finished base run's network."""
    return True


def results(store: RunStore, run: Run) -> None:
    """:func:`evaluation_panel`, then under a finished run the launcher of a transfer run from it."""
    evaluation_panel(store, run)
    if run.status == "completed":
        transfer.launcher(store, run)


def evaluation_panel(store: RunStore, run: Run) -> None:
    """Test metrics, the curves, the confusion matrix, the per-class table and misclassified
    examples, these from the test set of the run's own domain (MNIST or Fashion-MNIST).

    A stacked run's results open with this panel too."""
    try:
        data = common.run_data(run.config.training.dataset)
    except (ConfigError, DataError) as error:  # the metrics still show; only the gallery needs the images
        st.info(f"The misclassified test images cannot be shown: {error}")
        result_views.final_panel(store, run, None, None)
    else:
        result_views.final_panel(store, run, data.x_test, data.y_test)
