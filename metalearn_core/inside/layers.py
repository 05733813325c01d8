"""What a trained network computes for one image: every layer's output, the first layer's weights,
and which input pixels decided the answer (saliency).

Networks are those :func:`metalearn_core.models.networks.build_network` makes (a chain of layers
ending in ``logits`` and ``probabilities``) and the stacked meta network (a standardisation layer,
then such a network nested inside it). Everything here runs after a model is loaded, so TensorFlow
is imported at the top.

Example:
    >>> outputs = layer_outputs(predictor.model, image28)  # doctest: +SKIP
    >>> [(output.name, output.shape) for output in outputs][-2:]  # doctest: +SKIP
    [('logits', (10,)), ('probabilities', (10,))]
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf


class InsideError(ValueError):
    """A network cannot be looked inside this way (no ``logits`` layer, a wrong input shape)."""


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for one input: ``values`` has ``shape`` (no batch axis)."""

    name: str
    layer_type: str  # the Keras class name: "Dense", "Conv2D", "MaxPooling2D", "Flatten", ...
    shape: tuple[int, ...]
    values: np.ndarray


@dataclass(frozen=True)
class FirstLayerWeights:
    """The first weighted layer's weights as small pictures, one per unit (Dense) or filter (Conv2D)."""

    layer: str
    layer_type: str  # "Dense" or "Conv2D"
    units: np.ndarray  # (n,) the unit or filter index of each tile
    tiles: np.ndarray  # (n, 28, 28) for Dense units, (n, kh, kw) for Conv2D filters
    activations: np.ndarray  # (n,) this input's activation: a unit's value, a filter's mean over its map


@dataclass(frozen=True)
class Saliency:
    """How the predicted class's logit reacts to each input value, for one input.

    ``gradient`` is d logit[digit] / d input; ``gradient_x_input`` multiplies it by the input, so
    only the pixels that are drawn (or the inputs that are non-zero) carry weight.
    """

    digit: int
    logit: float
    gradient: np.ndarray  # the input's shape: (28, 28) for an image
    gradient_x_input: np.ndarray


@dataclass(frozen=True)
class NetworkInput:
    """A network of a predictor and what it reads for one drawing."""

    title: str  # "network", "base 1 (network)", "meta network"
    model: keras.Model
    x: np.ndarray  # (28, 28) image in [0, 1], or the meta network's (d,) input vector
    scale_pixels: bool  # False: the network was trained on raw 0-255 pixels
    reads_image: bool
    input_groups: tuple[tuple[str, int], ...] = ()  # the meta network's inputs: (learner, how many)


_ACTIVATION_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _nests_models(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.Model) for layer in _chain(model))


def activation_model(model: keras.Model) -> keras.Model:
    """A Keras model with the same input and one output per layer of ``model`` (its input layer
    aside), cached per model so that one drawing costs one forward call.

    Example:
        >>> len(activation_model(model).outputs) == len(model.layers) - 1  # doctest: +SKIP
        True
    """
    if model not in _ACTIVATION_MODELS:
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # as the model is called
        _ACTIVATION_MODELS[model] = keras.Model(inputs, [layer.output for layer in _chain(model)],
                                                name=f"{model.name}_activations")
    return _ACTIVATION_MODELS[model]


def _forward(model: keras.Model, x: tf.Tensor) -> list[tuple[keras.layers.Layer, tf.Tensor]]:
    """(layer, batch output) for every layer, in order, nested models expanded into their layers.

    A model without nested models runs as one call of its cached activation model. One with a
    nested model (the stacked meta network) is a chain: each top-level layer takes the previous
    one's output, and a nested model is expanded the same way."""
    if not _nests_models(model):
        values = activation_model(model)(x, training=False)
        values = values if isinstance(values, (list, tuple)) else [values]
        return list(zip(_chain(model), values))
    outputs: list[tuple[keras.layers.Layer, tf.Tensor]] = []
    for layer in _chain(model):
        if isinstance(layer, keras.Model):
            outputs += _forward(layer, x)
            x = outputs[-1][1]
        else:
            x = layer(x, training=False)
            outputs.append((layer, x))
    return outputs


def _batch(model: keras.Model, x: np.ndarray, scale_pixels: bool) -> tf.Tensor:
    """One input as a batch of one in the model's input dtype, scaled as the model was trained."""
    expected = tuple(model.inputs[0].shape[1:])
    x = np.asarray(x)
    if x.shape != expected:
        raise InsideError(f"{model.name} reads inputs of shape {expected}, got {x.shape}")
    dtype = keras.backend.standardize_dtype(model.inputs[0].dtype)
    scaled = x if scale_pixels else x * 255.0  # the model was trained on raw 0-255 pixels
    return tf.constant(scaled[None], dtype=dtype)


