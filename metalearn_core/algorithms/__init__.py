"""Few-shot learning algorithms: MAML, first-order MAML, Meta-SGD, Reptile, Prototypical Networks,
Meta-Baseline (cosine prototypes on a pre-trained embedding) and the baselines they are compared
with; every gradient-based learner shares one inner-loop step
(:func:`metalearn_core.algorithms.functional.inner_step`). Recommended settings for each method
live in :mod:`metalearn_core.algorithms.defaults`.

Each module is a set of pure functions plus a thin class where state helps; nothing here imports
streamlit. Episodes and the class pools come from :mod:`metalearn_core.episodes`.

The public names are imported on first use (PEP 562), so importing
:mod:`metalearn_core.algorithms.defaults` (plain dataclasses, read by the pages) does not load
TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "embedding_snapshot": "metalearn_core.algorithms.baselines",
    "mean_confidence_interval": "metalearn_core.algorithms.baselines",
    "nearest_centroid_accuracy": "metalearn_core.algorithms.baselines",
    "nearest_centroid_features": "metalearn_core.algorithms.baselines",
    "nearest_centroid_pixels": "metalearn_core.algorithms.baselines",
    "pretrain_classifier": "metalearn_core.algorithms.baselines",
    "NetworkSpec": "metalearn_core.algorithms.functional",
    "adapt": "metalearn_core.algorithms.functional",
    "adaptation_accuracies": "metalearn_core.algorithms.functional",
    "inner_step": "metalearn_core.algorithms.functional",
    "meta_train": "metalearn_core.algorithms.loop",
    "MAML": "metalearn_core.algorithms.maml",
    "MetaBaseline": "metalearn_core.algorithms.meta_baseline",
    "cosine_logits": "metalearn_core.algorithms.meta_baseline",
    "meta_train_meta_baseline": "metalearn_core.algorithms.meta_baseline",
    "MetaSGD": "metalearn_core.algorithms.metasgd",
    "ProtoNet": "metalearn_core.algorithms.protonet",
    "build_embedding": "metalearn_core.algorithms.protonet",
    "compute_prototypes": "metalearn_core.algorithms.protonet",
    "embedding_from_classifier": "metalearn_core.algorithms.protonet",
    "episode_logits": "metalearn_core.algorithms.protonet",
    "meta_train_protonet": "metalearn_core.algorithms.protonet",
    "prototype_logits": "metalearn_core.algorithms.protonet",
    "train_on_episodes": "metalearn_core.algorithms.protonet",
    "Reptile": "metalearn_core.algorithms.reptile",
}
__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_SOURCES])
