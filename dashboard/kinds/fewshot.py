"""Widgets of the Few-shot page: the learner's settings, and a finished run's results.

State lives under ``fewshot.*`` and is set up once per session in :func:`init_state`; picking
another algorithm loads that algorithm's recommended settings (``recommended_settings``). The
learner's network uses the Train page's layer editor (its layers are kept under ``train.fewshot``).
"""

from __future__ import annotations

import streamlit as st

from dashboard import common, editor
from dashboard import results as result_views
from metalearn_core.config import RunConfig
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.fewshot import report as fewshot_report
from metalearn_core.kinds.fewshot.config import FEWSHOT_ALGORITHMS, FewShotConfig
from metalearn_core.kinds.fewshot.setup import (
    ALGORITHM_LABELS,
    fewshot_network,
    read_results,
    recommended_settings,
)
from metalearn_core.runs.store import Run, RunStore
from metalearn_core.session import format_seconds

PREFIX = "fewshot"
NETWORK = "fewshot"  # editor key: train.fewshot
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2, 0.4, 0.5, 1.0]
DESCRIPTIONS = {
    "protonet": "embeds images and labels a query by its nearest class mean (Snell et al. 2017)",
    "maml": "learns an initialisation that a few gradient steps adapt to a new task, "
            "back-propagating through those steps (second order, Finn et al. 2017)",
    "fomaml": "MAML without the second-order terms: cheaper, usually close (Finn et al. 2017, §5.2)",
    "metasgd": "MAML that also learns a learning rate for every parameter (Li et al. 2017)",
    "reptile": "moves the initialisation towards the weights reached by ordinary training on each task "
               "(Nichol et al. 2018)",
}


def key(name: str) -> str:
    return f"{PREFIX}.{name}"


def _load(settings: FewShotConfig) -> None:
    for name, value in settings.to_dict().items():
        if name not in ("train_digits", "test_digits", "algorithm"):
            st.session_state[key(name)] = value
    for rate in (settings.inner_lr, settings.meta_learning_rate):
        if rate not in LEARNING_RATES:
            LEARNING_RATES.append(rate)
            LEARNING_RATES.sort()


def _on_algorithm() -> None:
    algorithm = st.session_state[key("algorithm")]
    _load(FewShotConfig(algorithm=algorithm, **recommended_settings(algorithm)))


def _on_network() -> None:
    kind = st.session_state[key("network")]
    st.session_state[editor.key(NETWORK)] = editor._with_ids(fewshot_network(kind).layers)


def init_state() -> None:
    """Defaults once per session: Prototypical Networks on the 4-block conv network."""
    if key("algorithm") not in st.session_state:
        st.session_state[key("algorithm")] = "protonet"
        st.session_state[key("network")] = "conv"
        _on_algorithm()
        _on_network()


def settings_widgets() -> tuple[str, dict]:
    """The algorithm, its network, episodes and meta-training settings; returns (name, FewShotConfig fields)."""
    algorithm = st.selectbox("Algorithm", FEWSHOT_ALGORITHMS, key=key("algorithm"), on_change=_on_algorithm,
                             format_func=ALGORITHM_LABELS.get)
    st.caption(DESCRIPTIONS[algorithm])
    gradient = algorithm != "protonet"
    network_tab, episode_tab, meta_tab = st.tabs(["Learner network", "Episodes", "Meta-training"])
    with episode_tab:
        left, right = st.columns(2)
        ways = left.slider("Ways (classes per episode)", 2, 5, key=key("ways"))
        shots = left.slider("Shots (examples per class) in training", 1, 10, key=key("shots"))
        queries = left.slider("Queries per class", 1, 30, key=key("queries"))
        train_ways = right.slider("Training ways (ProtoNet)", 2, 20, key=key("train_ways"), disabled=gradient,
                                  help="Snell et al. train with more classes per episode than they test with")
        rotations = right.checkbox("Rotations of the training digits as extra classes", key=key("rotations"),
                                   help="0-4 plus their 90/180/270° rotations: 20 training classes")
        st.caption("Meta-training uses digits 0-4 from the training split; evaluation uses digits 5-9 from the "
                   "test split, 1-shot and 5-shot, so no test digit or image is seen in meta-training.")
    with meta_tab:
        left, right = st.columns(2)
        inner_lr = left.select_slider("Inner learning rate", LEARNING_RATES, key=key("inner_lr"), disabled=not gradient)
        inner_steps = left.slider("Inner steps (training)", 1, 10, key=key("inner_steps"), disabled=not gradient)
        eval_steps = left.slider("Inner steps (evaluation)", 1, 20, key=key("eval_inner_steps"), disabled=not gradient)
        meta_lr = right.select_slider("Meta learning rate" + (" (outer step ε)" if algorithm == "reptile" else ""),
                                      LEARNING_RATES, key=key("meta_learning_rate"))
        meta_batch = right.slider("Meta-batch (tasks per update)", 1, 16, key=key("meta_batch_size"),
                                  disabled=not gradient)
        iterations = right.number_input("Meta-iterations (at most)", 1, 1_000_000, step=100, key=key("iterations"))
        budget = left.slider("Time budget (seconds, 0 = none)", 0, 1800, step=10, key=key("time_budget"))
        baseline = right.slider("Pre-train baseline (seconds, 0 = skip)", 0, 600, step=10, key=key("baseline_seconds"))
        left.slider("Validate every (iterations)", 10, 1000, step=10, key=key("validation_every"))
        right.slider("Evaluation episodes per setting", 20, 600, step=20, key=key("evaluation_episodes"))
        seed = left.number_input("Seed", 0, 2**31 - 1, key=key("seed"))
    with network_tab:
        st.radio("Start from", ("conv", "dense"), key=key("network"), on_change=_on_network, horizontal=True,
                 format_func={"conv": "Few-shot conv (4 blocks, the papers' network)", "dense": "Few-shot dense"}.get)
        network = editor.network_editor(NETWORK, "Learner network", "reads the 28x28 image")
    fields = dict(algorithm=algorithm, ways=int(ways), shots=int(shots), queries=int(queries),
                  train_ways=int(train_ways), rotations=bool(rotations), inner_lr=float(inner_lr),
                  inner_steps=int(inner_steps), eval_inner_steps=int(eval_steps), meta_learning_rate=float(meta_lr),
                  meta_batch_size=int(meta_batch), iterations=int(iterations), time_budget=float(budget),
                  baseline_seconds=float(baseline), validation_every=int(st.session_state[key("validation_every")]),
                  evaluation_episodes=int(st.session_state[key("evaluation_episodes")]), seed=int(seed))
    return network, fields


