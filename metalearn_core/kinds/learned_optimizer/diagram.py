"""The learned-optimizer run's diagram: the base network (the optimizee), and the optimizer network
applied to each of its weights, as :mod:`metalearn_core.kinds.learned_optimizer.specs` builds it
(see :mod:`metalearn_core.models.diagram` for the parts).

Example:
    >>> meta = NetworkConfig((LayerConfig("lstm", units=20),))
    >>> diagram(NetworkConfig(()), meta, {}).layout
    'optimizer'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metalearn_core.config import ConfigError, NetworkConfig, RunConfig
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig, optimizee_shape
from metalearn_core.kinds.learned_optimizer.presets import optimizee_network
from metalearn_core.kinds.learned_optimizer.run import specs
from metalearn_core.kinds.learned_optimizer.specs import OptimizerNetSpec
from metalearn_core.models.diagram import Box, Chain, Diagram, network_chain


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
    settings = LearnedOptimizerConfig(preprocess=preprocess, momentum_inputs=momentum_inputs, design=design)
    config = RunConfig(kind="learned_optimizer", base=optimizee_network(), meta=meta, settings=settings)
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


def nominal_chain(title: str, spec: OptimizerNetSpec) -> Chain:
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
        return nominal_chain(title, spec)
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


def diagram(base: NetworkConfig, meta: NetworkConfig, settings: Mapping[str, Any]) -> Diagram:
    """The ``RunKind.diagram`` hook: :func:`learned_optimizer_diagram` of the editors' networks and
    learned-optimizer values (``settings``: the section's fields as the Train page gathers them; a
    missing one takes its default)."""
    defaults = LearnedOptimizerConfig()
    return learned_optimizer_diagram(base, meta, bool(settings.get("preprocess", defaults.preprocess)),
                                     bool(settings.get("momentum_inputs", defaults.momentum_inputs)),
                                     str(settings.get("design", defaults.design)))
