"""Home: what the lab is, which data it uses, the latest runs, and the way to each page.

`make run` serves this file; the other pages are the files in pages/.
"""

import streamlit as st

from dashboard import common
from metalearn_core import analysis

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

st.subheader("Pages")
columns = st.columns(3)
columns[0].page_link("pages/train.py", label="Train", icon=":material/model_training:")
columns[0].caption("Build networks layer by layer, launch a run, watch live curves and the confusion matrix.")
columns[1].page_link("pages/compare.py", label="Compare", icon=":material/compare_arrows:")
columns[1].caption("Overlay curves, diff settings and confusion matrices, group seeds, export.")
columns[2].page_link("pages/draw.py", label="Draw", icon=":material/draw:")
columns[2].caption("Draw a digit and see what each trained model predicts.")

st.subheader("Recent runs")
runs = common.current_store().list_runs()[:10]
if runs:
    st.dataframe(analysis.runs_frame(runs)[["id", "name", "kind", "status", "created", "test_accuracy"]],
                 hide_index=True, column_config={"test_accuracy": st.column_config.NumberColumn(format="%.4f")})
else:
    st.info("No runs yet: start one on the Train page.")
