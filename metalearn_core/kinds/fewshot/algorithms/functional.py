"""Functional (stateless) networks for gradient-based meta-learning.

A network is a plain ``list`` of parameter tensors plus a :class:`NetworkSpec` describing how to
use them. :func:`forward` never stores weights, so an adapted parameter list
``theta' = theta - alpha * grad`` is just another list that can be pushed through the same
function, and TensorFlow can differentiate the query loss at ``theta'`` back to ``theta``
(second-order MAML). This is the learn2learn / higher pattern, written for TensorFlow 2.

:func:`inner_step` is the one inner-loop update every algorithm here uses (MAML, FOMAML, Meta-SGD,
Reptile with SGD); it plays the role of learn2learn's ``maml_update``.

Two architectures:

* ``mlp``: flatten, then dense + relu layers, then a dense head (e.g. 784-64-64-ways).
* ``conv``: the 4-block network of Vinyals et al. (2016) used by Finn et al. (2017), scaled down:
  each block is conv3x3 (F filters) -> batch norm -> relu -> 2x2 max-pool, then a dense head.

Batch norm is *transductive*: it always normalises with the statistics of the batch it is given
(support batch in the inner loop, query batch when scoring) and keeps no running averages, exactly
as Finn et al.'s reference code does (``tf.contrib.layers.batch_norm`` with ``is_training`` left
on). This is deliberate: running averages would be state outside the parameter list, would mix
statistics across tasks, and would break the "network = list of tensors" contract that makes the
inner loop differentiable. The price is that predictions on a query point depend on the rest of
the query batch, so score whole query batches (as every method here does). The learnable scale
and offset (gamma, beta) are ordinary parameters and are adapted and meta-learned like the rest.

Example:
    >>> spec = NetworkSpec.conv(filters=16)
    >>> params = init_params(spec, ways=5, seed=0)
    >>> logits = forward(params, support_x, spec)  # doctest: +SKIP
    >>> adapted = adapt(params, support_x, support_y, 1, 0.4, spec)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import tensorflow as tf

# Finn et al.'s code uses tf.contrib.layers.batch_norm, whose default epsilon is 1e-3.
BN_EPSILON = 1e-3

Tensor = tf.Tensor | tf.Variable
LearningRates = float | Tensor | Sequence[Tensor]  # a scalar alpha (MAML) or one tensor per parameter


class EpisodeLike(Protocol):
    """Anything with the four arrays of an N-way K-shot episode (e.g. ``episodes.Episode``)."""

    support_x: np.ndarray  # (n_s, 28, 28) float32
    support_y: np.ndarray  # (n_s,) int in 0..ways-1
    query_x: np.ndarray  # (n_q, 28, 28) float32
    query_y: np.ndarray  # (n_q,) int in 0..ways-1


@dataclass(frozen=True)
class NetworkSpec:
    """The architecture of a functional network (everything but the number of classes).

    Attributes:
        kind: ``"mlp"`` or ``"conv"``.
        input_shape: one example's shape: ``(28, 28)`` for MNIST, ``(h, w, c)`` for images with
            channels, or e.g. ``(6,)`` for a tiny MLP in tests.
        hidden: MLP hidden layer widths (ignored by ``conv``).
        filters: conv filters per block (ignored by ``mlp``). The papers use 64; 32 keeps CPU
            training on MNIST interactive.
        blocks: number of conv blocks (ignored by ``mlp``); the papers use 4.

    Example:
        >>> NetworkSpec.mlp(hidden=(64, 64)).kind
        'mlp'
        >>> NetworkSpec.conv(filters=8, input_shape=(4, 4)).blocks
        4
    """

    kind: Literal["mlp", "conv"] = "conv"
    input_shape: tuple[int, ...] = (28, 28)
    hidden: tuple[int, ...] = (64, 64)
    filters: int = 32
    blocks: int = 4

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "conv"):
            raise ValueError(f"NetworkSpec.kind must be 'mlp' or 'conv', got {self.kind!r}")
        if not self.input_shape or any(int(d) < 1 for d in self.input_shape):
            raise ValueError(f"input_shape must be non-empty positive sizes, got {self.input_shape}")
        if self.kind == "mlp" and any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        if self.kind == "conv":
            if len(self.input_shape) not in (2, 3):
                raise ValueError(
                    f"a conv network needs input_shape (h, w) or (h, w, c), got {self.input_shape}"
                )
            if self.filters < 1 or self.blocks < 1:
                raise ValueError(f"filters and blocks must be >= 1, got {self.filters} and {self.blocks}")

    @classmethod
    def mlp(cls, hidden: Sequence[int] = (64, 64), input_shape: Sequence[int] = (28, 28)) -> NetworkSpec:
        """A dense relu network ``prod(input_shape) -> hidden... -> ways``."""
        return cls("mlp", tuple(int(d) for d in input_shape), hidden=tuple(int(h) for h in hidden))

    @classmethod
    def conv(cls, filters: int = 32, blocks: int = 4, input_shape: Sequence[int] = (28, 28)) -> NetworkSpec:
        """The papers' conv net: ``blocks`` x (conv3x3 -> batch norm -> relu -> max-pool 2x2), dense head."""
        return cls("conv", tuple(int(d) for d in input_shape), filters=int(filters), blocks=int(blocks))

    @property
    def in_channels(self) -> int:
        return int(self.input_shape[2]) if len(self.input_shape) == 3 else 1

    @property
    def feature_size(self) -> int:
        """Width of the representation the dense head reads."""
        if self.kind == "mlp":
            return int(self.hidden[-1]) if self.hidden else int(np.prod(self.input_shape))
        height, width = int(self.input_shape[0]), int(self.input_shape[1])
        for _ in range(self.blocks):
            # SAME pooling rounds up, so even a 4x4 input survives four blocks (4 -> 2 -> 1 -> 1 -> 1).
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        return height * width * self.filters


