"""Compare-page widgets: run management, confusion matrices and seed groups."""

from __future__ import annotations

import streamlit as st

from dashboard.text import chart_text, plain
from metalearn_core import analysis, figures, kinds
from metalearn_core.runs.run_files import DamagedFile
from metalearn_core.runs.store import Run, RunStore


def run_actions(store: RunStore, chosen: list[Run]) -> None:
    """Rename, tag, delete or download the model of one of the chosen runs."""
    if not chosen:
        return
    with st.expander("Manage a run: rename, tag, delete, download its model"):
        labels = {run.id: f"#{run.id} {run.name}" for run in chosen}
        run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="compare.manage.run")
        run = next(run for run in chosen if run.id == run_id)
        left, right = st.columns(2)
        new_name = left.text_input("Name", value=run.name, key=f"compare.manage.name.{run_id}")
        if left.button("Rename", key="compare.manage.rename"):
            _apply(lambda: store.rename(run_id, new_name), f"Renamed run {run_id}")
        tags = right.text_input("Tags (comma-separated)", value=", ".join(run.tags), key=f"compare.manage.tags.{run_id}")
        if right.button("Save tags", key="compare.manage.tag"):
            _apply(lambda: store.set_tags(run_id, tags.split(",")), f"Tagged run {run_id}")
        model_file = _model_file(run)
        model = run.folder / model_file
        if model_file and model.exists():
            left.download_button(f"Download {model.name}", model.read_bytes(), f"run-{run_id}-{model.name}",
                                 key="compare.manage.download")
        sure = right.checkbox("Yes, delete this run and its files", key=f"compare.manage.sure.{run_id}")
        if right.button("Delete", key="compare.manage.delete", disabled=not sure, type="primary"):
            _apply(lambda: store.delete(run_id), f"Deleted run {run_id}")


def _model_file(run: Run) -> str:
    """The file of ``run``'s folder offered for download; "" for none (a kind this lab does not know)."""
    try:
        return kinds.get(run.kind).model_file
    except kinds.UnknownKind:
        return ""


def _apply(action, message: str) -> None:
    try:
        action()
    except ValueError as error:
        st.error(plain(error))
        return
    st.toast(message)
    st.rerun()


def _confusion(run: Run) -> list[list[int]] | None:
    """The run's confusion matrix, from the results its kind reads back; None when they hold none, or
    (with a warning naming the run and the file) when its results file is damaged."""
    try:
        results = kinds.get(run.kind).read_results(run.folder)
    except kinds.UnknownKind:
        return None
    except DamagedFile as error:
        st.warning(plain(str(error)))
        return None
    return (results or {}).get("confusion")


def confusion_section(chosen: list[Run], names: dict[int, str]) -> None:
    """Confusion matrices side by side, and where one run beats another."""
    matrices = {run.id: matrix for run in chosen if (matrix := _confusion(run)) is not None}
    if not matrices:
        return
    st.subheader("Confusion matrices")
    normalise = st.toggle("Normalise rows", key="compare.normalise")
    shown = list(matrices)[:4]
    for column, run_id in zip(st.columns(len(shown)), shown):
        column.plotly_chart(figures.confusion_figure(matrices[run_id], normalize=normalise,
                                                     title=chart_text(names[run_id])),
                            key=f"compare.confusion.{run_id}", width="stretch")
    if len(matrices) >= 2:
        first, second = list(matrices)[:2]
        st.plotly_chart(figures.confusion_diff_figure(matrices[first], matrices[second], chart_text(names[first]),
                                                      chart_text(names[second])),
                        key="compare.confusion.diff", width="stretch")


def seed_group_section(store: RunStore, runs: list[Run]) -> None:
    """Runs equal but for their seed: mean curve with a band of plus or minus one standard deviation."""
    groups = {label: ids for label, ids in analysis.seed_groups(runs).items() if len(ids) >= 2}
    st.subheader("Seed groups")
    if not groups:
        st.caption("Repeat a run with other seeds (same settings) to see its mean and spread here.")
        return
    chosen = st.multiselect("Groups", list(groups), default=list(groups)[:3], key="compare.groups")
    metric = st.radio("Metric", ("val_accuracy", "val_loss", "accuracy", "loss"), horizontal=True,
                      key="compare.group_metric")
    by_id = {run.id: run for run in runs}
    ids = sorted({run_id for label in chosen for run_id in groups[label]})
    frame = analysis.metrics_frame({run_id: store.metrics(run_id) for run_id in ids},
                                   {run_id: by_id[run_id].name for run_id in ids})
    curves = {label: analysis.group_curve(frame, groups[label], analysis.main_series(by_id[groups[label][0]].kind),
                                          metric) for label in chosen}
    st.plotly_chart(figures.group_band_figure(curves, metric), key="compare.groups.figure",
                    width="stretch")
