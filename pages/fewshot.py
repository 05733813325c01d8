"""Few-shot: meta-train a learner on digits 0-4, then watch it learn digits 5-9 from one or five examples."""

import streamlit as st

from dashboard import common, diagram, editor, results
from dashboard.kinds import fewshot as fewshot_views
from dashboard.text import plain
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.diagram import fewshot_diagram

st.set_page_config(page_title="Few-shot · Meta-learning lab", page_icon="🧠", layout="wide")
st.title("Few-shot learning")
st.caption("Learning to learn: meta-train on some classes (digits, or Fashion-MNIST's clothes), then adapt to "
           "classes never seen, from 1 or 5 examples each, in the same domain or across to the other.")
common.sidebar()
store = common.current_store()
editor.init_state()
fewshot_views.init_state()

setup, watch = st.columns([2, 3], gap="large")
with setup:
    network, fields = fewshot_views.settings_widgets()
    with editor.below(fewshot_views.NETWORK):  # under the learner network's layer editor, in its tab
        diagram.show(fewshot_diagram(network, fields["algorithm"], fields["ways"]),
                     caption=diagram.CAPTION + " MAML, Meta-SGD and Reptile end in one unit per class of the "
                     "task; Prototypical Networks end in the features they compare.")
    name = st.text_input("Run name (optional)", key=fewshot_views.key("name"), max_chars=200)
    config, problem = None, ""
    try:
        config = RunConfig(kind="fewshot", name=name.strip(), base=network, settings=FewShotConfig(**fields))
    except ConfigError as error:
        config, problem = None, str(error)
    if problem:
        st.error(f"Fix this before launching: {plain(problem)}")
    results.launch_button(store, config, "fewshot")

with watch:
    run_id = fewshot_views.run_to_watch(store, st.session_state.get("fewshot.run_id"), st.query_params.get("run"))
    if run_id is None:
        st.info("Launch a run to watch meta-training here. Every few-shot run is also on the Compare page.")
    else:
        def show_results(run) -> None:
            fewshot_views.finished_run(store, run, common.current_mnist())

        results.watch(store, run_id, "fewshot", show_results, caption=lambda run: fewshot_views.describe(run.config))
