"""Views of few-shot runs: the Few-shot page's settings, a finished run's results, and the Draw
page's "Teach it your handwriting" tab (:func:`draw_tab`).

State lives under ``fewshot.*`` and is set up once per session in :func:`init_state`; picking
another algorithm loads that algorithm's recommended settings (``recommended_settings``). The
learner's network uses the Train page's layer editor (its layers are kept under ``train.fewshot``).
The teach tab's state lives under ``draw.teach.*``. Charts and tables load pandas and plotly when
they are first drawn, so the pages that import this module draw their widgets first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import canvas, common, editor
from dashboard import results as result_views
from dashboard.text import plain
from metalearn_core.config import DATASETS, RunConfig
from metalearn_core.data.domains import DOMAIN_LABELS
from metalearn_core.data.mnist import DataError, MnistData
from metalearn_core.kinds.fewshot.config import FEWSHOT_ALGORITHMS, FewShotConfig, domains_label
from metalearn_core.kinds.fewshot.setup import (
    ALGORITHM_LABELS,
    MAX_EXAMPLES_PER_DIGIT,
    FewShotError,
    fewshot_network,
    recommended_settings,
    teach_support,
)
from metalearn_core.runs.run_files import DamagedFile
from metalearn_core.runs.store import Run, RunStore
from metalearn_core.session import format_seconds

KIND = "fewshot"
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


@st.cache_resource(show_spinner="Loading the few-shot learner…", max_entries=4)
def _learner(run_id: int, folder: str, config_json: str):
    from metalearn_core.kinds.fewshot.run import FewShotModel  # heavy: TensorFlow

    return FewShotModel.load(Path(folder), RunConfig.from_json(config_json))


def learner(run_id: int):
    """A finished few-shot run's learner, loaded once per server."""
    run = common.current_store().get(run_id)
    return _learner(run_id, str(run.folder), run.config_json)


def key(name: str) -> str:
    return f"{PREFIX}.{name}"


def _load(settings: FewShotConfig) -> None:
    for name, value in settings.to_dict().items():
        if name not in ("train_digits", "test_digits", "algorithm", "train_domain", "eval_domain"):
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


DEFAULT_ALGORITHM = "metasgd"  # the best measured in README.md's few-shot table (bench/bench_fewshot.py)


def init_state() -> None:
    """Defaults once per session: Meta-SGD, with its recommended settings, on the 4-block conv network."""
    if key("algorithm") not in st.session_state:
        st.session_state[key("algorithm")] = DEFAULT_ALGORITHM
        st.session_state[key("network")] = "conv"
        _on_algorithm()
        _on_network()
    for name in ("train_domain", "eval_domain"):
        if key(name) not in st.session_state:
            st.session_state[key(name)] = "mnist"


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
        left, right = st.columns(2)
        train_domain = left.selectbox("Meta-train on", DATASETS, key=key("train_domain"), format_func=DOMAIN_LABELS.get)
        eval_domain = right.selectbox("Evaluate on", DATASETS, key=key("eval_domain"), format_func=DOMAIN_LABELS.get)
        st.caption(domains_caption(train_domain, eval_domain))
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
                  evaluation_episodes=int(st.session_state[key("evaluation_episodes")]), seed=int(seed),
                  train_domain=train_domain, eval_domain=eval_domain)
    return network, fields


def sweep_setup(store: RunStore) -> RunConfig:
    """The run a sweep of few-shot runs starts from: this page's settings, drawn on the Sweep page
    (with this page's state). ConfigError when they make no valid run."""
    init_state()
    network, fields = settings_widgets()
    return RunConfig(kind=KIND, base=network, settings=FewShotConfig(**fields))


