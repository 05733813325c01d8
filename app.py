"""Meta-learning on MNIST: the dashboard's home page (placeholder until the pages land)."""

import streamlit as st

st.set_page_config(page_title="Meta-learning lab", page_icon="🧠", layout="wide")
st.title("Meta-learning lab")
st.write(
    "Configure base and meta networks, train them on MNIST in the background and compare runs. "
    "For now the engine is driven from the command line: `python -m metalearn_core --help`."
)
