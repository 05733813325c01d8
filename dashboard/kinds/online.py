"""Views of online runs: the Online page's stream and learners, a run's live chart and its results,
and the Draw page's "Learn as you draw" tab (:func:`draw_tab`).

State lives under ``online.*``, set up once per session in :func:`init_state`. The live chart and
the finished one are the same figure (:func:`metalearn_core.kinds.online.results.prequential_figure`):
while the run streams its points come from the run store, once it has finished from ``online.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import canvas, common
from dashboard import results as result_views
from dashboard.kinds import fewshot as fewshot_views
from dashboard.text import plain
from metalearn_core.data.mnist import DataError
from metalearn_core.kinds.online import results as online_results
from metalearn_core.kinds.online.config import (
    LEARNER_LABELS,
    LEARNERS,
    META_STEPS,
    STREAM_LABELS,
    STREAMS,
    OnlineConfig,
)
from metalearn_core.runner import cancel
from metalearn_core.runs.run_files import DamagedFile
from metalearn_core.runs.store import Run, RunStore
from metalearn_core.session import format_seconds, progress_view

KIND = "online"
PREFIX = "online"
META_STEP_LABELS = {"sgd": "like the scratch SGD network", "meta-learned": "at its own meta-learned step size"}
CHART_CAPTION = ("Each learner first guesses every example, then learns from it. The thick line is its running "
                 "(prequential) accuracy over all examples so far; the dotted line its accuracy over the recent "
                 "ones, which shows a drift sooner. A higher line that rises sooner learns faster from the stream.")
LEARNER_CAPTIONS = {
    "sgd": "a small dense network, random weights, plain SGD",
    "adam": "the same network and starting weights, Adam",
    "pretrained": "a network already trained on MNIST training images, fine-tuned with SGD as the stream comes",
    "metalearned": "a few-shot run's meta-learned starting weights, adapted after every example. It was "
                   "meta-trained on 5-way tasks, so it gets a 10-way head whose ten columns all start as the mean "
                   "of its 5 meta-learned ones: the same start for every class.",
}


def key(name: str) -> str:
    return f"{PREFIX}.{name}"


def init_state() -> None:
    """The defaults of :class:`OnlineConfig`, once per session."""
    defaults = OnlineConfig()
    for name, value in (("stream", defaults.stream), ("length", defaults.length), ("batch_size", defaults.batch_size),
                        ("max_angle", defaults.max_angle), ("learners", list(defaults.learners)),
                        ("pretrained_run", 0), ("fewshot_run", 0), ("meta_step", defaults.meta_step),
                        ("seed", defaults.seed)):
        if key(name) not in st.session_state:
            st.session_state[key(name)] = value


def _gradient_fewshot_runs(store: RunStore) -> list[Run]:
    """Finished few-shot runs with a meta-learned initialisation: the meta-learned learner's starts."""
    finished = result_views.runs_of(store, fewshot_views.KIND, statuses=("completed",))
    return [run for run in finished if not run.config_error and fewshot_views.has_initialisation(run)]


def _run_picker(label: str, runs: list[Run], none: str, state: str, help_text: str) -> int:
    options = [0, *(run.id for run in runs)]
    names = {run.id: f"run {run.id} · {run.name}" for run in runs}
    if st.session_state[key(state)] not in options:
        st.session_state[key(state)] = 0
    return int(st.selectbox(label, options, key=key(state), format_func=lambda i: names.get(i, none),
                            help=help_text))