def domains_caption(train_domain: str, eval_domain: str) -> str:
    """What the two domain choices mean for the run, in plain words."""
    if train_domain == eval_domain:
        return (f"Meta-training uses classes 0-4 of {DOMAIN_LABELS[train_domain]} from the training split; evaluation "
                f"uses classes 5-9 from the test split, 1-shot and 5-shot, so no test class or image is seen in "
                f"meta-training.")
    return (f"Cross-domain: meta-training uses classes 0-4 of {DOMAIN_LABELS[train_domain]}; evaluation uses classes "
            f"5-9 of {DOMAIN_LABELS[eval_domain]} (test split), the very episodes an in-domain run is scored on. It "
            f"asks whether what was learned about learning carries over to a different kind of image.")


def run_to_watch(store: RunStore, chosen: int | None, from_url: str | None) -> int | None:
    """This session's few-shot run, else the URL's, else one still going, else the newest one."""
    return result_views.kind_run_to_watch(store, KIND, chosen, from_url)


def finished_run(store: RunStore, run: Run, data: MnistData) -> None:
    """A finished few-shot run: its outcome, its meta-training curves, then :func:`results_panel`."""
    result_views.status_line(run)
    st.caption(describe(run.config))
    result_views.curves(store, run)
    results_panel(run, data)


def results_panel(run: Run, data: MnistData) -> None:
    """Accuracy with 95% intervals beside the baselines, accuracy per inner step, the episode viewer."""
    from metalearn_core.kinds.fewshot import results as fewshot_results  # heavy: pandas, plotly

    try:
        results = fewshot_results.read_results(run.folder)
    except DamagedFile as error:  # its curves above still show
        st.warning(plain(str(error)))
        return
    if results is None:
        st.info("This run left no few-shot results (it did not finish).")
        return
    columns = st.columns(4)
    summary = run.summary
    columns[0].metric("1-shot accuracy", f"{100 * summary.get('fewshot_1shot', 0):.1f}%")
    columns[1].metric("5-shot accuracy", f"{100 * summary.get('fewshot_5shot', 0):.1f}%")
    columns[2].metric("Meta-iterations", f"{results['iterations']:,}")
    columns[3].metric("Meta-training time", format_seconds(results["meta_train_seconds"]))
    train_domain, eval_domain = fewshot_results.result_domains(results)
    st.markdown(f"**{fewshot_results.domains_caption(results)}**")
    if train_domain != eval_domain:
        st.caption("Across domains the learner meets images unlike any it meta-trained on: compare it with the "
                   "pixel baseline, which needs no training, to see whether meta-learning still helps. An in-domain "
                   f"run evaluated on {DOMAIN_LABELS[eval_domain]} is scored on exactly the same episodes.")
    st.dataframe(fewshot_results.results_table(results), hide_index=True, width="stretch")
    same_episodes_view(run, results)
    st.plotly_chart(fewshot_results.comparison_figure(results), key=f"fewshot.bars.{run.id}",
                    width="stretch")
    if results.get("algorithm") != "protonet":
        st.plotly_chart(fewshot_results.per_step_figure(results), key=f"fewshot.steps.{run.id}",
                        width="stretch")
    if results.get("algorithm") == "metasgd":
        rate_view(run)
    if eval_domain != "mnist":
        try:
            data = common.run_data(eval_domain)
        except DataError as error:
            st.info(f"The episode viewer needs {DOMAIN_LABELS[eval_domain]}, which could not be loaded: {error}")
            return
    episode_viewer(run, results, data, eval_domain)


def same_episodes_view(run: Run, results: dict) -> None:
    """Other finished few-shot runs scored on exactly this run's episodes, beside it (nothing when none)."""
    from metalearn_core.kinds.fewshot import results as fewshot_results  # heavy: pandas, plotly

    others = []
    for other in result_views.runs_of(common.current_store(), KIND, statuses=("completed",)):
        if other.id != run.id:
            try:
                found = fewshot_results.read_results(other.folder)
            except DamagedFile as error:  # that run is left out of the table
                st.warning(plain(str(error)))
                continue
            if found is not None:
                others.append((f"run {other.id}" + (f" · {other.name}" if other.name else ""), found))
    table = fewshot_results.same_episodes_table(results, others)
    if table is None:
        return
    st.markdown("**Scored on the same episodes**")
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("These runs were evaluated on exactly the same tasks as this one (same images, same classes), so their "
               "rows compare fairly. Put an in-domain run beside a cross-domain one to see what crossing domains costs.")


