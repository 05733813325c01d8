"""Draw page, "Teach it your handwriting": draw a few examples of some digits, adapt a meta-trained
few-shot learner to them, then see its predictions on new drawings beside the unadapted learner's."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import canvas, common
from dashboard.kinds import fewshot as fewshot_views
from dashboard.text import plain
from metalearn_core import figures
from metalearn_core.kinds.fewshot.setup import (
    ALGORITHM_LABELS,
    MAX_EXAMPLES_PER_DIGIT,
    FewShotError,
    teach_support,
)

EXAMPLES = "draw.teach.examples"


def teach_panel() -> None:
    store = common.current_store()
    runs = [run for run in store.list_runs(statuses=("completed",)) if run.kind == "fewshot" and not run.config_error]
    if not runs:
        st.info("No finished few-shot run yet: meta-train one on the Few-shot page, then come back to teach it.")
        return
    labels = {run.id: f"#{run.id} · {run.name} ({ALGORITHM_LABELS[run.config.fewshot.algorithm]}, "
                      f"{100 * run.summary.get('fewshot_1shot', 0):.0f}% 1-shot)" for run in runs}
    run_id = st.selectbox("Meta-trained learner", list(labels), format_func=labels.get, key="draw.teach.run")
    settings = store.get(run_id).config.fewshot
    max_ways = None if settings.algorithm == "protonet" else settings.ways
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
        taught = _test(run_id, examples, max_ways)
    if taught is not None:
        inside_view(run_id, *taught)


def _test(run_id: int, examples: dict[int, list[np.ndarray]], max_ways: int | None):
    """The test canvas and the answers before and after adapting; returns what :func:`inside_view` needs."""
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
        before, after = common.fewshot_model(run_id).adapt_predict(support_x, support_y, query[None])
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


def inside_view(run_id: int, digits: list[int], support_x: np.ndarray, support_y: np.ndarray,
                query: np.ndarray) -> None:
    """Under the canvases: the taught learner's answer after each inner step, or a ProtoNet's embedding space.

    ``support_x``/``support_y`` are the taught examples (labels 0..n-1 for ``digits``), ``query``
    one (28, 28) drawing.
    """
    st.markdown("**3. Watch it adapt**: its answer on your drawing after each inner step")
    fewshot_views.inner_loop_view(run_id, support_x, support_y, query[None], [str(d) for d in digits],
                                  prefix="draw.teach.inside")