def as_spec(spec: NetworkSpec | Sequence[int]) -> NetworkSpec:
    """A :class:`NetworkSpec` as is, or MLP layer sizes ``(input_dim, hidden...)``, e.g. ``(784, 64, 64)``."""
    if isinstance(spec, NetworkSpec):
        return spec
    sizes = tuple(int(s) for s in spec)
    if not sizes:
        raise ValueError("layer sizes need at least the input size, e.g. (784, 64, 64)")
    return NetworkSpec.mlp(hidden=sizes[1:], input_shape=(sizes[0],))


def param_names(spec: NetworkSpec | Sequence[int]) -> list[str]:
    """Names for the parameter list, in :func:`init_params` order (for display and error messages)."""
    spec = as_spec(spec)
    if spec.kind == "mlp":
        names = [
            name for i in range(len(spec.hidden)) for name in (f"dense{i + 1}/kernel", f"dense{i + 1}/bias")
        ]
    else:
        # No conv bias: batch norm subtracts the per-channel mean right after, so a bias would
        # cancel exactly and only ever receive zero gradient.
        names = [
            name
            for b in range(spec.blocks)
            for name in (f"conv{b + 1}/kernel", f"bn{b + 1}/gamma", f"bn{b + 1}/beta")
        ]
    return [*names, "head/kernel", "head/bias"]


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    # Glorot/Xavier uniform, the initialiser of Finn et al.'s code and Keras' default.
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def init_params(
    spec: NetworkSpec | Sequence[int], ways: int, seed: int = 0, dtype: tf.DType | str = tf.float32
) -> list[tf.Variable]:
    """Fresh parameters for ``spec`` with a ``ways``-class head, as trainable ``tf.Variable`` s.

    Kernels are Glorot-uniform, biases and batch-norm offsets zero, batch-norm scales one. The
    same ``seed`` always gives the same parameters.

    Args:
        spec: a :class:`NetworkSpec`, or MLP layer sizes ``(input_dim, hidden...)``.
        ways: classes per episode (units of the head).
        seed: numpy seed.
        dtype: ``tf.float32`` normally; ``tf.float64`` for finite-difference tests.

    Example:
        >>> [tuple(p.shape) for p in init_params((6, 5), ways=3)]
        [(6, 5), (5,), (5, 3), (3,)]
    """
    spec = as_spec(spec)
    if int(ways) < 2:
        raise ValueError(f"ways must be >= 2, got {ways}")
    rng = np.random.default_rng(seed)
    arrays: list[np.ndarray] = []
    if spec.kind == "mlp":
        width = int(np.prod(spec.input_shape))
        for units in spec.hidden:
            arrays += [_glorot(rng, (width, units), width, units), np.zeros(units)]
            width = units
    else:
        channels = spec.in_channels
        for _ in range(spec.blocks):
            kernel = _glorot(rng, (3, 3, channels, spec.filters), 9 * channels, 9 * spec.filters)
            arrays += [kernel, np.ones(spec.filters), np.zeros(spec.filters)]
            channels = spec.filters
    arrays += [_glorot(rng, (spec.feature_size, ways), spec.feature_size, ways), np.zeros(ways)]
    return [
        tf.Variable(array, dtype=dtype, name=name.replace("/", "_"))
        for array, name in zip(arrays, param_names(spec))
    ]