def episode_viewer(run: Run, results: dict, data: MnistData, domain: str = "mnist") -> None:
    """One stored evaluation episode of ``domain`` (``data`` holds its images); for a gradient learner its
    answers after each inner step, for a ProtoNet the embedding space (both computed on demand from the
    saved learner)."""
    from metalearn_core.kinds.fewshot import results as fewshot_results  # heavy: pandas, plotly

    st.markdown(f"**Episode viewer**: the support images ({DOMAIN_LABELS[domain]}) the learner adapted to, and its "
                f"answers on the queries")
    settings = sorted(results["settings"], key=int)
    left, right = st.columns(2)
    shots = left.selectbox("Setting", settings, key=f"fewshot.viewer.shots.{run.id}",
                           format_func=lambda k: f"{k}-shot")
    entries = results["settings"][shots]["viewer"]
    if not entries:
        return
    index = right.selectbox("Episode", range(len(entries)), key=f"fewshot.viewer.episode.{run.id}",
                            format_func=lambda i: f"evaluation episode {i + 1}")
    entry = entries[index]
    view = fewshot_results.episode_view(entry, data, domain=domain)
    steps = ", ".join(f"{100 * a:.0f}%" for a in view.per_step)
    st.caption(f"Query accuracy {100 * view.accuracy:.0f}%" + (f" · before adapting, then after each inner step: "
                                                                 f"{steps}" if len(view.per_step) > 1 else ""))
    st.markdown("Support set")
    st.image(view.support, caption=view.support_captions, width=64)
    from metalearn_core.kinds.fewshot.inside import episode_images  # heavy: TensorFlow

    support_x, support_y, query_x, query_y = episode_images(entry, data)
    noun = "digit" if domain == "mnist" else "class"
    if run.config.settings.algorithm == "protonet":
        _stored_queries(view, noun)
        embedding_view(run.id, support_x, support_y, query_x, view.class_names, query_y)
        return
    try:
        probabilities = _step_probabilities(run.id, str(run.folder), support_x, support_y, query_x, False)
    except FewShotError as error:
        st.info(f"The step-by-step view needs the saved learner: {error}")
        _stored_queries(view, noun)
        return
    _watch_queries(run.id, view, probabilities, query_y, noun)


def _stored_queries(view: Any, noun: str = "digit") -> None:
    st.markdown(f"Queries (✓ right; ✗ wrong: true {noun} → its answer)")
    st.image(view.query, caption=view.query_captions, width=64)


