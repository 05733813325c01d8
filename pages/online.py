"""Online: learners meet a stream of images one at a time, each guessing an image before learning from it."""

import streamlit as st

from dashboard import common, results
from dashboard.kinds import online as online_views
from dashboard.text import plain
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.kinds.online.config import OnlineConfig

st.set_page_config(page_title="Online · Meta-learning lab", page_icon="🧠", layout="wide")
st.title("Online learning")
st.caption("Learning as the data arrives: every learner guesses each new image, is told the answer, and learns "
           "from it at once, with no retraining. Its score is how often the guesses were right.")
common.sidebar()
store = common.current_store()
online_views.init_state()

setup, watch = st.columns([2, 3], gap="large")
with setup:
    fields = online_views.settings_widgets(store)
    name = st.text_input("Run name (optional)", key=online_views.key("name"), max_chars=200)
    config, problem = None, ""
    try:
        config = RunConfig(kind="online", name=name.strip(), settings=OnlineConfig(**fields))
    except ConfigError as error:
        problem = str(error)
    if problem:
        st.error(f"Fix this before launching: {plain(problem)}")
    results.launch_button(store, config, online_views.PREFIX)
    if config is not None:
        with st.expander("The stream", expanded=False):
            online_views.stream_preview(config.settings)

with watch:
    run_id = online_views.run_to_watch(store, st.session_state.get("online.run_id"), st.query_params.get("run"))
    if run_id is None:
        st.info("Launch a run to watch the learners' accuracy grow along the stream. Every online run is also on "
                "the Compare page.")
    else:
        online_views.watch(store, run_id)
