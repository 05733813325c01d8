"""The drawing canvas shared by Draw's tabs: one digit drawn with the mouse or a finger, returned
as MNIST's 28x28 image once there is ink (a drawing that cannot be read says why).

Light: imports no TensorFlow, Keras or pandas. The canvas component itself is declared on the first
drawing: Streamlit declares a component only in a running app, so this module imports anywhere.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.text import plain
from metalearn_core.data.drawing import DrawingError, preprocess_canvas


def drawing(key: str, size: int = 200) -> np.ndarray | None:
    """The drawn digit as a (28, 28) float image in [0, 1], or None while the canvas is empty."""
    from streamlit_drawable_canvas import st_canvas  # runtime: declared inside a running app

    canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", height=size, width=size,
                       drawing_mode="freedraw", key=key, return_image_data=True)
    strokes = (canvas.json_data or {}).get("objects", []) if canvas is not None else []
    if canvas is None or canvas.image_data is None or not strokes:
        return None
    try:
        return preprocess_canvas(np.asarray(canvas.image_data))
    except DrawingError as error:
        st.error(plain(str(error)))
        return None