def _check_params(params: Sequence[Tensor], spec: NetworkSpec) -> None:
    expected = len(param_names(spec))
    if len(params) != expected:
        raise ValueError(
            f"a {spec.kind} network with this spec has {expected} parameter tensors, got {len(params)}"
        )


def forward(params: Sequence[Tensor], x: Any, spec: NetworkSpec | Sequence[int]) -> tf.Tensor:
    """Logits of the network ``params`` on a batch ``x`` of shape ``(n, *spec.input_shape)``.

    Pure function of its arguments, so it is differentiable with respect to ``params`` at any
    order. Conv batch norm uses the statistics of ``x`` itself (see the module docstring).

    Example:
        >>> params = init_params((6, 5), ways=3)
        >>> forward(params, np.zeros((4, 6), np.float32), (6, 5)).shape
        TensorShape([4, 3])
    """
    spec = as_spec(spec)
    _check_params(params, spec)
    x = tf.cast(x, params[0].dtype)  # (n, *input_shape), same dtype as the weights
    if spec.kind == "mlp":
        width = int(np.prod(spec.input_shape))
        if x.shape[1:].is_fully_defined() and int(np.prod(x.shape[1:])) != width:
            raise ValueError(f"inputs of shape {tuple(x.shape)} do not flatten to the MLP's {width} inputs")
        h = tf.reshape(x, (-1, width))  # (n, d)
        for kernel, bias in zip(params[0:-2:2], params[1:-2:2]):
            h = tf.nn.relu(h @ kernel + bias)  # (n, hidden_i)
    else:
        if x.shape.rank == len(spec.input_shape) + 1 and len(spec.input_shape) == 2:
            x = x[..., tf.newaxis]  # (n, h, w, 1)
        if x.shape[1:].is_fully_defined() and tuple(x.shape[1:]) != (*spec.input_shape[:2], spec.in_channels):
            raise ValueError(
                f"inputs of shape {tuple(x.shape)} do not match the conv input {spec.input_shape}"
            )
        h = x
        for kernel, gamma, beta in zip(params[0:-2:3], params[1:-2:3], params[2:-2:3]):
            h = tf.nn.conv2d(h, kernel, strides=1, padding="SAME")  # (n, h, w, F)
            # This batch's statistics, written out rather than tf.nn.moments: moments puts a
            # stop_gradient on the mean inside the variance, which leaves first derivatives exact
            # but makes second derivatives (second-order MAML) wrong.
            mean = tf.reduce_mean(h, axis=[0, 1, 2])  # (F,)
            variance = tf.reduce_mean(tf.square(h - mean), axis=[0, 1, 2])  # (F,)
            h = tf.nn.batch_normalization(h, mean, variance, beta, gamma, BN_EPSILON)  # (n, h, w, F)
            h = tf.nn.relu(h)
            # A side of length 1 is pooled with a window of 1: the same result as a padded 2x2 window,
            # and it sidesteps a TensorFlow bug: inside tf.function, the second derivative of a 2x2
            # max-pool over a 1x1 map is wrong (eager is right; caught by the finite-difference test).
            window = (min(2, h.shape[1]), min(2, h.shape[2]))
            if window != (1, 1):
                h = tf.nn.max_pool2d(h, window, window, padding="SAME")  # (n, ceil(h/2), ceil(w/2), F)
        h = tf.reshape(h, (-1, spec.feature_size))  # (n, features)
    return h @ params[-2] + params[-1]  # (n, ways)


