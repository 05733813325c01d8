"""Adaptive learning on the Train and Compare pages: the learning rate a run really used, live while
it trains, for runs whose rate moves (hypergradient descent, a cosine schedule), and the rates of
several runs overlaid.

Example:
    >>> learning_rate_panel(store, run)  # on the Train page, after the run's curves  # doctest: +SKIP
"""

from __future__ import annotations

import streamlit as st

from dashboard import common
from dashboard.text import chart_text
from metalearn_core.config import HYPERGRADIENT_OPTIMIZERS, ConfigError, TrainingConfig
from metalearn_core.runs.store import Run, RunStore

TITLE = "Adaptive learning: the learning rate"
EXPLAINER = (
    "Three parts of this lab adapt **how** a network learns instead of fixing it by hand: "
    "**hypergradient descent** (optimizers *SGD-HD* and *Adam-HD*) tunes one global learning rate while "
    "training, by the gradient of the loss with respect to that rate; **Meta-SGD** (few-shot runs) "
    "learns a separate step size for every weight across many small tasks; the **learned optimizer** "
    "(its own run kind) replaces the whole update rule with a small network trained to make losses fall fast."
)
HD_CAPTION = (
    "Hypergradient descent raises the rate while successive steps point the same way and lowers it "
    "when a step overshoots (the new gradient points back), so a rate started too low or too high "
    "drifts towards a useful one. A curve that keeps climbing steeply means the hypergradient rate "
    "(beta) is too large."
)
SCHEDULE_CAPTION = (
    "A cosine schedule lowers the rate on a fixed plan, from the configured rate to zero at the last "
    "step: big steps early, fine steps at the end. It never looks at the loss, unlike hypergradient descent."
)
COMPARE_CAPTION = (
    "The learning rate each run stepped with, epoch by epoch (epoch 0 is the configured start). Flat "
    "lines are fixed rates, smooth falls are schedules, and curves that bend on their own were adapted "
    "by hypergradient descent: compare where they settled with the best fixed rate."
)


def _training(run: Run) -> TrainingConfig | None:
    try:
        return run.config.training
    except ConfigError:
        return None


def _curve(store: RunStore, run: Run, training: TrainingConfig):
    from metalearn_core.inside import adaptive_figures  # heavy: plotly

    metrics = common.live_rows(store, run, "metrics") if run.is_active else store.metrics(run.id)
    return adaptive_figures.learning_rate_curve(
        metrics, start=training.learning_rate, series="train", live=run.progress if run.is_active else None)


def learning_rate_panel(store: RunStore, run: Run) -> None:
    """The run's learning-rate curve and the adaptive-learning explainer, when its rate moves.

    Draws nothing for a run with a fixed rate (the curve would be a flat line) or without one
    (a learned optimizer); a hypergradient run shows its panel from its first progress report."""
    training = _training(run)
    if training is None or training.optimizer == "learned":
        return
    adapted = training.optimizer in HYPERGRADIENT_OPTIMIZERS
    curve = _curve(store, run, training)
    if not (adapted or curve.varies):
        return
    from metalearn_core.inside import adaptive_figures  # heavy: plotly

    st.markdown(f"**{TITLE}**")
    if len(curve.x) < 2:
        st.info("The learning-rate curve appears with the first batches.")
    else:
        left, middle, right = st.columns(3)
        left.metric("Start", f"{curve.rate[0]:.3g}")
        middle.metric("Now" if run.is_active else "End", f"{curve.rate[-1]:.3g}")
        right.metric("Change", f"×{curve.change:.3g}")
        label = {"sgd_hd": "SGD-HD", "adam_hd": "Adam-HD"}.get(training.optimizer, training.optimizer)
        if not adapted:
            label += f", {training.lr_schedule} schedule"
        # Built once per server for each state of the curve, shared by every session watching the run.
        figure = common.shared_figure(
            f"adaptive.rate.{label}.{run.is_active}", run.id, (list(curve.x), list(curve.rate)),
            lambda: adaptive_figures.learning_rate_figure({label: curve}, live=run.is_active))
        st.plotly_chart(figure, key=f"adaptive.rate.{run.id}", width="stretch")
    st.caption(HD_CAPTION if adapted else SCHEDULE_CAPTION)
    st.caption(EXPLAINER)


def compare_learning_rates(store: RunStore, runs: list[Run], names: dict[int, str]) -> None:
    """The chosen runs' learning rates overlaid, when at least one of them moved (Compare page)."""
    from metalearn_core.inside import adaptive_figures  # heavy: plotly

    curves = {}
    for run in runs:
        training = _training(run)
        if training is not None and training.optimizer != "learned":
            curve = _curve(store, run, training)
            if len(curve.x) > 1:
                curves[chart_text(names.get(run.id, f"run {run.id}"))] = curve
    if not any(curve.varies for curve in curves.values()):
        return
    st.subheader("Learning rates")
    st.plotly_chart(adaptive_figures.learning_rate_figure(curves, title="Learning rate by run"),
                    key="compare.learning_rates", width="stretch")
    st.caption(COMPARE_CAPTION)
