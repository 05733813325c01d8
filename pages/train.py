"""Train: configure base and meta networks, launch a background run, watch it live, see results."""

import streamlit as st

from dashboard import common, diagram, editor, results
from dashboard.kinds import views
from dashboard.text import plain
from metalearn_core import kinds
from metalearn_core.config import ConfigError
from metalearn_core.session import URL_KEY, assemble_config, config_to_token, token_to_config

st.set_page_config(page_title="Train · Meta-learning lab", page_icon="🏋️", layout="wide")
st.title("Train")
common.sidebar(data=False)
store = common.current_store()

link_error = ""
if "train.base" not in st.session_state and URL_KEY in st.query_params:
    try:
        editor.init_state(token_to_config(st.query_params[URL_KEY]))
    except ConfigError as error:
        link_error = str(error)
editor.init_state()
if link_error:
    st.error(f"The link's configuration could not be used: {plain(link_error)}. Showing the default instead.")

setup, watch = st.columns([2, 3], gap="large")
with setup:
    editor.preset_picker()
    labels = {kind.name: kind.label for kind in kinds.all_kinds() if kind.page == "train"}
    kind = st.radio("Run kind", list(labels), key=editor.key("kind"), horizontal=True, format_func=labels.get)
    kind_views = views(kind)
    base_tab, meta_tab, training_tab = st.tabs(["Base network", "Meta network", "Training"])
    with base_tab:
        base = editor.network_editor("base", "Base network f_θ", "reads the 28x28 image")
        base_error = st.empty()
    with meta_tab:
        meta = editor.network_editor("meta", "Meta network m_φ", "reads the base learners' outputs (stacked runs); "
                                     "for a learned optimizer, LSTM or dense layers that read each weight's gradient")
        sections = kind_views.meta_settings(store)
        meta_error = st.empty()
    with training_tab:
        training, training_sections = kind_views.training_settings(store)
        sections = {**sections, **training_sections}
        training_error = st.empty()
    diagram.show(diagram.of_kind(kind, base, meta, sections))
    name = st.text_input("Run name (optional)", key=editor.key("name"), max_chars=200)

    config, problem = None, ""
    try:
        config = assemble_config(kind, name, base, meta, training, sections)
    except ConfigError as error:
        problem = str(error)
    if problem:
        target = {"meta network": meta_error, "stacking": meta_error, "training": training_error,
                  "learned optimizer": training_error}.get(
            problem.split(":")[0], base_error)
        target.error(plain(problem))
        st.error(f"Fix this before launching: {plain(problem)}")
    if config is not None:
        st.query_params[URL_KEY] = config_to_token(config)
        st.caption("The page's link reproduces this setup: copy it from the address bar to share it.")
    results.launch_button(store, config, "train")

with watch:
    run_id = results.run_to_watch(store, st.session_state.get("train.run_id"), st.query_params.get("run"))
    if run_id is None:
        st.info("Launch a run to watch its curves here. Earlier runs are on the Compare page.")
    else:
        results.watch(store, run_id, "train", lambda run: views(run.kind).results(store, run))

common.data_notice()  # last: the page's widgets are drawn before MNIST is loaded