def _watch_queries(run_id: int, view: Any, probabilities: np.ndarray, query_y: np.ndarray, noun: str = "digit") -> None:
    """The queries' answers at the step the slider picks, one query's answers over the steps, the curve."""
    from metalearn_core.kinds.fewshot import inside_figures as fewshot_figures  # heavy: pandas, plotly
    from metalearn_core.kinds.fewshot.inside import step_accuracy  # heavy: TensorFlow

    last = len(probabilities) - 1
    step = st.slider("Inner steps taken on the support set", 0, last, last, key=f"fewshot.viewer.step.{run_id}")
    names = view.class_names
    captions = []
    for position in view.query_positions:
        answer = probabilities[step, position]  # (ways,)
        guess, truth = int(answer.argmax()), int(query_y[position])
        verdict = f"✓ {names[guess]}" if guess == truth else f"✗ {names[truth]} → {names[guess]}"
        captions.append(f"{verdict} ({100 * answer[guess]:.0f}%)")
    st.markdown(f"Queries after {step} inner step{'s' if step != 1 else ''} (✓ right; ✗ wrong: true {noun} → "
                f"its answer; its confidence in brackets)")
    st.image(view.query, caption=captions, width=64)
    st.caption("Step 0 is the meta-learned starting point, before it has seen this episode's examples; each inner "
               "step is one small gradient step on the support images. Move the slider to watch the answers change.")
    left, right = st.columns(2)
    article = "a " if noun == "digit" else ""
    with left:
        chosen = st.selectbox("Follow one query", range(len(view.query_positions)),
                              key=f"fewshot.viewer.query.{run_id}",
                              format_func=lambda i: f"query {i + 1} ({article}{names[int(query_y[view.query_positions[i]])]})")
        position = view.query_positions[chosen]
        st.plotly_chart(fewshot_figures.step_heatmap(probabilities[:, position], names, step, int(query_y[position])),
                        key=f"fewshot.viewer.heatmap.{run_id}", width="stretch")
        st.caption(f"Each row is how sure the learner is of each {noun} for this one query after that many steps; "
                   f"a learner that adapts well moves its belief onto the right {noun} (✓) within a few steps.")
    with right:
        correct, right_probability = step_accuracy(probabilities, query_y)
        st.plotly_chart(fewshot_figures.adaptation_figure(correct, right_probability, step),
                        key=f"fewshot.viewer.curve.{run_id}", width="stretch")
        st.caption("The share of this episode's queries it answers right, and how much probability it gives the "
                   f"right {noun} on average, after each inner step.")


def inner_loop_view(run_id: int, support_x: np.ndarray, support_y: np.ndarray, query_x: np.ndarray,
                    class_names: list[str], prefix: str) -> None:
    """One new image's answer after each inner step (a gradient learner) or the embedding space (ProtoNet).

    Used by the Draw page's teach tab: the query is a drawing, so there is no right answer to mark.
    """
    from metalearn_core import figures  # heavy: pandas, plotly
    from metalearn_core.kinds.fewshot import inside_figures as fewshot_figures  # heavy: pandas, plotly

    if common.current_store().get(run_id).config.settings.algorithm == "protonet":
        embedding_view(run_id, support_x, support_y, query_x, class_names)
        return
    try:
        probabilities = _step_probabilities(run_id, str(common.current_store().run_folder(run_id)),
                                            support_x, support_y, query_x, True)
    except FewShotError as error:
        st.info(f"The step-by-step view needs the saved learner: {error}")
        return
    last = len(probabilities) - 1
    step = st.slider("Inner steps taken on your examples", 0, last, last, key=f"{prefix}.step")
    answer = probabilities[step, 0]  # (n,)
    best = int(answer.argmax())
    left, right = st.columns(2)
    with left:
        st.markdown(f"After **{step}** inner step{'s' if step != 1 else ''}: **{class_names[best]}** "
                    f"({100 * answer[best]:.0f}%)")
        st.html(figures.probabilities_bars_html(answer, labels=class_names))
        st.caption("Step 0 is the meta-learned starting point; each inner step is one small gradient step on your "
                   "examples. Slide to watch the answer change as it adapts.")
    with right:
        st.plotly_chart(fewshot_figures.step_heatmap(probabilities[:, 0], class_names, step),
                        key=f"{prefix}.heatmap", width="stretch")
        st.caption("Each row is how sure it is of each digit after that many steps.")


def embedding_view(run_id: int, support_x: np.ndarray, support_y: np.ndarray, query_x: np.ndarray,
                   class_names: list[str], query_y: np.ndarray | None = None) -> None:
    """ProtoNet: support digits, prototypes and queries in a 2-D PCA of the embedding space."""
    from metalearn_core.kinds.fewshot import inside_figures as fewshot_figures  # heavy: pandas, plotly

    st.info("Prototypical Networks take no inner steps: they turn every image into a point and label a query by "
            "its nearest prototype (the mean point of a digit's examples), so there is no step-by-step adaptation "
            "to watch. Here is the embedding space instead.")
    try:
        projection = _projection(run_id, str(common.current_store().run_folder(run_id)),
                                 support_x, support_y, query_x)
    except FewShotError as error:
        st.info(f"The embedding view needs the saved learner: {error}")
        return
    st.plotly_chart(fewshot_figures.embedding_figure(projection, class_names, query_y),
                    key=f"fewshot.embedding.{run_id}", width="stretch")
    dimensions = projection.pca.n_features_in_
    st.caption(f"Dots are the examples, stars each digit's prototype, crosses the queries coloured by the network's "
               f"answer. The shaded regions belong to the nearest projected prototype, an approximation: the network "
               f"decides by distance in all {dimensions} dimensions, and {100 * projection.agreement():.0f}% of the "
               f"queries lie in the region of the answer it really gave.")


