"""Home: what the lab is, which data it uses, the latest runs, and the way to each page.

`make run` serves this file; the other pages are the files in pages/. The table of recent runs is
the one part that loads pandas, after everything above it is drawn.
"""

import streamlit as st

from dashboard import classroom, common

st.set_page_config(page_title="Meta-learning lab", page_icon="🧠", layout="wide")
common.sidebar(data=False)

st.title("Meta-learning lab")
st.write(
    "Learn how machines *learn to learn* on handwritten digits: configure a base network and a meta "
    "network layer by layer, train them on MNIST in the background and watch them learn live. "
    "Compare runs side by side and draw your own digits to see what each model predicts."
)

try:
    data = common.current_mnist()
    if data.is_sample:
        st.warning(data.notice)
    else:
        st.success(data.describe())
except Exception as error:  # noqa: BLE001 - a bad data setting is shown, not raised
    st.error(f"MNIST could not be loaded: {error}")
level, fashion_line = common.fashion_line()  # a second domain; the rest of the app works without it
getattr(st, level)(fashion_line)

st.subheader("Pages")
CAPTIONS = {
    "pages/train.py": "Build networks layer by layer, see their shapes and parameters, launch a run, watch live "
                      "curves.",
    "pages/compare.py": "Overlay curves, diff settings and confusion matrices, group seeds, export.",
    "pages/sweep.py": "Let the lab try many settings for you (Optuna), stop poor trials early, see which settings "
                      "matter.",
    "pages/fewshot.py": "Meta-train a learner on digits 0-4, then watch it learn 5-9 from one or five examples.",
    "pages/online.py": "Learn from a stream, one example at a time, scored before each is learned; with drift.",
    "pages/draw.py": "Draw a digit and see what each trained model predicts, or teach a few-shot learner your "
                     "handwriting.",
}
pages = [page for page in common.PAGES if page[0] in CAPTIONS]  # every page but this one
for column, (path, label, icon) in zip(st.columns(len(pages)), pages):
    column.page_link(path, label=label, icon=icon)
    column.caption(CAPTIONS[path])

st.subheader("Recent runs")
runs = common.current_store().list_runs()[:10]
if runs:
    from metalearn_core import analysis  # pandas: the table

    columns = ["id", "name", "kind", "status", "created", "test_accuracy"] + (["owner"] if classroom.enabled() else [])
    st.dataframe(analysis.runs_frame(runs)[columns],
                 hide_index=True, column_config={"test_accuracy": st.column_config.NumberColumn(format="%.4f")})
else:
    st.info("No runs yet: start one on the Train page.")
