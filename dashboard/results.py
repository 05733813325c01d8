"""Widgets that show a run: live progress while it trains, results when it has finished."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from dashboard import adaptive, common, inside_train
from dashboard.text import plain
from metalearn_core import kinds, runner
from metalearn_core.data.domains import class_names
from metalearn_core.runner import cancel
from metalearn_core.runs.run_files import DamagedFile, damaged_point_row, is_number
from metalearn_core.runs.store import Run, RunNotFound, RunStore
from metalearn_core.safe_input import try_parse_id
from metalearn_core.session import format_seconds, progress_view

if TYPE_CHECKING:
    from plotly import graph_objects as go


def run_to_watch(store: RunStore, chosen: int | None, from_url: str | None) -> int | None:
    """The run this session launched, else the one in the URL, else a run still going (so a
    reload or a second browser tab shows the same run still training)."""
    for candidate in (chosen, try_parse_id(from_url)):
        if candidate is None:
            continue
        try:
            return store.get(int(candidate)).id
        except RunNotFound:
            continue
    active = store.list_runs(statuses=("queued", "running"))
    running = [run for run in active if run.status == "running"]
    return (running or active or [None])[0].id if active else None


def runs_of(store: RunStore, kind: str, statuses: tuple[str, ...] | None = None) -> list[Run]:
    """The runs of one kind (only those in ``statuses`` when given), newest first.

    A kind's views module reads its own runs (or the runs its settings pick from) through this one
    helper instead of comparing names itself.

    Example:
        >>> runs_of(store, "fewshot", statuses=("completed",))  # doctest: +SKIP
    """
    return [run for run in store.list_runs(statuses=statuses) if run.kind == kind]


def kind_run_to_watch(store: RunStore, kind: str, chosen: int | None, from_url: str | None) -> int | None:
    """For a kind with its own page (few-shot, online): this session's run of that kind, else the
    URL's, else one still going, else the newest one."""
    runs = runs_of(store, kind)  # newest first
    ids = [run.id for run in runs]
    for candidate in (chosen, try_parse_id(from_url)):
        if candidate is not None and candidate in ids:
            return candidate
    active = [run.id for run in runs if run.is_active]
    return (active or ids or [None])[0]


def launch_button(store: RunStore, config, prefix: str) -> None:
    """Launch (disabled while the setup is invalid).

    The page started a warm worker (TensorFlow imported, MNIST loaded) as it opened
    (:func:`dashboard.common.keep_warm_worker`); the launch hands the run to it, and the rerun that
    follows the run's end starts the next one. In a read-only data home it is disabled and says why."""
    read_only = common.read_only_reason(store)
    if read_only:
        st.info(plain(f"Launch is unavailable: {read_only}."))
    if st.button("Launch", type="primary", disabled=config is None or bool(read_only), key=f"{prefix}.launch"):
        run_id = runner.launch(store, config, common.mnist_path())
        st.session_state[f"{prefix}.run_id"] = run_id
        st.query_params["run"] = str(run_id)
        st.toast(f"Run {run_id} launched")


def watch(store: RunStore, run_id: int, prefix: str, show_results: Callable[[Run], None],
          caption: Callable[[Run], str] | None = None) -> None:
    """The live panel, redrawn every second while the run is active, then ``show_results``."""

    @st.fragment(run_every=1.0)
    def watch_run() -> None:
        run = common.live_run(store, run_id)
        if run.is_active:
            if caption is not None:
                st.caption(caption(run))
            live_panel(store, run, prefix=prefix)
            st.session_state[f"{prefix}.was_active"] = True
        elif st.session_state.pop(f"{prefix}.was_active", False):
            st.rerun()  # once, to stop the one-second refresh
        else:
            show_results(run)

    run = store.get(run_id)
    if run.is_active:
        watch_run()
    else:
        show_results(run)


def live_panel(store: RunStore, run: Run, prefix: str = "train") -> None:
    """Progress bar, elapsed and remaining time, live curves, live layer statistics and a Cancel button."""
    view = progress_view(run)
    st.progress(view.fraction, text=f"Run {run.id} · {plain(run.name)}: {view.label}")
    left, middle, right = st.columns([2, 2, 1])
    left.metric("Elapsed", format_seconds(view.elapsed))
    middle.metric("Time left", format_seconds(view.remaining))
    if right.button("Cancel", key=f"{prefix}.cancel.{run.id}", type="secondary"):
        cancel(store, run.id)
        st.toast(f"Cancelling run {run.id}…")
    curves(store, run)
    adaptive.learning_rate_panel(store, run)
    inside_train.panel(store, run, prefix, live=True)


