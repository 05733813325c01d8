"""The stacked run's diagram: each base learner, then the meta network reading their outputs side by side.

Shapes and counts as :mod:`metalearn_core.kinds.stacked.run` builds the meta network (see
:mod:`metalearn_core.models.diagram` for the parts).

Example:
    >>> diagram(NetworkConfig(()), NetworkConfig(()), {}).layout
    'stacked'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metalearn_core.config import NUM_CLASSES, NetworkConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.models.diagram import Box, Chain, Diagram, ShapeProblem, feature_width, network_chain


def learner_width(learner: LearnerConfig, base: NetworkConfig, meta_input: str) -> int:
    """How many numbers one base learner gives the meta network for each image.

    Ten (probabilities, logits, or a scikit-learn model's log-probabilities or SVM margins), plus
    for a network learner with ``logits+features`` the width of its penultimate features, as
    :func:`metalearn_core.models.networks.feature_model` concatenates them.

    Example:
        >>> seed = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=128)))
        >>> learner_width(LearnerConfig("network"), seed, "logits+features")
        138
    """
    if learner.kind == "network" and meta_input == "logits+features":
        return NUM_CLASSES + feature_width(learner.network or base)
    return NUM_CLASSES


_LEARNER_LABELS = {"random_forest": ("Random forest", "100 decision trees, not weights: no parameters "
                                     "counted"),
                   "svm": ("RBF SVM", "a support vector machine keeps support vectors, not weights: no parameters counted")}


def _learner_chain(learner: LearnerConfig, index: int, base: NetworkConfig, meta_input: str) -> Chain:
    title = learner.label(index).capitalize()
    if learner.kind == "network":
        return network_chain(learner.network or base, title=title)
    label, note = _LEARNER_LABELS[learner.kind]
    what = "probabilities" if meta_input == "probabilities" else "scores"
    return Chain(title, "28×28 image", (Box(learner.kind, label, (NUM_CLASSES,), note=f"10 {what}: {note}"),))


def stacked_diagram(base: NetworkConfig, meta: NetworkConfig, learners: Sequence[LearnerConfig],
                    meta_input: str) -> Diagram:
    """Each base learner, then the meta network reading all their outputs side by side.

    The meta network is ``build_meta_model``: a standardisation (a fixed mean and variance, no
    weights), the meta layers on a vector, then the head.
    """
    chains = [_learner_chain(learner, index, base, meta_input) for index, learner in enumerate(learners)]
    try:
        widths = [learner_width(learner, base, meta_input) for learner in learners]
    except ShapeProblem:
        widths = []
    if not learners or not widths:
        problem = "needs at least one base learner" if not learners else "a base learner's network does not work"
        return Diagram((*chains, Chain("Meta network", "base outputs", problem=problem)), "stacked")
    width = sum(widths)
    inner = network_chain(meta, input_shape=(width,), title="Meta network")
    standardise = Box("standardise", "Standardise", (width,), implicit=True,
                      note="added: a fixed mean and variance per input, measured on the data (no weights)")
    meta_chain = Chain("Meta network", f"{width} numbers", (standardise, *inner.boxes), inner.problem)
    parts = " + ".join(str(w) for w in widths)
    link = (f"The meta network reads {parts} = {width} numbers per image: what each base learner gives "
            f"({meta_input}).")
    return Diagram((*chains, meta_chain), "stacked", link)


def diagram(base: NetworkConfig, meta: NetworkConfig, settings: Mapping[str, Any]) -> Diagram:
    """The ``RunKind.diagram`` hook: :func:`stacked_diagram` of the editors' networks and stacking
    values (``settings``: the section's fields as the Train page gathers them; a missing one takes
    its default)."""
    defaults = StackingConfig()
    return stacked_diagram(base, meta, settings.get("learners", defaults.learners),
                           settings.get("meta_input", defaults.meta_input))
