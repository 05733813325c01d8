"""How weights and gradients move while a network trains: per-layer norms and weight histograms.

Once per epoch (see :class:`~metalearn_core.models.training.StreamingCallback`) the training loop
asks a :class:`LayerStatistics` for, per layer with a weight matrix (Dense, Conv2D), in model order:

* ``weight_norm``: the L2 (Frobenius) norm of the layer's kernel;
* ``gradient_norm``: the L2 norm of the loss gradient with respect to that kernel, on one small
  probe batch chosen once before training, so epochs are compared on the same images;
* ``edges`` and ``counts``: a histogram of the kernel's values (TensorBoard's "distributions").

It is cheap by construction: the norms and histograms read the variables once with numpy, and the
gradient is one forward and backward pass over the probe batch through a ``tf.function`` traced
once. The gradient is taken in inference mode (``training=False``), so dropout is off and batch
norm uses, and never updates, its moving statistics: probing does not change the training. The
store keeps the rows and :mod:`metalearn_core.inside.weight_figures` draws them.

Example:
    >>> stats = LayerStatistics(model, *probe_batch(x_train, y_train))  # doctest: +SKIP
    >>> [row["layer"] for row in stats()]  # doctest: +SKIP
    ['dense_2', 'dense_3', 'logits']
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

HISTOGRAM_BINS = 30
PROBE_SIZE = 256


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers with a weight matrix (a ``kernel``: Dense, Conv2D), in model order, looking
    inside nested models (a stacked run's meta network wraps its layers in an inner model).

    Example:
        >>> [layer.name for layer in weighted_layers(build_network(seed_network()))]  # doctest: +SKIP
        ['dense_2', 'logits']
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(weighted_layers(layer))
        elif getattr(layer, "kernel", None) is not None:
            found.append(layer)
    return found


def probe_batch(x: np.ndarray, y: np.ndarray, size: int = PROBE_SIZE,
                validation_split: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` training samples spread evenly over the part of ``x`` that is trained on.

    Keras keeps the last ``validation_split`` of the arrays for validation, so the probe is drawn
    from the samples before them.

    Example:
        >>> probe_batch(np.arange(10), np.arange(10), size=3)[0].tolist()
        [0, 4, 9]
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"the probe needs matching, non-empty x and y, got {len(x)} and {len(y)}")
    trained = max(1, len(x) - int(len(x) * validation_split))
    indices = np.unique(np.linspace(0, trained - 1, num=min(size, trained)).round().astype(int))
    return x[indices], y[indices]


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[list[float], list[int]]:
    """Bin edges (``bins + 1``, from the smallest to the largest value) and counts of the finite
    values; empty lists when there are none (a diverged network).

    Example:
        >>> histogram(np.array([0.0, 1.0, 1.0]), bins=2)
        ([0.0, 0.5, 1.0], [1, 2])
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [], []
    counts, edges = np.histogram(finite, bins=bins)
    return edges.tolist(), counts.tolist()


def _norm(values: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(values, dtype=np.float64))))


class LayerStatistics:
    """Per-layer weight norms, gradient norms and weight histograms of one model on one probe batch.

    Args:
        model: a built Keras classifier whose output is class probabilities.
        x_probe: the probe images (or meta features), drawn once, e.g. with :func:`probe_batch`.
        y_probe: their integer labels.
        bins: histogram bins per layer.

    Calling it returns one dict per weighted layer: ``layer``, ``weight_norm``, ``gradient_norm``,
    ``edges`` and ``counts`` (plain floats and lists, ready for the store).
    """

    def __init__(self, model: keras.Model, x_probe: np.ndarray, y_probe: np.ndarray,
                 bins: int = HISTOGRAM_BINS) -> None:
        self.layers = weighted_layers(model)
        self.bins = bins
        self._x = tf.constant(x_probe)
        self._y = tf.constant(y_probe)
        kernels = [layer.kernel for layer in self.layers]
        loss_function = keras.losses.SparseCategoricalCrossentropy()  # what compile_network trains with

        @tf.function
        def gradients(x: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
            with tf.GradientTape() as tape:
                loss = loss_function(y, model(x, training=False))
            return tape.gradient(loss, kernels)

        self._gradients = gradients

    def __call__(self) -> list[dict[str, Any]]:
        gradients = [np.asarray(gradient) for gradient in self._gradients(self._x, self._y)]
        rows = []
        for layer, gradient in zip(self.layers, gradients):
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            edges, counts = histogram(kernel.ravel(), self.bins)
            rows.append({"layer": layer.name, "weight_norm": _norm(kernel), "gradient_norm": _norm(gradient),
                         "edges": edges, "counts": counts})
        return rows