def curves(store: RunStore, run: Run) -> None:
    # pandas (a quarter of a second to import on a fresh server) loads with the first chart, after
    # the page's widgets are drawn.
    from metalearn_core import analysis, figures  # heavy: pandas, plotly

    if run.is_active:  # read once for every session watching it
        metrics, points = common.live_rows(store, run, "metrics"), common.live_rows(store, run, "points")
    else:
        metrics, points = store.metrics(run.id), store.points(run.id)
    if not metrics and not points:
        st.info("The curves appear with the first batches.")
        return
    x_title = kinds.get(run.kind).x_axis
    for message in analysis.metric_damage({run.id: metrics}, {run.id: points}):  # left out of the curves
        st.warning(message)
    points = [point for point in points if not damaged_point_row(point)]

    def build():
        frame = analysis.metrics_frame({run.id: metrics}, {run.id: run.name})
        return figures.live_curves_figure(frame, points=points, x_title=x_title)

    figure = common.shared_figure(f"curves.{run.name}.{x_title}", run.id, (metrics, points), build)
    st.plotly_chart(figure, key=f"live.{run.id}", width="stretch")


def status_line(run: Run) -> None:
    """The run's outcome in one coloured line, with the error when there is one."""
    show = {"completed": st.success, "cancelled": st.warning, "diverged": st.error,
            "failed": st.error, "interrupted": st.warning}.get(run.status, st.info)
    show(f"Run {run.id} · {plain(run.name)}: {run.status}" + (f" — {plain(run.error)}" if run.error else ""))


def final_panel(store: RunStore, run: Run, test_images: np.ndarray | None,
                test_labels: np.ndarray | None) -> None:
    """Test metrics, curves, layer statistics, confusion matrix, per-class table, misclassified
    digits, stacked learners."""
    from metalearn_core import analysis, figures  # heavy: pandas, plotly

    status_line(run)
    summary = run.summary
    if is_number(summary.get("test_accuracy")):  # a damaged store's text shows as "-"
        columns = st.columns(4)
        columns[0].metric("Test accuracy", f"{100 * summary['test_accuracy']:.1f}%")
        columns[1].metric("Test loss", f"{summary['test_loss']:.3f}" if is_number(summary.get("test_loss")) else "-")
        columns[2].metric("Epochs", summary["epochs_done"] if is_number(summary.get("epochs_done")) else "-")
        if is_number(summary.get("train_seconds")) and summary["train_seconds"] > 0:
            columns[3].metric("Training time", format_seconds(summary["train_seconds"]))
    if isinstance(summary.get("learners"), list) and summary["learners"]:
        st.markdown("**What stacking bought**: each base learner beside the meta network (test set)")
        st.dataframe(analysis.learners_frame(summary), hide_index=True)
    curves(store, run)
    adaptive.learning_rate_panel(store, run)
    inside_train.panel(store, run)
    try:
        evaluation = kinds.get(run.kind).read_results(run.folder)
    except DamagedFile as error:  # the metrics and curves above still show
        st.warning(plain(str(error)))
        return
    if evaluation is None or "confusion" not in evaluation:
        return
    names = _class_names(run)
    left, right = st.columns([3, 2])
    normalise = left.toggle("Normalise rows (recall per class)", key=f"train.normalise.{run.id}")
    confusion = figures.confusion_figure(evaluation["confusion"], normalize=normalise,
                                         title="Confusion matrix (test set)")
    left.plotly_chart(_name_classes(confusion, names), key=f"confusion.{run.id}", width="stretch")
    right.markdown("**Per class**")
    right.dataframe(analysis.per_class_frame(evaluation["per_class"], names), hide_index=True,
                    column_config={name: st.column_config.NumberColumn(format="%.3f")
                                   for name in ("precision", "recall", "f1")})
    misclassified_gallery(evaluation, test_images, test_labels, class_names=names)


def _class_names(run: Run) -> list[str] | None:
    """The names of the run's classes when they are not the digits (a Fashion-MNIST run), else None."""
    from metalearn_core.analysis import run_dataset  # heavy: pandas

    dataset = run_dataset(run)
    return None if dataset == "mnist" else class_names(dataset)


def _name_classes(figure: go.Figure, names: list[str] | None) -> go.Figure:
    """A confusion matrix's axes labelled with class names instead of 0-9 (when there are names)."""
    if names is None:
        return figure
    ticks = {"tickvals": [str(label) for label in range(len(names))], "ticktext": names}
    figure.update_xaxes(title_text="predicted class", **ticks)
    return figure.update_yaxes(title_text="true class", **ticks)


def misclassified_gallery(evaluation: dict, test_images: np.ndarray | None, test_labels: np.ndarray | None,
                          count: int = 24, class_names: list[str] | None = None) -> None:
    wrong = evaluation.get("misclassified", [])
    what = "digits" if class_names is None else "images"
    st.markdown(f"**Misclassified test {what}** ({len(wrong)} in all, the first {min(count, len(wrong))})")
    if test_images is None or not wrong:
        return
    predictions = evaluation.get("predictions", [])
    name = (lambda label: str(label)) if class_names is None else (lambda label: class_names[int(label)])
    shown = [index for index in wrong[:count] if index < len(test_images)]
    captions = [f"true {name(test_labels[index])}, predicted {name(predictions[index])}" for index in shown]
    st.image([test_images[index] for index in shown], caption=captions, width=84)
