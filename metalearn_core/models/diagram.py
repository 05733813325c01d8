"""The configured network at a glance: each layer's output shape and parameter count.

Worked out in plain Python (no TensorFlow, so the Train page can redraw it on every slider move)
exactly as the builders build the networks: :func:`metalearn_core.models.networks.build_network`
(the implicit ``add_channel`` reshape, ``flatten_head`` and the ``logits`` head), the stacked
meta network (:mod:`metalearn_core.kinds.stacked.run`), the learned optimizer and its optimizee
(:mod:`metalearn_core.kinds.learned_optimizer.specs`) and the few-shot learners (the Keras
embedding of Prototypical Networks, the functional network of MAML, Meta-SGD and Reptile).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from metalearn_core.config import IMAGE_SIZE, NUM_CLASSES, ConfigError, LayerConfig, NetworkConfig
from metalearn_core.kinds.learned_optimizer.config import (
    LearnedOptimizerConfig,
    optimizee_shape,
)
from metalearn_core.kinds.learned_optimizer.specs import OptimizerNetSpec
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig

Shape = tuple[int, ...]
IMAGE: Shape = (IMAGE_SIZE, IMAGE_SIZE)
GRADIENT_ALGORITHMS = ("maml", "fomaml", "metasgd", "reptile")


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


def _flatten_head(shape: Shape) -> list[Box]:
    if len(shape) <= 1:
        return []
    return [Box("flatten_head", "Flatten", (math.prod(shape),), implicit=True,
                note="added: the output layer reads a row of numbers")]


def _classifier_head(shape: Shape, classes: int, what: str = "one unit per class") -> list[Box]:
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
        boxes += _flatten_head(shape)
        boxes += _classifier_head(boxes[-1].shape if boxes else shape, classes) if head else []
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


def optimizer_spec(meta: NetworkConfig, preprocess: bool = True, momentum_inputs: bool = True,
                   design: str = "dense") -> OptimizerNetSpec:
    """The optimizer network a learned-optimizer run with this meta network and these settings trains.

    :func:`metalearn_core.kinds.learned_optimizer.run.specs` itself chooses it, from a run config with the
    paper's base network in place of the page's (the base shapes only the optimizee, and a base that
    cannot be trained must not hide the optimizer). ConfigError when the meta network or settings cannot run.

    Example:
        >>> meta = NetworkConfig((LayerConfig("dense", units=32),))
        >>> optimizer_spec(meta, design="nominal").kind, optimizer_spec(meta).kind
        ('nominal', 'dense')
    """
    from metalearn_core.config import RunConfig
    from metalearn_core.kinds.learned_optimizer.run import specs
    from metalearn_core.presets import optimizee_network

    settings = LearnedOptimizerConfig(preprocess=preprocess, momentum_inputs=momentum_inputs, design=design)
    config = RunConfig(kind="learned_optimizer", base=optimizee_network(), meta=meta, learned_optimizer=settings)
    return specs(config)[1]


def _decays(values: Sequence[float]) -> str:
    return ", ".join(f"{value:g}" for value in values)


def _nominal_inputs(spec: OptimizerNetSpec) -> str:
    """The nominal design's inputs per weight, counted from the spec (they add up to ``spec.input_width``)."""
    momenta = len(spec.momentum_decays)
    parts = [f"the gradient, the weight itself, {momenta} momenta (decays {_decays(spec.momentum_decays)}) and the "
             f"gradient's RMS (decay {spec.rms_decay:g}); the gradient and the {momenta} momenta divided by that "
             f"RMS ({1 + momenta} Adam-normalised ratios)"]
    rms_decays = spec.rms_decays
    if rms_decays:
        parts.append(f"{len(rms_decays)} more RMS (decays {_decays(rms_decays)}), each with the gradient and Adam's "
                     f"momentum divided by it ({3 * len(rms_decays)} numbers)")
    text = "; ".join(parts) + ": each divided by its root mean square over the weight's tensor"
    if spec.time_scales:
        text += (f"; and tanh(t / s) of the step count t for {len(spec.time_scales)} timescales s "
                 f"({_decays(spec.time_scales)})")
    return text