def run_to_watch(store: RunStore, chosen: int | None, from_url: str | None) -> int | None:
    """This session's few-shot run, else the URL's, else one still going, else the newest one."""
    runs = [run for run in store.list_runs() if run.kind == "fewshot"]  # newest first
    ids = [run.id for run in runs]
    for candidate in (chosen, from_url):
        if candidate is not None and str(candidate).isdigit() and int(candidate) in ids:
            return int(candidate)
    active = [run.id for run in runs if run.is_active]
    return (active or ids or [None])[0]


def finished_run(store: RunStore, run: Run, data: MnistData) -> None:
    """A finished few-shot run: its outcome, its meta-training curves, then :func:`results_panel`."""
    result_views.status_line(run)
    st.caption(describe(run.config))
    result_views.curves(store, run)
    results_panel(run, data)


def results_panel(run: Run, data: MnistData) -> None:
    """Accuracy with 95% intervals beside the baselines, accuracy per inner step, the episode viewer."""
    results = read_results(run.folder)
    if results is None:
        st.info("This run left no few-shot results (it did not finish).")
        return
    columns = st.columns(4)
    summary = run.summary
    columns[0].metric("1-shot accuracy", f"{100 * summary.get('fewshot_1shot', 0):.1f}%")
    columns[1].metric("5-shot accuracy", f"{100 * summary.get('fewshot_5shot', 0):.1f}%")
    columns[2].metric("Meta-iterations", f"{results['iterations']:,}")
    columns[3].metric("Meta-training time", format_seconds(results["meta_train_seconds"]))
    st.dataframe(fewshot_report.results_table(results), hide_index=True, use_container_width=True)
    st.plotly_chart(fewshot_report.comparison_figure(results), key=f"fewshot.bars.{run.id}",
                    use_container_width=True)
    if results.get("algorithm") != "protonet":
        st.plotly_chart(fewshot_report.per_step_figure(results), key=f"fewshot.steps.{run.id}",
                        use_container_width=True)
    episode_viewer(run, results, data)


def episode_viewer(run: Run, results: dict, data: MnistData) -> None:
    st.markdown("**Episode viewer**: the support digits the learner adapted to, and its answers on the queries")
    settings = sorted(results["settings"], key=int)
    left, right = st.columns(2)
    shots = left.selectbox("Setting", settings, key=f"fewshot.viewer.shots.{run.id}",
                           format_func=lambda k: f"{k}-shot")
    entries = results["settings"][shots]["viewer"]
    if not entries:
        return
    index = right.selectbox("Episode", range(len(entries)), key=f"fewshot.viewer.episode.{run.id}",
                            format_func=lambda i: f"evaluation episode {i + 1}")
    view = fewshot_report.episode_view(entries[index], data)
    steps = ", ".join(f"{100 * a:.0f}%" for a in view.per_step)
    st.caption(f"Query accuracy {100 * view.accuracy:.0f}%" + (f" · before adapting, then after each inner step: "
                                                                 f"{steps}" if len(view.per_step) > 1 else ""))
    st.markdown("Support set")
    st.image(view.support, caption=view.support_captions, width=64)
    st.markdown("Queries (✓ right, ✗ wrong)")
    st.image(view.query, caption=view.query_captions, width=64)


def describe(config: RunConfig) -> str:
    settings = config.fewshot
    return (f"{ALGORITHM_LABELS[settings.algorithm]}, {settings.ways}-way {settings.shots}-shot training, "
            f"{config.base.describe()}")


def results(store: RunStore, run: Run) -> None:
    finished_run(store, run, common.current_mnist())