def cross_entropy(logits: tf.Tensor, labels: Any) -> tf.Tensor:
    """Mean softmax cross-entropy, written with log_softmax so every derivative order exists."""
    ways = logits.shape[-1]
    log_probs = tf.nn.log_softmax(logits, axis=-1)  # (n, ways)
    one_hot = tf.one_hot(tf.cast(labels, tf.int32), ways, dtype=logits.dtype)  # (n, ways)
    return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))  # ()


def accuracy(logits: tf.Tensor, labels: Any) -> tf.Tensor:
    """Fraction of rows whose arg-max logit is the label."""
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (n,)
    return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32))  # ()


def loss(params: Sequence[Tensor], x: Any, y: Any, spec: NetworkSpec | Sequence[int]) -> tf.Tensor:
    """Cross-entropy of the network ``params`` on ``(x, y)``."""
    return cross_entropy(forward(params, x, spec), y)


def loss_and_gradients(
    params: Sequence[Tensor], x: Any, y: Any, spec: NetworkSpec | Sequence[int]
) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """The loss on ``(x, y)`` and its gradient with respect to every tensor of ``params``.

    When an outer ``tf.GradientTape`` is recording, the gradient computation itself is recorded
    on it, which is what makes second-order meta-gradients possible.
    """
    params = list(params)
    with tf.GradientTape() as tape:
        # Adapted parameters are plain tensors, not variables, so they must be watched explicitly.
        tape.watch(params)
        value = loss(params, x, y, spec)
    # ZERO, not None, for parameters the loss does not reach (keeps the update arithmetic uniform).
    grads = tape.gradient(value, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return value, grads


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, (tf.Tensor, tf.Variable, np.ndarray, np.generic)) and len(value.shape) == 0


def _rates_per_param(learning_rates: LearningRates, params: Sequence[Tensor]) -> list[Any]:
    if _is_scalar(learning_rates):
        return [learning_rates] * len(params)  # MAML: one scalar alpha for every parameter
    rates = list(learning_rates)
    if len(rates) != len(params):
        raise ValueError(f"got {len(rates)} learning-rate tensors for {len(params)} parameter tensors")
    for index, (rate, param) in enumerate(zip(rates, params)):
        if tuple(rate.shape) != tuple(param.shape):
            raise ValueError(
                f"learning rate {index} has shape {tuple(rate.shape)} "
                f"but its parameter has {tuple(param.shape)}"
            )
    return rates


def inner_step(
    params: Sequence[Tensor],
    x: Any,
    y: Any,
    learning_rates: LearningRates,
    spec: NetworkSpec | Sequence[int],
    create_graph: bool = True,
) -> list[tf.Tensor]:
    """One inner-loop SGD step ``theta' = theta - alpha * grad L(theta; x, y)``, as new tensors.

    The single inner-loop update shared by MAML (Finn et al. 2017), first-order MAML, Meta-SGD
    (Li et al. 2017) and Reptile (Nichol et al. 2018) with SGD.

    Args:
        params: current parameters (variables or tensors); never modified.
        x, y: the batch to adapt on (usually the support set).
        learning_rates: a scalar ``alpha`` (MAML) or one tensor per parameter with its shape
            (Meta-SGD's element-wise ``alpha``, which may itself be a trainable variable).
        spec: the architecture.
        create_graph: ``True`` keeps the gradient differentiable, so an outer tape sees the
            second-order terms; ``False`` wraps it in ``tf.stop_gradient`` (first-order MAML:
            ``d theta' / d theta`` becomes the identity).

    Returns:
        The adapted parameter list (tensors).

    Example:
        >>> params = init_params((6, 5), ways=3)
        >>> x, y = np.ones((4, 6), np.float32), np.array([0, 1, 2, 0])
        >>> new = inner_step(params, x, y, 0.1, (6, 5))
        >>> len(new) == len(params)
        True
    """
    rates = _rates_per_param(learning_rates, params)
    _, grads = loss_and_gradients(params, x, y, spec)
    if not create_graph:
        grads = [tf.stop_gradient(g) for g in grads]
    return [p - tf.cast(rate, p.dtype) * g for p, rate, g in zip(params, rates, grads)]