def _nominal_chain(title: str, spec: OptimizerNetSpec) -> Chain:
    """The nominal design (:meth:`OptimizerNetSpec.nominal`): an MLP whose two outputs correct Adam's step."""
    boxes, width = [], spec.input_width
    for index, size in enumerate(spec.hidden):
        boxes.append(Box(f"dense_{index + 1}", f"Dense({size}, relu)", (size,), trainable=width * size + size,
                         note=f"{width} weights + 1 bias per unit; the optimizer always uses relu"))
        width = size
    boxes.append(Box("output", "Dense(2): direction and log-magnitude", (2,), trainable=2 * width + 2, implicit=True,
                     note="added: a direction d and a log-magnitude a for this one weight; it starts at zero, so "
                          "the untrained optimizer is Adam exactly"))
    mix = spec.mix_size
    extra = f" and {mix} mix weights moving Adam's direction towards the other ratios" if mix else ""
    boxes.append(Box("update", "Corrected Adam step: update", (1,), trainable=1 + mix, implicit=True,
                     note=f"added: -rate × exp(R·tanh(a / R)) × (Adam + d), R = {spec.magnitude_range:g}; learns the "
                          f"scalar rate (from {spec.nominal_rate:g}, in log space){extra}"))
    mixed = f", moved towards the other ratios by {mix} meta-learned mix weights," if mix else ""
    note = (f"inputs: {_nominal_inputs(spec)}. The update is the nominal Adam step (m / √v, beta 0.9 and "
            f"{spec.rms_decay:g}){mixed} plus the direction, scaled by exp of the bounded log-magnitude (within "
            f"exp(±{spec.magnitude_range:g})) and by a meta-learned scalar rate starting at {spec.nominal_rate:g}")
    return Chain(title, f"{spec.input_width} numbers per weight", tuple(boxes), note=note)


def _optimizer_chain(meta: NetworkConfig, preprocess: bool, momentum_inputs: bool, design: str = "dense") -> Chain:
    title = "Optimizer (meta network)"
    try:
        spec = optimizer_spec(meta, preprocess, momentum_inputs, design)
    except ConfigError as error:
        return Chain(title, "each weight's gradient", problem=str(error))
    if spec.kind == "nominal":
        return _nominal_chain(title, spec)
    inputs = ["log-magnitude and sign of the gradient" if spec.preprocess else "the gradient"]
    inputs += [f"{1 + len(spec.momentum_decays)} Adam-normalised momenta"] if spec.momentum_decays else []
    boxes, width = [], spec.input_width
    for index, size in enumerate(spec.hidden):
        if spec.kind == "lstm":  # four gates, each reading the layer's input and its own last output
            boxes.append(Box(f"lstm_{index + 1}", f"LSTM({size})", (size,), trainable=4 * size * (width + size + 1),
                             note="4 gates × (inputs + own state + 1 bias) per unit"))
        else:
            boxes.append(Box(f"dense_{index + 1}", f"Dense({size}, relu)", (size,), trainable=width * size + size,
                             note=f"{width} weights + 1 bias per unit; the optimizer always uses relu"))
        width = size
    boxes.append(Box("update", "Dense(1): update", (1,), trainable=width + 1, implicit=True,
                     note="added: the update of this one weight, times the output scale"))
    return Chain(title, f"{spec.input_width} numbers per weight", tuple(boxes),
                 note="inputs: " + " and ".join(inputs))


def learned_optimizer_diagram(base: NetworkConfig, meta: NetworkConfig, preprocess: bool = True,
                              momentum_inputs: bool = True, design: str = "dense") -> Diagram:
    """The base network (the optimizee), and the optimizer network applied to each of its weights.

    ``design`` is the run's (``LearnedOptimizerConfig.design``): a dense meta network with ``"nominal"`` is
    drawn as :meth:`OptimizerNetSpec.nominal`, as the run builds it; LSTM layers are always the paper's LSTM.
    """
    title = "Base network (trained by the optimizer)"
    try:
        optimizee_shape(base)
        optimizee = network_chain(base, title=title)
    except ConfigError as error:
        optimizee = Chain(title, "28×28 image", problem=str(error))
    optimizer = _optimizer_chain(meta, preprocess, momentum_inputs, design)
    link = ""
    if not optimizee.problem:
        link = (f"The optimizer runs once for each of the base network's {optimizee.params:,} weights, with the same "
                f"{optimizer.params:,} parameters every time: it reads that weight's gradient and writes its update.")
    return Diagram((optimizee, optimizer), "optimizer", link)


# -- few-shot learners -------------------------------------------------------------------------------

