"""Draw page, "Learn as you draw": the model guesses each drawing, you tell it the digit, it learns.

:func:`online_panel` is the tab's content. The learner (weights in memory, one per browser session)
is a :class:`~metalearn_core.kinds.online.drawings.DrawingLearner` started from the chosen run;
"Start over" forgets what it learned. Each taught drawing clears the canvas for the next one.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import canvas, common
from metalearn_core.kinds.online.learners import OnlineError
from metalearn_core.runs.store import Run

PREFIX = "draw.online"
FRESH = 0  # the picker's "a fresh network" (no run)


def key(name: str) -> str:
    return f"{PREFIX}.{name}"


def _starting_runs() -> list[Run]:
    runs = common.current_store().list_runs(statuses=("completed",))
    usable = []
    for run in runs:
        if run.config_error:
            continue
        if run.kind == "base" or (run.kind == "fewshot" and run.config.fewshot.algorithm != "protonet"):
            usable.append(run)
    return usable


def _learner(run_id: int):
    """This session's learner for ``run_id``, started once (and again after "Start over")."""
    from metalearn_core.kinds.online.drawings import DrawingLearner  # TensorFlow: only once the tab is used

    if st.session_state.get(key("run")) != run_id or key("learner") not in st.session_state:
        store = common.current_store()
        folder, config = (None, None) if run_id == FRESH else (store.run_folder(run_id), store.get(run_id).config)
        st.session_state[key("learner")] = DrawingLearner.start(folder, config)
        st.session_state[key("run")] = run_id
    return st.session_state[key("learner")]


def _drawing():
    round_ = st.session_state.setdefault(key("round"), 0)  # a new round clears the canvas
    return canvas.drawing(key(f"canvas.{round_}"), size=240)


def _score(learner) -> None:
    left, right = st.columns(2)
    accuracy = learner.running_accuracy
    left.metric("Right first guesses", "–" if accuracy is None else f"{accuracy:.0%}")
    right.metric("Drawings learned", len(learner.correct))
    if len(learner.correct) >= 2:
        import pandas as pd

        curve = pd.DataFrame({"running accuracy": learner.curve()}, index=range(1, len(learner.correct) + 1))
        st.line_chart(curve, height=160, x_label="drawings taught", y_label="accuracy")
    st.caption("The share of drawings the model got right **before** it was told the digit. It should rise as "
               "it learns your handwriting; one wrong guess early on weighs a lot.")


def online_panel() -> None:
    """Pick a starting network, draw, read its guess, tell it the digit; it learns one step each time."""
    runs = {FRESH: "a fresh network (random weights)", **{run.id: f"run {run.id} · {run.name} ({run.kind})"
                                                         for run in _starting_runs()}}
    run_id = st.selectbox("Start from", list(runs), format_func=runs.get, key=key("start"),
                          help="a base run from the Train page, a MAML / Meta-SGD / Reptile run, or nothing")
    if st.button("Start over", key=key("reset")):
        st.session_state.pop(key("learner"), None)
    try:
        learner = _learner(run_id)
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
                if column.button(str(digit), key=key(f"label.{digit}")):
                    right = learner.teach(digit)
                    st.session_state[key("round")] += 1  # a clean canvas for the next drawing
                    st.toast("Right first time." if right else f"Learned: that was a {digit}.")
                    st.rerun()
        _score(learner)
    st.caption(f"Learning from {learner.source}. Its weights live in this browser session only: nothing is saved.")
