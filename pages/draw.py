"""Draw: draw a digit (or upload a picture of one) and see what trained models predict.

The title, the model pickers and the canvas come first, from light modules; TensorFlow loads once a
drawing needs a model (the prediction and the inside views), or when a kind's tab starts a learner.
Only the open tab runs: a hidden one loads nothing.
"""

import numpy as np
import streamlit as st

from dashboard import canvas, common, inside_draw
from dashboard.kinds import draw_tabs
from dashboard.text import plain
from metalearn_core import kinds
from metalearn_core.data.drawing import DrawingError, load_image_file
from metalearn_core.runs.store import Run


def drawn_or_uploaded() -> np.ndarray | None:
    """The digit to classify, as MNIST's 28x28 image: drawn on the canvas or read from an upload."""
    if st.radio("Input", ("Draw", "Upload an image"), horizontal=True, key="draw.source") == "Draw":
        st.caption("Draw one digit with the mouse or a finger; the toolbar under the canvas undoes or clears.")
        return canvas.drawing("draw.canvas", size=280)
    upload = st.file_uploader("A PNG or JPEG of one digit", key="draw.upload")
    if upload is None:
        return None
    try:
        return load_image_file(upload.getvalue())
    except DrawingError as error:
        st.error(plain(str(error)))
        return None


def classify(runs: list[Run]) -> None:
    """Pick a model (and one to compare), draw, then read each one's answer and look inside the first."""
    labels = {run.id: f"#{run.id} · {run.name} ({run.kind}, {100 * (run.test_accuracy or 0):.2f}%)" for run in runs}
    left, right = st.columns([1, 1], gap="large")
    with left:
        first = st.selectbox("Model", list(labels), format_func=labels.get, key="draw.model")
        second = st.selectbox("Compare with (optional)", [None, *labels], key="draw.model2",
                              format_func=lambda run_id: "none" if run_id is None else labels[run_id])
        image28 = drawn_or_uploaded()
    inside_view = st.expander("Inside the model", expanded=True)  # open from the start: ready at pen-up
    if image28 is None:
        right.info("The prediction appears here as soon as you lift the pen.")
        with inside_view:
            inside_draw.show_placeholder()
        return

    # A drawing: from here on the models, and TensorFlow with them (loaded once per server).
    from metalearn_core import figures  # heavy: pandas, plotly
    from metalearn_core.models.predictor import PredictorError  # heavy: Keras

    try:  # the first model's inside views, computed before anything on the right is shown
        inside = inside_draw.inside_views(common.predictor(first), image28, inside_draw.current_order())
    except PredictorError:  # the reason is said under the prediction
        inside = inside_draw.InsideViews(problem="The inside of this model cannot be shown: its saved model "
                                                 "did not load (see above).")
    with right:
        st.image(image28, caption="What the model sees: 28x28, centred like MNIST", width=140, clamp=True)
        for run_id in [first, second] if second not in (None, first) else [first]:
            try:
                predictor = common.predictor(run_id)
            except PredictorError as error:
                st.error(plain(error))
                continue
            probabilities = predictor.predict_proba(image28[None])[0]
            digit = int(np.argmax(probabilities))
            st.markdown(f"**{plain(labels[run_id])}** predicts **{digit}** ({100 * probabilities[digit]:.1f}%)")
            st.html(figures.probabilities_bars_html(probabilities))
    with inside_view:
        st.markdown(f"**{plain(labels[first])}**")
        inside_draw.show_inside(inside)


st.set_page_config(page_title="Draw · Meta-learning lab", page_icon="✏️", layout="wide")
st.title("Draw a digit")
common.sidebar(data=False)
store = common.current_store()
kind_tabs = draw_tabs()  # few-shot's "Teach it your handwriting", online's "Learn as you draw"
classify_tab, *other_tabs = st.tabs(["Classify a digit", *(label for label, _ in kind_tabs)], key="draw.tab",
                                    on_change="rerun")  # each tab's `.open` says whether it is the one shown
if classify_tab.open:
    classifiers = [kind.name for kind in kinds.all_kinds() if kind.classifies_digits]  # base and stacked runs
    runs = [run for run in store.list_runs(statuses=("completed",)) if not run.config_error
            and run.kind in classifiers and run.config.training.dataset == "mnist"]  # not Fashion-MNIST's
    with classify_tab:
        if runs:
            classify(runs)
        else:
            st.info("No finished runs yet: train a model on the Train page, then come back to draw.")
for tab, (_, show_tab) in zip(other_tabs, kind_tabs):
    if tab.open:
        with tab:
            show_tab(store)
common.data_notice()  # after the page's widgets: it loads MNIST
inside_draw.keep_collections_quick()  # last: after whichever view loaded TensorFlow