def _functional_conv(network: NetworkConfig) -> list[Box]:
    """The functional conv network: conv 3×3 SAME without bias, batch norm (scale and offset only,
    batch statistics), relu, 2×2 max-pool SAME (rounding up), as ``functional.forward`` runs it."""
    shape: Shape = (*IMAGE, 1)
    boxes = [Box("add_channel", "Add a channel", shape, implicit=True, note="added: 28×28×1")]
    for index, layer in enumerate(network.layers):
        name, (height, width, channels) = f"{layer.type}_{index + 1}", shape
        if layer.type == "conv2d":
            shape = (height, width, layer.filters)
            box = Box(name, f"Conv2D({layer.filters}, 3x3)", shape, trainable=9 * channels * layer.filters,
                      note="no bias: batch norm subtracts the mean right after")
        elif layer.type == "batch_norm":
            box = Box(name, "BatchNorm + relu", shape, trainable=2 * channels,
                      note="scale and offset per channel; statistics of each batch, no running averages")
        elif layer.type == "max_pool":
            shape = (math.ceil(height / 2), math.ceil(width / 2), channels)
            box = Box(name, "MaxPool(2x2)", shape, note="no weights; padding 'same' rounds the side up")
        else:  # the trailing flatten learner_shape allows
            shape = (math.prod(shape),)
            box = Box(name, "Flatten", shape)
        boxes.append(box)
    return boxes + _flatten_head(shape)


def _functional_mlp(network: NetworkConfig) -> list[Box]:
    shape: Shape = (math.prod(IMAGE),)
    boxes = [] if network.layers[0].type == "flatten" else [Box("flatten_head", "Flatten", shape, implicit=True)]
    for index, layer in enumerate(network.layers):
        box = layer_box(layer, index, shape)
        boxes.append(box)
        shape = box.shape
    return boxes


def fewshot_diagram(network: NetworkConfig, algorithm: str = "protonet", ways: int = 5) -> Diagram:
    """The few-shot learner: the embedding of Prototypical Networks (no output layer), or the
    functional network of MAML, first-order MAML, Meta-SGD and Reptile with a ``ways``-unit head.

    Example:
        >>> from metalearn_core.kinds.fewshot.setup import fewshot_network
        >>> fewshot_diagram(fewshot_network("conv"), "maml", ways=5).chains[0].boxes[-2].shape
        (5,)
    """
    from metalearn_core.kinds.fewshot.setup import learner_shape

    if algorithm not in GRADIENT_ALGORITHMS:
        chain = network_chain(network, head=False, title="Learner network (embedding)")
        features = chain.boxes[-1].shape[0] if chain.output_shape else 0
        note = (f"No output layer: a query image gets the label of the nearest class mean of these {features:,} "
                "features." if features else "")
        return Diagram((chain,), note=note)
    title = "Learner network"
    try:
        kind = learner_shape(network)[0]
        boxes = _functional_conv(network) if kind == "conv" else _functional_mlp(network)
    except ConfigError as error:
        return Diagram((Chain(title, "28×28 image", problem=str(error)),))
    boxes += _classifier_head(boxes[-1].shape, ways, what=f"one unit per class of a {ways}-way task")
    chain = Chain(title, "28×28 image", tuple(boxes))
    note = ""
    if algorithm == "metasgd":
        note = (f"Meta-SGD also meta-learns a learning rate for each of these {chain.params:,} weights: "
                f"{2 * chain.params:,} numbers in all.")
    return Diagram((chain,), note=note)


# -- the Train page's run kinds --------------------------------------------------------------------

def _stacked(base: NetworkConfig, meta: NetworkConfig, sections: dict[str, dict]) -> Diagram:
    stacking = sections.get("stacking") or {}
    defaults = StackingConfig()
    return stacked_diagram(base, meta, stacking.get("learners", defaults.learners),
                           stacking.get("meta_input", defaults.meta_input))


def _learned_optimizer(base: NetworkConfig, meta: NetworkConfig, sections: dict[str, dict]) -> Diagram:
    settings = sections.get("learned_optimizer") or {}
    defaults = LearnedOptimizerConfig()
    return learned_optimizer_diagram(base, meta, bool(settings.get("preprocess", defaults.preprocess)),
                                     bool(settings.get("momentum_inputs", defaults.momentum_inputs)),
                                     str(settings.get("design", defaults.design)))


def _base(base: NetworkConfig, meta: NetworkConfig, sections: dict[str, dict]) -> Diagram:
    return Diagram((network_chain(base),))


_TRAIN_KINDS: dict[str, Callable[[NetworkConfig, NetworkConfig, dict[str, dict]], Diagram]] = {
    "stacked": _stacked, "learned_optimizer": _learned_optimizer}


def train_diagram(kind: str, base: NetworkConfig, meta: NetworkConfig,
                  sections: dict[str, Any] | None = None) -> Diagram:
    """The diagram of a Train-page run of ``kind`` from the editors' values (a run config need
    not exist yet: the diagram also shows why one cannot be built). ``sections`` are the kind's
    section values by name, as the page gathers them ({"stacking": {...}}); a kind without its
    own layout shows its base network.

    Example:
        >>> train_diagram("stacked", NetworkConfig(()), NetworkConfig(())).layout
        'stacked'
    """
    return _TRAIN_KINDS.get(kind, _base)(base, meta, sections or {})
