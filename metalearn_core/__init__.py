"""metalearn_core: everything the meta-learning dashboard computes, free of any UI.

Configuration (``config``), data (``data``), models (``models``), training (``training``),
stacking (``stacking``), evaluation (``evaluation``), the run store (``store``), the background
runner (``runner``, ``worker``) and the command line (``cli``). Nothing here imports streamlit.
"""

__version__ = "0.1.0"