def adapt(
    params: Sequence[Tensor],
    support_x: Any,
    support_y: Any,
    steps: int,
    learning_rates: LearningRates,
    spec: NetworkSpec | Sequence[int],
    first_order: bool = False,
) -> list[Tensor]:
    """``steps`` inner SGD steps on the support set, by repeated :func:`inner_step`.

    With ``steps=0`` the original parameters come back unchanged.

    Example:
        >>> params = init_params((6, 5), ways=3)
        >>> x, y = np.ones((4, 6), np.float32), np.array([0, 1, 2, 0])
        >>> len(adapt(params, x, y, steps=2, learning_rates=0.1, spec=(6, 5)))
        4
    """
    if int(steps) < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    adapted = list(params)
    for _ in range(int(steps)):
        adapted = inner_step(
            adapted, support_x, support_y, learning_rates, spec, create_graph=not first_order
        )
    return adapted


def adaptation_accuracies(
    params: Sequence[Tensor],
    support_x: Any,
    support_y: Any,
    query_x: Any,
    query_y: Any,
    steps: int,
    learning_rates: LearningRates,
    spec: NetworkSpec | Sequence[int],
) -> tf.Tensor:
    """Query accuracy before adapting and after each of ``steps`` first-order inner steps: ``(steps + 1,)``.

    A pure function of tensors, so a learner can wrap it in one ``tf.function`` and score an
    evaluation episode in a single graph call instead of ``steps`` eager inner steps.

    Example:
        >>> params = init_params((6, 5), ways=3)
        >>> x, y = np.ones((4, 6), np.float32), np.array([0, 1, 2, 0])
        >>> adaptation_accuracies(params, x, y, x, y, 2, 0.1, (6, 5)).shape
        TensorShape([3])
    """
    adapted = list(params)
    accuracies = [accuracy(forward(adapted, query_x, spec), query_y)]
    for _ in range(int(steps)):
        adapted = inner_step(adapted, support_x, support_y, learning_rates, spec, create_graph=False)
        accuracies.append(accuracy(forward(adapted, query_x, spec), query_y))
    return tf.stack(accuracies)  # (steps + 1,)


def episode_tensors(episode: EpisodeLike, dtype: tf.DType, ways: int) -> tuple[tf.Tensor, ...]:
    """``(support_x, support_y, query_x, query_y)`` as tensors, checking the labels fit ``ways``."""
    missing = [
        name for name in ("support_x", "support_y", "query_x", "query_y") if not hasattr(episode, name)
    ]
    if missing:
        raise ValueError(f"an episode needs support_x, support_y, query_x and query_y; missing {missing}")
    arrays = [np.asarray(getattr(episode, name)) for name in ("support_x", "support_y", "query_x", "query_y")]
    for name, features, labels in (("support", arrays[0], arrays[1]), ("query", arrays[2], arrays[3])):
        if len(features) != len(labels) or len(labels) == 0:
            raise ValueError(
                f"{name} set has {len(features)} inputs and {len(labels)} labels (need equal, > 0)"
            )
        if labels.min() < 0 or labels.max() >= ways:
            raise ValueError(f"{name} labels must lie in 0..{ways - 1}, got {labels.min()}..{labels.max()}")
    return (
        tf.convert_to_tensor(arrays[0], dtype=dtype),  # (n_s, *input_shape)
        tf.convert_to_tensor(arrays[1], dtype=tf.int32),  # (n_s,)
        tf.convert_to_tensor(arrays[2], dtype=dtype),  # (n_q, *input_shape)
        tf.convert_to_tensor(arrays[3], dtype=tf.int32),  # (n_q,)
    )
