"""Inside a stacked run's meta network: which base learner it listens to, for which digit.

The meta network reads the base learners' outputs side by side (Wolpert 1992): per learner its
class probabilities or logits (one input per class), and with ``meta_input="logits+features"`` a
network learner's penultimate features after them. Inputs are standardised first, so the weights
of its first Dense layer are comparable across learners. :func:`meta_weights` reads that layer's
kernel (inputs, units) and names every input; :func:`trust_matrix` summarises it as the mean
absolute weight per (learner, class) input. When the meta network has no hidden layers its first
Dense layer is the logits layer and the kernel reads (input, output class) directly: a
block-diagonal pattern means it follows each learner's own vote.

Example:
    >>> predictor = load_predictor(run.folder, run.config)  # doctest: +SKIP
    >>> weights = meta_weights(predictor, [l.label(i) for i, l in enumerate(run.config.settings.learners)])  # doctest: +SKIP
    >>> weights.kernel.shape, weights.labels[:2]  # doctest: +SKIP
    ((20, 10), ['base 1 (network) · 0', 'base 1 (network) · 1'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURES = "features"


@dataclass(frozen=True)
class MetaInput:
    """One input of the meta network: a learner's score for class ``index``, or its feature ``index``."""

    learner: str
    part: str  # "class" or "feature"
    index: int

    @property
    def label(self) -> str:
        return f"{self.learner} · {self.index}" if self.part == "class" else f"{self.learner} · feature {self.index}"


@dataclass(frozen=True)
class MetaWeights:
    """The meta network's first Dense kernel with every input (row) named."""

    kernel: np.ndarray  # (inputs, units)
    inputs: tuple[MetaInput, ...]
    learners: tuple[str, ...]
    layer: str  # the Keras layer's name; "logits" when the meta network has no hidden layers
    meta_input: str

    @property
    def is_output(self) -> bool:
        """Whether the first Dense layer is the logits layer, its units the 10 output classes."""
        return self.layer == "logits"

    @property
    def labels(self) -> list[str]:
        return [column.label for column in self.inputs]


def learner_inputs(label: str, classes: Sequence[int], features: int) -> tuple[MetaInput, ...]:
    """The inputs one learner gives the meta network: a score per class, then ``features`` features.

    Example:
        >>> [column.label for column in learner_inputs("b", [0, 1], 1)]
        ['b · 0', 'b · 1', 'b · feature 0']
    """
    return (tuple(MetaInput(label, "class", int(c)) for c in classes)
            + tuple(MetaInput(label, "feature", k) for k in range(features)))


def learner_shape(learner: Any) -> tuple[list[int], int]:
    """(classes it scores, penultimate features it adds) of a fitted learner (``FittedLearner``).

    A network scores one class per logits unit and adds its penultimate features (the logits layer's
    inputs) under ``logits+features``; a scikit-learn model scores the classes it saw in training.
    """
    model = learner.model
    if hasattr(model, "get_layer"):
        kernel = model.get_layer("logits").kernel  # (features, classes)
        features = int(kernel.shape[0]) if learner.meta_input == "logits+features" else 0
        return list(range(int(kernel.shape[1]))), features
    return [int(c) for c in model.classes_], 0


def first_dense(meta_model: Any) -> Any:
    """The first Dense layer of the meta network (inside its ``meta_inner`` part when there is one)."""
    import keras  # heavy: Keras

    names = [layer.name for layer in meta_model.layers]
    inner = meta_model.get_layer("meta_inner") if "meta_inner" in names else meta_model
    for layer in inner.layers:
        if isinstance(layer, keras.layers.Dense):
            return layer
    raise ValueError("the meta network has no Dense layer to read weights from")


def meta_weights(predictor: Any, learner_labels: Sequence[str]) -> MetaWeights:
    """The first Dense kernel of a stacked run's meta network, its rows named by (learner, class/feature).

    Args:
        predictor: a stacked run's :class:`metalearn_core.models.predictor.Predictor` (model + learners).
        learner_labels: one name per learner, in order (``LearnerConfig.label(i)``).

    Raises ValueError when the labels or the learners' outputs do not add up to the kernel's rows.

    Example:
        >>> meta_weights(load_predictor(folder, config), ["base 1 (network)", "base 2 (random forest)"])  # doctest: +SKIP
    """
    if not predictor.learners:
        raise ValueError("this run has no base learners: it is not a stacked run")
    if len(learner_labels) != len(predictor.learners):
        raise ValueError(f"{len(learner_labels)} labels for {len(predictor.learners)} learners")
    inputs: tuple[MetaInput, ...] = ()
    for label, learner in zip(learner_labels, predictor.learners):
        classes, features = learner_shape(learner)
        inputs += learner_inputs(label, classes, features)
    layer = first_dense(predictor.model)
    kernel = np.asarray(layer.kernel.numpy() if hasattr(layer.kernel, "numpy") else layer.kernel, dtype=np.float64)
    if kernel.shape[0] != len(inputs):
        raise ValueError(f"the meta network reads {kernel.shape[0]} inputs but its learners give {len(inputs)}")
    return MetaWeights(kernel, inputs, tuple(learner_labels), layer.name, predictor.learners[0].meta_input)


def trust_matrix(weights: MetaWeights) -> tuple[list[str], np.ndarray]:
    """Mean absolute weight per (learner, class) input, averaged over the layer's units.

    Returns:
        ``(columns, matrix)``: columns are the classes any learner scores, as strings, then
        ``"features"`` when a learner adds features (their mean over all features); ``matrix`` is
        (learners, columns), NaN where a learner has no such input.

    Example:
        >>> columns, matrix = trust_matrix(weights)  # doctest: +SKIP
        >>> columns[-1], matrix.shape  # doctest: +SKIP
        ('features', (2, 11))
    """
    per_input = np.abs(weights.kernel).mean(axis=1)  # (inputs,)
    classes = sorted({column.index for column in weights.inputs if column.part == "class"})
    has_features = any(column.part == "feature" for column in weights.inputs)
    columns = [str(c) for c in classes] + ([FEATURES] if has_features else [])
    matrix = np.full((len(weights.learners), len(columns)), np.nan)
    for row, learner in enumerate(weights.learners):
        features = [value for column, value in zip(weights.inputs, per_input)
                    if column.learner == learner and column.part == "feature"]
        for column, value in zip(weights.inputs, per_input):
            if column.learner == learner and column.part == "class":
                matrix[row, classes.index(column.index)] = value
        if features:
            matrix[row, -1] = float(np.mean(features))
    return columns, matrix
