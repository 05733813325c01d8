"""Few-shot learning algorithms: MAML, first-order MAML, Meta-SGD, Reptile, Prototypical Networks,
Meta-Baseline (cosine prototypes on a pre-trained embedding) and the baselines they are compared
with; every gradient-based learner shares one inner-loop step
(:func:`metalearn_core.kinds.fewshot.algorithms.functional.inner_step`). Recommended settings for each method
live in :mod:`metalearn_core.kinds.fewshot.algorithms.defaults`.

Each module is a set of pure functions plus a thin class where state helps; nothing here imports
streamlit. Episodes and the class pools come from :mod:`metalearn_core.kinds.fewshot.episodes`.

The public names are imported on first use (PEP 562), so importing
:mod:`metalearn_core.kinds.fewshot.algorithms.defaults` (plain dataclasses, read by the pages) does not load
TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "embedding_snapshot": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "mean_confidence_interval": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "nearest_centroid_accuracy": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "nearest_centroid_features": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "nearest_centroid_pixels": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "pretrain_classifier": "metalearn_core.kinds.fewshot.algorithms.baselines",
    "NetworkSpec": "metalearn_core.kinds.fewshot.algorithms.functional",
    "adapt": "metalearn_core.kinds.fewshot.algorithms.functional",
    "adaptation_accuracies": "metalearn_core.kinds.fewshot.algorithms.functional",
    "inner_step": "metalearn_core.kinds.fewshot.algorithms.functional",
    "meta_train": "metalearn_core.kinds.fewshot.algorithms.loop",
    "MAML": "metalearn_core.kinds.fewshot.algorithms.maml",
    "MetaBaseline": "metalearn_core.kinds.fewshot.algorithms.meta_baseline",
    "cosine_logits": "metalearn_core.kinds.fewshot.algorithms.meta_baseline",
    "meta_train_meta_baseline": "metalearn_core.kinds.fewshot.algorithms.meta_baseline",
    "MetaSGD": "metalearn_core.kinds.fewshot.algorithms.metasgd",
    "ProtoNet": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "build_embedding": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "compute_prototypes": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "embedding_from_classifier": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "episode_logits": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "meta_train_protonet": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "prototype_logits": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "train_on_episodes": "metalearn_core.kinds.fewshot.algorithms.protonet",
    "Reptile": "metalearn_core.kinds.fewshot.algorithms.reptile",
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
