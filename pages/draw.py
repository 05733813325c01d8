"""Draw: draw a digit (or upload a picture of one) and see what trained models predict."""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard import common, inside_draw, online_draw, teach
from dashboard.text import plain
from metalearn_core import analysis, figures
from metalearn_core.data.drawing import DrawingError, load_image_file, preprocess_canvas
from metalearn_core.predictor import PredictorError

st.set_page_config(page_title="Draw · Meta-learning lab", page_icon="✏️", layout="wide")
st.title("Draw a digit")
common.sidebar()
inside_draw.keep_collections_quick()  # TensorFlow is loaded (the predictor imports it): freeze it once
store = common.current_store()

classify_tab, teach_tab, online_tab = st.tabs(["Classify a digit", "Teach it your handwriting (few-shot)",
                                               "Learn as you draw (online)"])
with online_tab:
    online_draw.online_panel()
with teach_tab:
    teach.teach_panel()
classifiers = analysis.digit_classifier_kinds()  # base and stacked runs
runs = analysis.digit_runs([run for run in store.list_runs(statuses=("completed",)) if not run.config_error and run.kind in classifiers])
if not runs:
    classify_tab.info("No finished runs yet: train a model on the Train page, then come back to draw.")
    st.stop()
labels = {run.id: f"#{run.id} · {run.name} ({run.kind}, {100 * (run.test_accuracy or 0):.2f}%)" for run in runs}
left, right = classify_tab.columns([1, 1], gap="large")
with left:
    first = st.selectbox("Model", list(labels), format_func=labels.get, key="draw.model")
    second = st.selectbox("Compare with (optional)", [None, *labels], key="draw.model2",
                          format_func=lambda run_id: "none" if run_id is None else labels[run_id])
    source = st.radio("Input", ("Draw", "Upload an image"), horizontal=True, key="draw.source")
    image28, problem = None, ""
    if source == "Draw":
        st.caption("Draw one digit with the mouse or a finger; the toolbar under the canvas undoes or clears.")
        canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=280,
                           width=280, drawing_mode="freedraw", key="draw.canvas", return_image_data=True)
        strokes = (canvas.json_data or {}).get("objects", []) if canvas is not None else []
        if canvas is not None and canvas.image_data is not None and strokes:
            try:
                image28 = preprocess_canvas(np.asarray(canvas.image_data))
            except DrawingError as error:
                problem = str(error)
    else:
        upload = st.file_uploader("A PNG or JPEG of one digit", key="draw.upload")
        if upload is not None:
            try:
                image28 = load_image_file(upload.getvalue())
            except DrawingError as error:
                problem = str(error)
    if problem:
        st.error(plain(problem))

inside = None  # the first model's inside views, computed before anything on the right is shown
if image28 is not None:
    try:
        inside = inside_draw.inside_views(common.predictor(first), image28, inside_draw.current_order())
    except PredictorError:  # the reason is said under the prediction
        inside = inside_draw.InsideViews(problem="The inside of this model cannot be shown: its saved model "
                                                 "did not load (see above).")
with right:
    if image28 is None:
        st.info("The prediction appears here as soon as you lift the pen.")
    else:
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

with classify_tab.expander("Inside the model", expanded=True):
    if inside is None:  # shown from the start, so the browser has what it needs to draw the view at pen-up
        inside_draw.show_placeholder()
    else:
        st.markdown(f"**{plain(labels[first])}**")
        inside_draw.show_inside(inside)
