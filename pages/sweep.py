"""Sweep: let the lab try many settings of a run (an Optuna search), watch the trials arrive, and
re-launch the best as a full run.

The title comes first, then the form (:mod:`dashboard.sweep`, light); :mod:`dashboard.sweep_trials`,
the trials' tables and figures, loads pandas and plotly after the form is drawn.
"""

import streamlit as st

from dashboard import common
from dashboard.text import plain

st.set_page_config(page_title="Sweep · Meta-learning lab", page_icon="🎛️", layout="wide")
st.title("Sweep")
st.caption("Instead of trying settings by hand, tick the ones to search and give each a range: the lab trains "
           "one run per trial, learns from the earlier ones which values look promising (Optuna), and can stop "
           "hopeless trials early. Every trial is an ordinary run, on Compare like any other.")
common.sidebar(data=False)
store = common.current_store()

from dashboard import sweep as sweep_views  # noqa: E402 - Optuna: after the title

sweeps = sweep_views.sweep_store()
link_error = sweep_views.init_state()
if link_error:
    st.error(f"The link's configuration could not be used: {plain(link_error)}. Showing the default instead.")

kind = sweep_views.kind_picker()
setup, space_column = st.columns(2, gap="large")
with setup:
    base, base_problem = sweep_views.base_setup(store, kind)
with space_column:
    st.markdown("**What to search** · tick the settings the sweep may vary, then give each a range")
    space = sweep_views.space_widgets(kind)
    settings = sweep_views.sweep_settings(kind)
    config, problem = sweep_views.build_config(kind, base, base_problem, space, settings)
    sweep_views.launch_panel(sweeps, config, problem)

st.divider()
st.subheader("Trials")
from dashboard import sweep_trials  # noqa: E402 - heavy: pandas, plotly; after the form

chosen = sweep_trials.pick_sweep(sweeps)
if chosen is None:
    st.info("No sweep yet: choose what to search above and launch one. Its trials appear here as they finish.")
else:
    sweep_trials.watch(store, sweeps, chosen)

common.data_notice()  # last: the page's widgets are drawn before MNIST is loaded