def rate_view(run: Run) -> None:
    """Meta-SGD: the inner learning rates it learned, summarised per layer."""
    from metalearn_core.kinds.fewshot import inside_figures as fewshot_figures  # heavy: pandas, plotly

    st.markdown("**Learned step sizes** (Meta-SGD)")
    try:
        summary = _rate_summary(run.id, str(run.folder))
    except FewShotError as error:
        st.info(f"The learned rates need the saved learner: {error}")
        return
    st.plotly_chart(fewshot_figures.rate_figure(summary), key=f"fewshot.rates.{run.id}", width="stretch")
    shown = summary.drop(columns=["q1", "q3"]).round(4)
    shown["negative share"] = [f"{100 * share:.1f}%" for share in summary["negative share"]]
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(f"Meta-SGD learned its own inner step size for every weight, instead of one fixed rate "
               f"({run.config.settings.inner_lr:g} at the start). Wide boxes mean some weights move much faster than "
               f"others; a negative rate moves a weight against its gradient, which meta-training found useful.")


# Cached views of the saved learner; the folder tells apart runs of the same id in different data homes.
@st.cache_data(max_entries=64, show_spinner="Running the inner loop…")
def _step_probabilities(run_id: int, folder: str, support_x: np.ndarray, support_y: np.ndarray,
                        query_x: np.ndarray, with_support: bool) -> np.ndarray:
    from metalearn_core.kinds.fewshot.inside import step_probabilities  # heavy: TensorFlow

    return step_probabilities(learner(run_id), support_x, support_y, query_x, with_support=with_support)


@st.cache_data(max_entries=32, show_spinner="Projecting the embeddings…")
def _projection(run_id: int, folder: str, support_x: np.ndarray, support_y: np.ndarray, query_x: np.ndarray):
    from metalearn_core.kinds.fewshot.inside import protonet_projection  # heavy: TensorFlow

    return protonet_projection(learner(run_id), support_x, support_y, query_x)


@st.cache_data(max_entries=16, show_spinner=False)
def _rate_summary(run_id: int, folder: str):
    from metalearn_core.kinds.fewshot.inside import rate_summary  # heavy: TensorFlow

    return rate_summary(learner(run_id))


def describe(config: RunConfig) -> str:
    settings = config.settings
    return (f"{ALGORITHM_LABELS[settings.algorithm]}, {settings.ways}-way {settings.shots}-shot training, "
            f"{domains_label(settings)}, {config.base.describe()}")


def results(store: RunStore, run: Run) -> None:
    finished_run(store, run, common.current_mnist())


# -- the Draw page's tab: "Teach it your handwriting" ------------------------------------------------

DRAW_TAB = "Teach it your handwriting (few-shot)"
EXAMPLES = "draw.teach.examples"


def has_initialisation(run: Run) -> bool:
    """Its learner is an initialisation that gradient steps adapt (MAML, first-order MAML, Meta-SGD,
    Reptile), which online learners can start from; a ProtoNet has none."""
    return run.config.settings.algorithm != "protonet"


def learns_from_drawings(run: Run) -> bool:
    """The Draw page's "Learn as you draw" tab can start from this finished run's initialisation."""
    return has_initialisation(run)


