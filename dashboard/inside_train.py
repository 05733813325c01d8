"""Inside the training: each layer's weight and gradient norms and its weight distributions, on the
Train page (live and after the run) and overlaid for several runs on the Compare page.

Light: imports no TensorFlow, Keras or pandas; the figures' module (pandas, plotly) loads when a
panel with statistics is drawn.
"""

from __future__ import annotations

import streamlit as st

from dashboard import common
from dashboard.text import chart_text, plain
from metalearn_core.runs.store import Run, RunStore

TITLE = "Inside the training: weights and gradients"
NORMS_CAPTION = (
    "Each line is one layer. The **weight norm** is the overall size of the layer's weights: it usually "
    "grows a little as the layer learns, and a climb that never levels off can mean the learning rate is "
    "too high. The **gradient norm** is how hard the loss pushes on those weights, measured every epoch "
    "on the same 256 training images: it usually shrinks as training settles. Gradients near zero in "
    "the first layers mean they have stopped learning (vanishing gradients); gradients growing by "
    "orders of magnitude mean training is unstable (exploding gradients: lower the learning rate)."
)
DISTRIBUTIONS_CAPTION = (
    "How each layer's weights are spread, epoch by epoch, as in TensorBoard's *distributions*: the "
    "darkest band holds the middle 38% of the weights, the lightest all of them, the line is the "
    "median. Bands that widen show the weights moving apart as the layer learns; bands that hardly "
    "move mean the layer barely changed; a band that suddenly blows up signals instability."
)
HISTOGRAMS_CAPTION = (
    "The same weight histograms as a heatmap: each column is one epoch, darker means more weights "
    "near that value. Look for the shape changing: a narrow start widening into a broader bell is "
    "typical of a layer that learns."
)
COMPARE_CAPTION = (
    "Each run's per-layer norms over the epochs (layer 1 is the first layer with weights; stacked runs "
    "show their meta network). Runs with a higher learning rate usually move their weights further; "
    "gradient norms that stay high or grow point to a run that has not settled."
)


def _series(rows: list[dict], run: Run, key: str) -> str:
    """The network to show: the run's main one, or the user's pick when it trained several."""
    from metalearn_core import analysis  # heavy: pandas
    from metalearn_core.inside import weight_figures  # heavy: pandas, plotly

    names = weight_figures.series_names(rows)
    main = analysis.main_series(run.kind)
    if len(names) == 1:
        return names[0]
    return st.selectbox("Network", names, index=names.index(main) if main in names else 0, key=key)


def panel(store: RunStore, run: Run, prefix: str = "train", live: bool = False) -> None:
    """Norms, distributions and histograms of the run's layers; while ``live``, redrawn by the
    caller's one-second fragment, and silent until the first statistics arrive."""
    rows = common.live_rows(store, run, "layer_stats") if live else store.layer_stats(run.id)
    if not rows and live:
        return
    st.subheader(TITLE)
    if not rows:
        st.info("No layer statistics for this run: they are recorded for networks trained since the "
                "Inside views were added (base and stacked runs).")
        return
    from metalearn_core.inside import weight_figures  # heavy: pandas, plotly

    series = _series(rows, run, f"{prefix}.inside.series.{run.id}")
    norms, distributions, histograms = st.tabs(["Norms", "Distributions", "Histograms"])
    key = f"{prefix}.inside.{run.id}"
    def figure(name: str):  # built once per server for each new epoch of statistics, shared by every viewer
        return common.shared_figure(f"inside.{name}.{series}", run.id, (rows,),
                                    lambda: getattr(weight_figures, f"{name}_figure")(rows, series))

    with norms:
        st.plotly_chart(figure("norms"), key=f"{key}.norms", width="stretch")
        st.caption(NORMS_CAPTION)
    with distributions:
        st.plotly_chart(figure("distributions"), key=f"{key}.distributions", width="stretch")
        st.caption(DISTRIBUTIONS_CAPTION)
    with histograms:
        st.plotly_chart(figure("histograms"), key=f"{key}.histograms", width="stretch")
        st.caption(HISTOGRAMS_CAPTION)


def compare_section(store: RunStore, runs: list[Run], names: dict[int, str]) -> None:
    """The chosen runs' per-layer weight or gradient norms overlaid (Compare page)."""
    from metalearn_core import analysis  # heavy: pandas
    from metalearn_core.inside import weight_figures  # heavy: pandas, plotly

    st.subheader(TITLE)
    rows = {names[run.id]: store.layer_stats(run.id) for run in runs}
    if not any(rows.values()):
        st.info("None of the chosen runs has layer statistics: they are recorded for base and stacked "
                "runs trained since the Inside views were added.")
        return
    metric = st.radio("Norm", ("weight_norm", "gradient_norm"), horizontal=True, key="compare.inside.metric",
                      format_func={"weight_norm": "weights", "gradient_norm": "gradients"}.get)
    series = {names[run.id]: analysis.main_series(run.kind) for run in runs}
    figure = weight_figures.compare_norms_figure({chart_text(label): run_rows for label, run_rows in rows.items()},
                                                 metric, {chart_text(label): name for label, name in series.items()})
    st.plotly_chart(figure, key="compare.inside.norms", width="stretch")
    missing = [label for label, run_rows in rows.items() if not run_rows]
    st.caption(COMPARE_CAPTION + (f" Without statistics: {plain(', '.join(missing))}." if missing else ""))