def settings_widgets(store: RunStore) -> dict[str, Any]:
    """The stream, its length and batch, the learners and where they start; returns OnlineConfig fields."""
    stream = st.selectbox("Stream", STREAMS, key=key("stream"), format_func=STREAM_LABELS.get)
    left, right = st.columns(2)
    length = left.slider("Examples in the stream", 200, 10_000, step=100, key=key("length"))
    batch = right.slider("Examples per step", 1, 10, key=key("batch_size"),
                         help="1 = learn after every example; more = a small batch at a time")
    angle = st.slider("Rotation at the end of the stream (degrees)", 0, 180, step=15, key=key("max_angle"),
                      disabled=stream != "rotate")
    fewshot_runs = _gradient_fewshot_runs(store)
    available = [name for name in LEARNERS if name != "metalearned" or fewshot_runs]
    st.session_state[key("learners")] = [n for n in st.session_state[key("learners")] if n in available]
    learners = st.multiselect("Learners", available, key=key("learners"), format_func=LEARNER_LABELS.get)
    if not fewshot_runs:
        st.caption("The meta-learned learner needs a finished MAML, Meta-SGD or Reptile run: train one on the "
                   "Few-shot page first.")
    base_runs = result_views.runs_of(store, "base", statuses=("completed",))  # the pre-trained learner's starts
    pretrained = _run_picker("Pre-trained network", base_runs, "pre-train one in the run "
                             "(2,000 MNIST training images, 3 epochs)", "pretrained_run",
                             "a finished base run from the Train page, or a quick one trained in this run")
    fewshot = _run_picker("Meta-learned start", fewshot_runs, "none", "fewshot_run",
                          "the few-shot run whose meta-learned initialisation learns online") if fewshot_runs else 0
    meta_step = st.radio("The meta-learned start steps", META_STEPS, key=key("meta_step"), horizontal=True,
                         format_func=META_STEP_LABELS.get, disabled=not fewshot_runs,
                         help="its own step sizes were meta-learned for a few large steps on 5-25 examples; "
                              "thousands of them in a row can overshoot")
    for name in learners:
        st.caption(f"**{LEARNER_LABELS[name]}**: {LEARNER_CAPTIONS[name]}")
    seed = st.number_input("Seed (the stream's order and the starting weights)", 0, 2**31 - 1, key=key("seed"))
    return dict(stream=stream, length=int(length), batch_size=int(batch), max_angle=float(angle),
                learners=tuple(learners), pretrained_run=pretrained, fewshot_run=fewshot, meta_step=meta_step,
                seed=int(seed),
                report_every=max(int(length) // 60, 1), window=min(200, int(length)))


def stream_preview(settings: OnlineConfig) -> None:
    """Six images of the stream, from its start to its end, with their position (and angle or domain)."""
    from metalearn_core.kinds.online.streams import make_stream  # heavy: SciPy

    try:
        fashion = common.fashion() if settings.stream == "switch" else None
    except DataError as error:
        st.warning(plain(f"The switch stream needs Fashion-MNIST: {error}"))
        return
    stream = make_stream(settings, common.current_mnist(), fashion)
    positions = np.linspace(0, len(stream) - 1, 6).astype(int)
    captions = []
    for position in positions:
        if settings.stream == "rotate":
            captions.append(f"#{position + 1:,} · {stream.angle[position]:.0f}°")
        elif settings.stream == "switch":
            captions.append(f"#{position + 1:,} · {'Fashion' if stream.domain[position] else 'MNIST'}")
        else:
            captions.append(f"#{position + 1:,}")
    st.image([stream.x[p] for p in positions], caption=captions, width=72)
    st.caption("Examples from the start to the end of the stream, as the learners will meet them. "
               "They come from the test split, which no pre-training has seen.")


def run_to_watch(store: RunStore, chosen: int | None, from_url: str | None) -> int | None:
    """This session's online run, else the URL's, else one still going, else the newest one."""
    return result_views.kind_run_to_watch(store, KIND, chosen, from_url)


CHART_TITLE = "Prequential accuracy along the stream"


def _figure(run: Run, curves: dict, title: str = CHART_TITLE):
    settings = run.config.settings
    return online_results.prequential_figure(curves, settings.length, settings.drift_at,
                                     settings.max_angle if settings.stream == "rotate" else 0.0, title)


def live(store: RunStore, run: Run) -> None:
    """Progress, Cancel, and the prequential curves of every learner so far."""
    view = progress_view(run)
    st.progress(view.fraction, text=f"Run {run.id} · {plain(run.name)}: {view.label}")
    left, middle, right = st.columns([2, 2, 1])
    left.metric("Elapsed", format_seconds(view.elapsed))
    middle.metric("Time left", format_seconds(view.remaining))
    if right.button("Cancel", key=key(f"cancel.{run.id}"), type="secondary"):
        cancel(store, run.id)
        st.toast(f"Cancelling run {run.id}…")
    curves = online_results.curves_from_metrics(store.metrics(run.id))
    st.plotly_chart(_figure(run, curves), key=key(f"live.{run.id}"), width="stretch")
    st.caption(CHART_CAPTION)


def watch(store: RunStore, run_id: int) -> None:
    """The live chart, redrawn every second while the run is active, then :func:`results`."""

    @st.fragment(run_every=1.0)
    def watch_run() -> None:
        run = store.get(run_id)
        if run.is_active:
            live(store, run)
            st.session_state[key("was_active")] = True
        elif st.session_state.pop(key("was_active"), False):
            st.rerun()  # once, to stop the one-second refresh
        else:
            results(store, run)

    if store.get(run_id).is_active:
        watch_run()
    else:
        results(store, store.get(run_id))


def _drift_caption(results_data: dict) -> str:
    stream = results_data["stream"]
    if results_data.get("drift_at") is not None:
        return (f"The dashed line is the drift: from example {results_data['drift_at']:,} on the images are "
                "Fashion-MNIST clothes with the same labels 0-9, a new task. 'after drift' is the accuracy on "
                "that second half alone: how quickly each learner re-learns.")
    if stream.get("max_angle"):
        return (f"The digits turn slowly, from 0° to {stream['max_angle']:.0f}° at the end (marked along the "
                "top): a gradual drift. A fixed network would lose accuracy as they turn; an online one follows.")
    return "No drift: the stream is MNIST test digits in a random order."


def results(store: RunStore, run: Run) -> None:
    """A finished online run: its outcome, the prequential chart with the drift marked, and the table."""
    result_views.status_line(run)
    if run.config_error:
        st.error(plain(run.config_error))
        return
    damaged = False
    try:
        results_data = online_results.read_results(run.folder)
    except DamagedFile as error:  # the curves the run streamed to the store still show
        st.warning(plain(str(error)))
        results_data, damaged = None, True
    if results_data is None:
        if run.status == "completed" and not damaged:
            st.error(f"{online_results.RESULTS_FILE} is missing or unreadable in run {run.id}'s folder.")
        else:
            curves = online_results.curves_from_metrics(store.metrics(run.id))
            if curves:
                st.plotly_chart(_figure(run, curves), key=key(f"partial.{run.id}"), width="stretch")
                st.caption("The curves as far as the run got.")
        return
    curves = online_results.curves_from_results(results_data)
    st.plotly_chart(_figure(run, curves), key=key(f"final.{run.id}"), width="stretch")
    st.caption(CHART_CAPTION + " " + _drift_caption(results_data))
    st.dataframe(_table(results_data), hide_index=True, width="stretch")
    st.caption("final: accuracy of the first guesses over the whole stream. AUC: the mean of the running accuracy, "
               "i.e. the area under its curve (1.0 = right from the first example). The others: the last "
               f"{results_data['window']} examples, each half of a switching stream, and examples learned per second.")


def _table(results_data: dict):
    import pandas as pd  # heavy: pandas

    frame = pd.DataFrame(online_results.results_rows(results_data))
    for column in frame.columns:
        if column not in ("learner", "examples_per_second"):
            frame[column] = frame[column].map(lambda v: None if v is None else f"{v:.1%}")
    if "examples_per_second" in frame:
        frame["examples_per_second"] = frame["examples_per_second"].map(lambda v: f"{v:,.0f}")
    return frame.rename(columns={"auc": "AUC", "before_drift": "before drift",
                                 "after_drift": "after drift", "examples_per_second": "examples/s"})


# -- the Draw page's tab: "Learn as you draw" --------------------------------------------------------
# The model guesses each drawing, you tell it the digit, it learns. The learner (weights in memory, one
# per browser session) is a DrawingLearner started from the chosen run; "Start over" forgets what it
# learned. Each taught drawing clears the canvas for the next one.

DRAW_TAB = "Learn as you draw (online)"
DRAW_PREFIX = "draw.online"
FRESH = 0  # the picker's "a fresh network" (no run)


def _draw_key(name: str) -> str:
    return f"{DRAW_PREFIX}.{name}"


def _starting_runs(store: RunStore) -> list[Run]:
    """Finished runs whose kind's views say this tab can start from them (their ``learns_from_drawings``)."""
    from dashboard.kinds import learns_from_drawings  # cycle: dashboard.kinds imports this module first

    return [run for run in store.list_runs(statuses=("completed",)) if learns_from_drawings(run)]


def _learner(store: RunStore, run_id: int):
    """This session's learner for ``run_id``, started once (and again after "Start over")."""
    from metalearn_core.kinds.online.drawings import DrawingLearner  # heavy: TensorFlow, once the tab is used

    if st.session_state.get(_draw_key("run")) != run_id or _draw_key("learner") not in st.session_state:
        folder, config = (None, None) if run_id == FRESH else (store.run_folder(run_id), store.get(run_id).config)
        st.session_state[_draw_key("learner")] = DrawingLearner.start(folder, config)
        st.session_state[_draw_key("run")] = run_id
    return st.session_state[_draw_key("learner")]


def _drawing():
    round_ = st.session_state.setdefault(_draw_key("round"), 0)  # a new round clears the canvas
    return canvas.drawing(_draw_key(f"canvas.{round_}"), size=240)


def _score(learner) -> None:
    left, right = st.columns(2)
    accuracy = learner.running_accuracy
    left.metric("Right first guesses", "–" if accuracy is None else f"{accuracy:.0%}")
    right.metric("Drawings learned", len(learner.correct))
    if len(learner.correct) >= 2:
        import pandas as pd  # heavy: pandas

        curve = pd.DataFrame({"running accuracy": learner.curve()}, index=range(1, len(learner.correct) + 1))
        st.line_chart(curve, height=160, x_label="drawings taught", y_label="accuracy")
    st.caption("The share of drawings the model got right **before** it was told the digit. It should rise as "
               "it learns your handwriting; one wrong guess early on weighs a lot.")


def draw_tab(store: RunStore) -> None:
    """Pick a starting network, draw, read its guess, tell it the digit; it learns one step each time."""
    from metalearn_core.kinds.online.learners import OnlineError  # heavy: TensorFlow

    runs = {FRESH: "a fresh network (random weights)", **{run.id: f"run {run.id} · {run.name} ({run.kind})"
                                                         for run in _starting_runs(store)}}
    run_id = st.selectbox("Start from", list(runs), format_func=runs.get, key=_draw_key("start"),
                          help="a base run from the Train page, a MAML / Meta-SGD / Reptile run, or nothing")
    if st.button("Start over", key=_draw_key("reset")):
        st.session_state.pop(_draw_key("learner"), None)
    try:
        learner = _learner(store, run_id)
    except (OnlineError, ValueError) as error:
        st.error(f"This run's network cannot learn from drawings: {error}")
        return
    draw, answer = st.columns(2, gap="large")
    with draw:
        st.caption("Draw one digit. The model guesses first, then you tell it the right digit and it learns "
                   "from that drawing (one small step), so the next guesses follow your handwriting.")
        image = _drawing()
    with answer:
        if image is None:
            st.info("Draw a digit to see the model's guess.")
        else:
            probabilities = learner.guess(image)
            guess = int(np.argmax(probabilities))
            st.markdown(f"**Guess: {guess}** ({probabilities[guess]:.0%} sure)")
            st.bar_chart({"probability": probabilities.tolist()}, height=150, x_label="digit")
            st.markdown("**The right digit is:**")
            for digit, column in enumerate(st.columns(10)):
                if column.button(str(digit), key=_draw_key(f"label.{digit}")):
                    right = learner.teach(digit)
                    st.session_state[_draw_key("round")] += 1  # a clean canvas for the next drawing
                    st.toast("Right first time." if right else f"Learned: that was a {digit}.")
                    st.rerun()
        _score(learner)
    st.caption(f"Learning from {learner.source}. Its weights live in this browser session only: nothing is saved.")
