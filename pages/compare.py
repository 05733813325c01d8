"""Compare: choose runs, overlay their curves, diff their settings and confusion matrices, export.

The title and the filters come first; the runs table and everything under it are pandas frames and
plotly figures, whose modules load once the filters are drawn.
"""

import streamlit as st

from dashboard import classroom, common

st.set_page_config(page_title="Compare · Meta-learning lab", page_icon="📊", layout="wide")
st.title("Compare runs")
common.sidebar()
store = common.current_store()
runs = store.list_runs()
if not runs:
    st.info("No runs yet: launch one on the Train page.")
    st.stop()

left, middle, right = st.columns([3, 2, 2])
text = left.text_input("Filter by name or tag", key="compare.filter")
kinds = middle.multiselect("Kind", sorted({run.kind for run in runs}), key="compare.kinds")
statuses = right.multiselect("Status", sorted({run.status for run in runs}), key="compare.statuses")

# The table and everything under it: pandas and plotly from here on.
from dashboard import adaptive, inside_train, manage  # noqa: E402
from dashboard.text import chart_text  # noqa: E402
from metalearn_core import analysis, figures  # noqa: E402

shown = analysis.filter_runs(analysis.runs_frame(runs), text=text, kinds=kinds, statuses=statuses)
owner_column = {} if classroom.enabled() else {"owner": None}  # who launched a run: classroom mode only
event = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="multi-row", key="compare.table",
                     column_config={"test_accuracy": st.column_config.NumberColumn(
                         format="%.4f", help="MNIST test accuracy; for a few-shot run, its accuracy on "
                                             "held-out digits at its shot count (5-way)"), **owner_column})
by_id = {run.id: run for run in runs}
chosen_ids = [int(shown.iloc[row]["id"]) for row in event.selection.rows]
if chosen_ids:
    st.query_params["runs"] = ",".join(map(str, chosen_ids))  # the link shows the same comparison
else:
    chosen_ids = analysis.parse_run_ids(st.query_params.get("runs", ""), by_id)
chosen = [by_id[run_id] for run_id in chosen_ids]
manage.run_actions(store, chosen)
if not chosen:
    st.info("Select runs in the table (tick the boxes on the left) to compare them.")
    st.stop()

names = {run.id: f"#{run.id} {run.name}" for run in chosen}
metric_rows = {run.id: store.metrics(run.id) for run in chosen}
for message in analysis.metric_damage(metric_rows):  # metrics_frame leaves those rows out
    st.warning(message)
frame = analysis.metrics_frame(metric_rows, names)
main = analysis.main_series_frame(frame, {run.id: run.kind for run in chosen})
main["run"] = main["run"].map(chart_text)  # the legend's names: text, not Plotly's HTML
st.subheader("Curves")
left, middle, right = st.columns(3)
smoothing = left.slider("Smoothing (EMA)", 0.0, 0.99, 0.0, 0.01, key="compare.smoothing")
x_axis = middle.radio("x axis", ("epoch", "elapsed"), horizontal=True, key="compare.x",
                      format_func={"epoch": "epochs", "elapsed": "wall-clock seconds"}.get)
for column, metric in zip(st.columns(2), ("loss", "accuracy")):
    column.plotly_chart(figures.compare_curves_figure(main, metric, smoothing=smoothing, x=x_axis),
                        key=f"compare.curves.{metric}", width="stretch")
right.download_button("Export metrics (CSV)", analysis.metrics_csv(frame), "metrics.csv", "text/csv",
                      key="compare.csv")

adaptive.compare_learning_rates(store, chosen, names)
inside_train.compare_section(store, chosen, names)

st.subheader("Settings and results")
show_all = st.toggle("Show every setting (not only those that differ)", key="compare.all_settings")
configs = {names[run.id]: run.config for run in chosen if not run.config_error}
st.dataframe(analysis.config_diff(configs, only_differences=not show_all), key="compare.diff")
st.dataframe(analysis.runs_frame(chosen).sort_values("test_accuracy", ascending=False), hide_index=True,
             key="compare.final", column_config=owner_column)

manage.confusion_section(chosen, names)
manage.seed_group_section(store, runs)
st.subheader("Settings against test accuracy (all completed runs)")
st.plotly_chart(figures.parallel_coordinates_figure(analysis.parallel_frame(runs)), key="compare.parallel",
                width="stretch")
