"""The configured network at a glance: each layer's output shape and parameter count.

Worked out in plain Python (no TensorFlow, so the Train page can redraw it on every slider move)
exactly as :func:`metalearn_core.models.networks.build_network` builds a network (the implicit
``add_channel`` reshape, ``flatten_head`` and the ``logits`` head). These are the parts every kind's
diagram is made of: a :class:`Diagram` holds one :class:`Chain` of :class:`Box` es per network of a
run. A kind with networks of its own draws them in its ``diagram.py`` (the stacked meta network,
the learned optimizer, the few-shot learners), its ``RunKind.diagram`` hook.

Parameter counts follow Keras' ``count_params()``: every stored weight. Batch norm stores four
numbers per channel: a scale and an offset that training changes (trainable) and a running mean
and variance that it only tracks (``frozen`` here); each box gives both.

Example:
    >>> chain = network_chain(NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=128))))
    >>> [(box.name, box.shape, box.params) for box in chain.boxes]  # doctest: +NORMALIZE_WHITESPACE
    [('flatten_1', (784,), 0), ('dense_2', (128,), 100480), ('logits', (10,), 1290),
     ('probabilities', (10,), 0)]
    >>> chain.params
    101770
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from metalearn_core.config import IMAGE_SIZE, NUM_CLASSES, ConfigError, LayerConfig, NetworkConfig

Shape = tuple[int, ...]
IMAGE: Shape = (IMAGE_SIZE, IMAGE_SIZE)


@dataclass(frozen=True)
class Box:
    """One layer of a diagram: its output shape (without the batch axis) and its weights.

    ``frozen`` counts stored weights training does not change (batch norm's running statistics);
    ``implicit`` marks layers the builder adds, which are not rows of the layer editor.
    """

    name: str
    label: str
    shape: Shape
    trainable: int = 0
    frozen: int = 0
    implicit: bool = False
    note: str = ""

    @property
    def params(self) -> int:
        return self.trainable + self.frozen


@dataclass(frozen=True)
class Chain:
    """One network, input to output; ``problem`` says why the boxes stop early (or why the run
    cannot start), "" when the network works."""

    title: str
    input_label: str
    boxes: tuple[Box, ...] = ()
    problem: str = ""
    note: str = ""

    @property
    def trainable(self) -> int:
        return sum(box.trainable for box in self.boxes)

    @property
    def frozen(self) -> int:
        return sum(box.frozen for box in self.boxes)

    @property
    def params(self) -> int:
        return self.trainable + self.frozen

    @property
    def output_shape(self) -> Shape | None:
        return self.boxes[-1].shape if self.boxes and not self.problem else None


@dataclass(frozen=True)
class Diagram:
    """The networks of a run. ``layout`` says how they connect: ``"single"`` (one network),
    ``"stacked"`` (every chain but the last feeds the last, the meta network) or ``"optimizer"``
    (the second chain, applied to each weight of the first, updates it); ``link`` describes the
    connection in words."""

    chains: tuple[Chain, ...]
    layout: str = "single"
    link: str = ""
    note: str = ""

    @property
    def problems(self) -> list[str]:
        return [f"{chain.title}: {chain.problem}" for chain in self.chains if chain.problem]

    @property
    def params(self) -> int:
        return sum(chain.params for chain in self.chains)

    @property
    def trainable(self) -> int:
        return sum(chain.trainable for chain in self.chains)


class ShapeProblem(ValueError):
    """A layer cannot take the shape it is given; the message says what to change."""


def format_shape(shape: Shape) -> str:
    """``28×28×1`` for a feature map, ``784`` for a vector.

    Example:
        >>> format_shape((14, 14, 32)), format_shape((10,))
        ('14×14×32', '10')
    """
    return "×".join(str(size) for size in shape)


# -- one layer at a time, as Keras computes it ---------------------------------------------------

def _image_side(layer: LayerConfig, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeProblem(f"{layer.describe()} needs an image (height × width × channels) but gets "
                           f"{format_shape(shape)} numbers: move it before the flatten and dense layers")
    return shape


def _conv(layer: LayerConfig, name: str, shape: Shape) -> Box:
    height, width, channels = _image_side(layer, shape)
    size = layer.kernel_size
    if layer.padding == "valid":
        if size > min(height, width):
            raise ShapeProblem(f"its {size}×{size} kernel is larger than its {height}×{width} input with "
                               "padding 'valid': use padding 'same', a smaller kernel or fewer pooling layers")
        height, width = height - size + 1, width - size + 1
    weights = size * size * channels * layer.filters + layer.filters  # kernel and one bias per filter
    label = f"Conv2D({layer.filters}, {size}×{size} {layer.padding})"
    return Box(name, label, (height, width, layer.filters), trainable=weights,
               note=f"{size}×{size}×{channels} weights + 1 bias per filter")


def _pool(layer: LayerConfig, name: str, shape: Shape) -> Box:
    height, width, channels = _image_side(layer, shape)
    size = layer.pool_size
    if size > min(height, width):
        raise ShapeProblem(f"a {size}×{size} pool would make its {height}×{width} input smaller than 1×1: "
                           "use a smaller pool, fewer pooling layers or padding 'same' in the convolutions")
    return Box(name, layer.describe(), (height // size, width // size, channels), note="no weights: keeps the "
               f"largest of each {size}×{size} window")


def _dense(layer: LayerConfig, name: str, shape: Shape) -> Box:
    # Keras applies a dense layer to the last axis of whatever it is given.
    fan_in = shape[-1]
    return Box(name, layer.describe(), (*shape[:-1], layer.units), trainable=fan_in * layer.units + layer.units,
               note=f"{fan_in} weights + 1 bias per unit")


def layer_box(layer: LayerConfig, index: int, shape: Shape) -> Box:
    """The box of ``layer``, the ``index``-th (from 0) of its network, on an input of ``shape``.

    Raises:
        ShapeProblem: the layer cannot take that shape (a pool larger than the image, a
            convolution after a flatten...).

    Example:
        >>> layer_box(LayerConfig("conv2d", filters=8, kernel_size=3), 0, (28, 28, 1)).shape
        (26, 26, 8)
    """
    name = f"{layer.type}_{index + 1}"
    if layer.type == "dense":
        return _dense(layer, name, shape)
    if layer.type == "conv2d":
        return _conv(layer, name, shape)
    if layer.type == "max_pool":
        return _pool(layer, name, shape)
    if layer.type == "dropout":
        return Box(name, layer.describe(), shape, note="no weights: zeroes random inputs while training")
    if layer.type == "batch_norm":
        channels = shape[-1]
        return Box(name, layer.describe(), shape, trainable=2 * channels, frozen=2 * channels,
                   note="per channel: scale and offset (trained), running mean and variance (tracked)")
    if layer.type == "flatten":
        return Box(name, layer.describe(), (math.prod(shape),), note="no weights: lays the numbers out in a row")
    raise ShapeProblem("LSTM layers only belong in the meta network of a learned-optimizer run")


def _walk(layers: Sequence[LayerConfig], shape: Shape) -> tuple[list[Box], Shape, str]:
    """Boxes of ``layers`` on an input of ``shape`` (with the implicit channel reshape), the last
    shape, and a problem ("" when every layer fits)."""
    boxes: list[Box] = []
    if any(layer.type in ("conv2d", "max_pool") for layer in layers) and len(shape) == 2:
        shape = (*shape, 1)
        boxes.append(Box("add_channel", "Add a channel", shape, implicit=True,
                         note="added: the image becomes a 28×28×1 feature map"))
    for index, layer in enumerate(layers):
        try:
            box = layer_box(layer, index, shape)
        except ShapeProblem as problem:
            return boxes, shape, f"layer {index + 1} ({layer.describe()}): {problem}"
        boxes.append(box)
        shape = box.shape
    return boxes, shape, ""


def flatten_head(shape: Shape) -> list[Box]:
    """The flatten a builder adds before a head that reads a row of numbers; none after a vector."""
    if len(shape) <= 1:
        return []
    return [Box("flatten_head", "Flatten", (math.prod(shape),), implicit=True,
                note="added: the output layer reads a row of numbers")]


def classifier_head(shape: Shape, classes: int, what: str = "one unit per class") -> list[Box]:
    """The ``logits`` layer of ``classes`` units on features of ``shape``, then the softmax; ``what``
    says what its units are."""
    fan_in = shape[-1]
    return [Box("logits", f"Dense({classes}): logits", (classes,), trainable=fan_in * classes + classes,
                implicit=True, note=f"added: {what}"),
            Box("probabilities", "Softmax", (classes,), implicit=True, note="added: turns logits into probabilities")]


def _validation_problem(network: NetworkConfig, image_input: bool) -> str:
    try:
        network.validate(image_input=image_input)
    except ConfigError as error:
        return str(error)
    return ""


def _input_label(shape: Shape) -> str:
    return f"{format_shape(shape)} image" if len(shape) == 2 else f"{format_shape(shape)} numbers"


# -- whole networks --------------------------------------------------------------------------------

def network_chain(network: NetworkConfig, input_shape: Shape = IMAGE, classes: int = NUM_CLASSES,
                  title: str = "Base network", head: bool = True) -> Chain:
    """The boxes of ``build_network(network, input_shape, classes)`` (``head=False``: of the
    embedding, the layers and ``flatten_head`` without the logits).

    Example:
        >>> network_chain(NetworkConfig(()), head=False).boxes[-1].shape  # raw pixels
        (784,)
    """
    boxes, shape, problem = _walk(network.layers, tuple(input_shape))
    if not problem:
        boxes += flatten_head(shape)
        boxes += classifier_head(boxes[-1].shape if boxes else shape, classes) if head else []
        problem = _validation_problem(network, image_input=len(input_shape) == 2)
    return Chain(title, _input_label(tuple(input_shape)), tuple(boxes), problem)


def feature_width(network: NetworkConfig, input_shape: Shape = IMAGE) -> int:
    """Width of the penultimate features (what ``logits`` reads), or ShapeProblem.

    Example:
        >>> feature_width(NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64))))
        64
    """
    _, shape, problem = _walk(network.layers, tuple(input_shape))
    if problem:
        raise ShapeProblem(problem)
    return math.prod(shape)
