"""Views of stacked runs: base learners and what the meta network sees, then each learner's result."""

from __future__ import annotations

import streamlit as st

from dashboard import common, editor
from dashboard.kinds import base
from metalearn_core.kinds.stacked import inside as stacked
from metalearn_core.runs.store import Run, RunStore


def meta_settings(store: RunStore) -> dict[str, dict]:
    return {"stacking": editor.stacking_widgets()}


def training_settings(store: RunStore) -> tuple[dict, dict[str, dict]]:
    return base.training_settings(store)


def results(store: RunStore, run: Run) -> None:
    """A base run's test-set panel; it adds each base learner's test accuracy beside the meta network's,
    then what the meta network's first layer listens to."""
    base.evaluation_panel(store, run)
    if run.status == "completed":
        inside_section(run)


def inside_section(run: Run) -> None:
    """Which learner the meta network trusts for which digit: its first layer's weights, two ways."""
    from metalearn_core.kinds.stacked import inside_figures as stacked_figures  # heavy: plotly
    from metalearn_core.models.predictor import PredictorError  # heavy: Keras

    st.markdown("**Inside the meta network**")
    labels = [learner.label(index) for index, learner in enumerate(run.config.settings.learners)]
    try:
        weights = stacked.meta_weights(common.predictor(run.id), labels)
    except (PredictorError, ValueError) as error:
        st.info(f"The meta network's weights cannot be shown: {error}")
        return
    st.plotly_chart(stacked_figures.trust_figure(weights), key=f"stacked.inside.trust.{run.id}",
                    width="stretch")
    st.caption("Each cell is the average size of the weights the meta network's first layer gives one learner's score "
               "for one digit (its inputs are standardised, so sizes compare fairly): a darker row is a learner it "
               "listens to more; a darker cell shows a digit on which it relies on that learner.")
    st.plotly_chart(stacked_figures.kernel_figure(weights), key=f"stacked.inside.kernel.{run.id}",
                    width="stretch")
    if weights.is_output:
        st.caption("With no hidden layers each weight says how much one learner's score for a digit (row) pushes the "
                   "final answer towards a class (column), red for, blue against: a red diagonal in each learner's "
                   "block means the meta network follows that learner's own vote.")
    else:
        st.caption("Every weight of the first hidden layer, one row per unit and one column per input (lines separate "
                   "the learners; red positive, blue negative): columns that stay pale are inputs the meta network "
                   "hardly uses.")