def draw_tab(store: RunStore) -> None:
    """Draw a few examples of some digits, adapt a meta-trained learner to them, then see its
    predictions on new drawings beside the unadapted learner's."""
    runs = [run for run in result_views.runs_of(store, KIND, statuses=("completed",)) if not run.config_error]
    if not runs:
        st.info("No finished few-shot run yet: meta-train one on the Few-shot page, then come back to teach it.")
        return
    labels = {run.id: f"#{run.id} · {run.name} ({ALGORITHM_LABELS[run.config.settings.algorithm]}, "
                      f"{100 * run.summary.get('fewshot_1shot', 0):.0f}% 1-shot)" for run in runs}
    run_id = st.selectbox("Meta-trained learner", list(labels), format_func=labels.get, key="draw.teach.run")
    run = store.get(run_id)
    max_ways = run.config.settings.ways if has_initialisation(run) else None
    examples: dict[int, list[np.ndarray]] = st.session_state.setdefault(EXAMPLES, {})
    teach, test = st.columns(2, gap="large")
    with teach:
        st.markdown(f"**1. Teach**: draw 1 to {MAX_EXAMPLES_PER_DIGIT} examples of each of "
                    f"{'2 or more' if max_ways is None else f'2 to {max_ways}'} digits")
        image = canvas.drawing("draw.teach.canvas")
        digit = st.selectbox("This drawing is the digit", range(10), key="draw.teach.digit")
        add, clear = st.columns(2)
        if add.button("Add as an example", disabled=image is None, key="draw.teach.add"):
            if len(examples.get(digit, [])) >= MAX_EXAMPLES_PER_DIGIT:
                st.warning(f"Digit {digit} already has {MAX_EXAMPLES_PER_DIGIT} examples.")
            else:
                examples.setdefault(digit, []).append(image)
        if clear.button("Forget all examples", key="draw.teach.clear"):
            examples.clear()
        for shown_digit in sorted(examples):
            st.image(examples[shown_digit], width=42, caption=[str(shown_digit)] * len(examples[shown_digit]))
    with test:
        taught = _teach_test(run_id, examples, max_ways)
    if taught is not None:
        taught_view(run_id, *taught)


def _teach_test(run_id: int, examples: dict[int, list[np.ndarray]], max_ways: int | None):
    """The test canvas and the answers before and after adapting; returns what :func:`taught_view` needs."""
    from metalearn_core import figures  # heavy: pandas, plotly

    st.markdown("**2. Test**: draw a new digit")
    query = canvas.drawing("draw.teach.query")
    try:
        digits, support_x, support_y = teach_support(examples, max_ways)
    except FewShotError as error:
        st.info(f"To adapt the learner: {error}.")
        return None
    if query is None:
        st.caption(f"Taught digits: {', '.join(map(str, digits))}. The predictions appear when you lift the pen.")
        return None
    try:
        before, after = learner(run_id).adapt_predict(support_x, support_y, query[None])
    except FewShotError as error:
        st.error(plain(str(error)))
        return None
    for title, probabilities in (("After adapting to your examples", after[0]),
                                 ("Before adapting" + (" (nearest centroid on pixels)" if max_ways is None
                                                       else " (the meta-learned initialisation)"), before[0])):
        best = int(np.argmax(probabilities))
        st.markdown(f"**{title}**: **{digits[best]}** ({100 * probabilities[best]:.0f}%)")
        st.html(figures.probabilities_bars_html(probabilities, labels=digits))
    return digits, support_x, support_y, query


def taught_view(run_id: int, digits: list[int], support_x: np.ndarray, support_y: np.ndarray,
                query: np.ndarray) -> None:
    """Under the teach tab's canvases: the taught learner's answer after each inner step, or a ProtoNet's
    embedding space.

    ``support_x``/``support_y`` are the taught examples (labels 0..n-1 for ``digits``), ``query``
    one (28, 28) drawing.
    """
    st.markdown("**3. Watch it adapt**: its answer on your drawing after each inner step")
    inner_loop_view(run_id, support_x, support_y, query[None], [str(d) for d in digits], prefix="draw.teach.inside")