def layer_outputs(model: keras.Model, x: np.ndarray, scale_pixels: bool = True) -> list[LayerOutput]:
    """Every layer's output for one input, in order: hidden layers, pooling, ``logits`` and the
    final ``probabilities``.

    Args:
        model: a network from ``build_network``, or the stacked meta network.
        x: one input: a (28, 28) image in [0, 1] (white on black), or a (d,) vector for the meta network.
        scale_pixels: False when the network was trained on raw 0-255 pixels: the image is multiplied
            by 255 first, as :meth:`metalearn_core.models.predictor.Predictor.predict_proba` does.

    Returns:
        One :class:`LayerOutput` per layer (the input layer aside).

    Example:
        >>> outputs = layer_outputs(model, np.zeros((28, 28), np.float32))  # doctest: +SKIP
        >>> outputs[-1].name, float(outputs[-1].values.sum())  # doctest: +SKIP
        ('probabilities', 1.0)
    """
    outputs = _forward(model, _batch(model, x, scale_pixels))
    return [LayerOutput(layer.name, type(layer).__name__, tuple(value.shape[1:]), np.asarray(value)[0])
            for layer, value in outputs]


def _find_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    for layer in _chain(model):
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return _find_layer(layer, name)
            except InsideError:
                pass
    raise InsideError(f"{model.name} has no layer named {name!r}")


def first_layer_weights(model: keras.Model, activations: list[LayerOutput], k: int = 16) -> FirstLayerWeights | None:
    """The first weighted layer's weights as pictures, when it reads the image directly.

    For a Dense layer after Flatten, each unit's 784 weights form a 28x28 picture; the ``k`` units
    this drawing activates most come first, most active first. For a Conv2D layer, every filter
    (kh x kw, on the one grey channel) in filter order, with its mean activation over its map.

    Args:
        model: the network ``activations`` came from.
        activations: :func:`layer_outputs` of ``model`` for the drawing.
        k: how many Dense units to keep.

    Returns:
        The tiles, or None when the first weighted layer is neither (a meta network's Dense layer
        reads base-learner outputs, not pixels).

    Example:
        >>> weights = first_layer_weights(model, layer_outputs(model, image), k=16)  # doctest: +SKIP
        >>> weights.tiles.shape  # doctest: +SKIP
        (16, 28, 28)
    """
    for output in activations:
        if output.layer_type in ("Dense", "Conv2D"):
            break
        if output.layer_type not in ("Reshape", "Flatten"):
            return None
    else:
        return None
    kernel = np.asarray(_find_layer(model, output.name).kernel)
    if output.layer_type == "Conv2D":  # kernel (kh, kw, 1, filters); output (h, w, filters)
        if kernel.shape[2] != 1:
            return None
        filters = np.arange(kernel.shape[3])
        return FirstLayerWeights(output.name, "Conv2D", filters, np.moveaxis(kernel[:, :, 0, :], -1, 0),
                                 output.values.mean(axis=(0, 1)))
    if kernel.shape[0] != 28 * 28:
        return None
    top = np.argsort(-output.values, kind="stable")[:k]  # most active first
    return FirstLayerWeights(output.name, "Dense", top, kernel[:, top].T.reshape(-1, 28, 28), output.values[top])


def saliency(model: keras.Model, x: np.ndarray, scale_pixels: bool = True) -> Saliency:
    """The gradient of the predicted class's logit (the layer named ``logits``) with respect to the
    input, and gradient x input.

    The gradient is taken with respect to ``x`` as given (the [0, 1] drawing), also when the
    network multiplies it by 255 first. Reference: K. Simonyan, A. Vedaldi, A. Zisserman, "Deep
    inside convolutional networks: visualising image classification models and saliency maps" (2014).

    Example:
        >>> result = saliency(model, image28)  # doctest: +SKIP
        >>> result.gradient.shape, result.digit  # doctest: +SKIP
        ((28, 28), 7)
    """
    _find_layer(model, "logits")  # a clear error before any work
    inputs = _batch(model, x, scale_pixels=True)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        scaled = inputs if scale_pixels else inputs * 255.0
        logits = next(value for layer, value in _forward(model, scaled) if layer.name == "logits")
        digit = int(tf.argmax(logits[0]))
        target = logits[0, digit]
    gradient = np.asarray(tape.gradient(target, inputs))[0]
    return Saliency(digit, float(target), gradient, gradient * np.asarray(x, gradient.dtype))


def networks_inside(predictor: Any, image28: np.ndarray) -> list[NetworkInput]:
    """The networks of a predictor that can be looked inside, with what each reads for ``image28``.

    A base run: its network. A stacked run: its first Keras network base learner, if it has one,
    then the meta network with the base learners' outputs for this image.

    Args:
        predictor: a :class:`metalearn_core.models.predictor.Predictor`.
        image28: the (28, 28) drawing in [0, 1].

    Example:
        >>> [network.title for network in networks_inside(stacked_predictor, image)]  # doctest: +SKIP
        ['base 1 (network)', 'meta network']
    """
    image28 = np.asarray(image28, np.float32)
    if not predictor.learners:
        return [NetworkInput("network", predictor.model, image28, predictor.scale_pixels, True)]
    networks = [NetworkInput(learner.config.label(index), learner.model, image28, predictor.scale_pixels, True)
                for index, learner in enumerate(predictor.learners) if isinstance(learner.model, keras.Model)][:1]
    pixels = image28[None] if predictor.scale_pixels else image28[None] * 255.0  # (1, 28, 28)
    blocks = [np.asarray(learner.features(pixels))[0] for learner in predictor.learners]
    groups = tuple((learner.config.label(index), len(block))
                   for index, (learner, block) in enumerate(zip(predictor.learners, blocks)))
    meta_x = np.concatenate(blocks).astype(np.float32)  # (d,)
    return [*networks, NetworkInput("meta network", predictor.model, meta_x, True, False, groups)]
