"""Few-shot learning algorithms: MAML, first-order MAML, Meta-SGD, Reptile, Prototypical Networks,
Meta-Baseline (cosine prototypes on a pre-trained embedding) and the baselines they are compared
with; every gradient-based learner shares one inner-loop step
(:func:`metalearn_core.kinds.fewshot.algorithms.functional.inner_step`). Recommended settings for each method
live in :mod:`metalearn_core.kinds.fewshot.algorithms.defaults`.

Each module is a set of pure functions plus a thin class where state helps; nothing here imports
streamlit. Episodes and the class pools come from :mod:`metalearn_core.kinds.fewshot.episodes`.

Import from the modules themselves (``from metalearn_core.kinds.fewshot.algorithms.maml import MAML``):
this package's face stays empty, so reading :mod:`metalearn_core.kinds.fewshot.algorithms.defaults`
(plain dataclasses, read by the pages) loads no TensorFlow.
"""
