"""The ``learned_optimizer`` kind's config section and the shapes of networks it can train and be.

:class:`LearnedOptimizerConfig` is what a user sets. A run turns it, with the run's base and meta
networks, into the three specs of :mod:`metalearn_core.kinds.learned_optimizer.specs` (the optimizee,
the optimizer network, the meta-training) in one function, :func:`metalearn_core.kinds.learned_optimizer.run.specs`,
which nothing else repeats. A setting that a spec merely copies takes its default from that spec, so every
default is written once, in ``specs.py``, and a default run trains the specs' defaults: ``steps`` and
``batch_size`` (OptimizeeSpec), ``unroll``, ``meta_learning_rate``, ``iterations``, ``budget_seconds``,
``seed``, ``method`` and ``loss_clip`` (MetaTrainSpec), ``design`` (OptimizerNetSpec's kind), and
``preprocess``, ``p`` and ``output_scale`` (those of :meth:`OptimizerNetSpec.dense`, the only designs
that read them being the dense one and the paper's LSTM).

Example:
    >>> LearnedOptimizerConfig().method == MetaTrainSpec().method
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metalearn_core.config import (
    ConfigError,
    NetworkConfig,
    check_bool,
    check_choice,
    check_int,
    check_range,
)
from metalearn_core.kinds.learned_optimizer.specs import (
    ACTIVATIONS,
    MAX_SEED,
    META_METHODS,
    MetaTrainSpec,
    OptimizeeSpec,
    OptimizerNetSpec,
)

DESIGNS = ("nominal", "dense")  # for a dense meta network; LSTM layers are always the paper's LSTM
_OPTIMIZEE, _DENSE, _META = OptimizeeSpec(), OptimizerNetSpec.dense(), MetaTrainSpec()


@dataclass(frozen=True)
class LearnedOptimizerConfig:
    """A learned-optimizer run (Andrychowicz et al. 2016): the meta network learns to train the base network.

    The base network ("optimizee") must be dense layers after a flatten, all with one activation;
    the meta network (the optimizer, applied to every weight separately) must be LSTM layers
    (the paper: two of 20) or dense layers. Dense layers are the ``design``: ``"nominal"`` (the default,
    a per-parameter MLP correcting a nominal Adam step, :meth:`OptimizerNetSpec.nominal`) or ``"dense"``
    (an MLP on the gradient and its normalised momenta, :meth:`OptimizerNetSpec.dense`). Meta-training runs
    ``iterations`` trajectories of ``steps`` training steps of the base network on batches of ``batch_size``,
    each from a fresh random initialisation, all seeded by ``seed``: the budget is in trajectories, so the
    same seed gives the same optimizer whatever the machine's load. ``method`` ``"backprop"``
    back-propagates through ``unroll`` steps at a time (the paper); ``"es"`` estimates the meta-gradient by
    antithetic evolution strategies on whole trajectories. ``budget_seconds`` is only a wall-clock safety
    cap. Losses entering the meta-loss are clipped at ``loss_clip``. The baselines' learning rates are
    tuned on ``tune_trajectories`` meta-training trajectories; everything is then scored on
    ``eval_inits`` held-out initialisations. ``reuse_optimizer_of`` (a run id) skips meta-training
    and evaluates that run's trained optimizer on this run's base network and steps: the
    generalisation checks. The module docstring says where the defaults come from.
    """

    # The dense design's and the paper's LSTM's inputs and output scale (the nominal design has its own).
    preprocess: bool = _DENSE.preprocess
    p: float = _DENSE.p
    momentum_inputs: bool = True  # the dense design's momenta (OptimizerNetSpec.dense's momentum_decays)
    output_scale: float = _DENSE.output_scale
    unroll: int = _META.unroll
    steps: int = _OPTIMIZEE.steps
    batch_size: int = _OPTIMIZEE.batch_size
    meta_learning_rate: float = _META.meta_learning_rate
    iterations: int = _META.iterations  # meta-training trajectories: the budget
    budget_seconds: float = _META.budget_seconds  # wall-clock safety cap only
    eval_inits: int = 20
    tune_trajectories: int = 5
    grid_points: int = 10  # learning rates tried per hand-written optimizer, log-spaced
    reuse_optimizer_of: int = 0
    seed: int = _META.seed
    design: str = OptimizerNetSpec().kind
    method: str = _META.method
    loss_clip: float = _META.loss_clip

    @staticmethod
    def upgrade(data: dict[str, Any], version: int) -> dict[str, Any]:
        """A section saved in a version-1 config: one without ``design`` predates the nominal design,
        evolution strategies and the loss clip, so it meant the dense MLP trained by backprop, unclipped."""
        if version == 1 and "design" not in data:
            return {"design": "dense", "method": "backprop", "loss_clip": 0.0, **data}
        return data

    def __post_init__(self) -> None:
        where = "learned optimizer"
        check_choice(where, "design", self.design, DESIGNS)
        check_choice(where, "meta-training method", self.method, META_METHODS)
        check_range(where, "loss clip", self.loss_clip, 0.0, 1000.0)
        check_bool(where, "preprocess", self.preprocess)
        check_bool(where, "momentum inputs", self.momentum_inputs)
        check_range(where, "p", self.p, 1.0, 50.0)
        check_range(where, "output scale", self.output_scale, 1e-4, 10.0)
        check_int(where, "unroll", self.unroll, 1, 200)
        check_int(where, "steps", self.steps, 1, 10_000)
        if self.unroll > self.steps:
            raise ConfigError(f"{where}: the unroll ({self.unroll}) cannot be longer than the trajectory "
                              f"({self.steps} steps)")
        check_int(where, "batch size", self.batch_size, 1, 8192)
        check_range(where, "meta learning rate", self.meta_learning_rate, 1e-6, 1.0)
        check_int(where, "iterations", self.iterations, 1, 10_000_000)
        check_range(where, "time budget", self.budget_seconds, 1.0, 86_400.0)
        check_int(where, "evaluation initialisations", self.eval_inits, 2, 1000)
        check_int(where, "tuning trajectories", self.tune_trajectories, 1, 100)
        check_int(where, "grid points", self.grid_points, 2, 50)
        check_int(where, "reused run", self.reuse_optimizer_of, 0, 2**31 - 1)
        check_int(where, "seed", self.seed, 0, MAX_SEED)


def optimizee_shape(base: NetworkConfig) -> tuple[tuple[int, ...], str]:
    """(hidden units, activation) of a base network a learned optimizer can train, else ConfigError."""
    kinds = [layer.type for layer in base.layers]
    dense = [layer for layer in base.layers if layer.type == "dense"]
    if kinds != ["flatten"] + ["dense"] * len(dense) or not dense:
        raise ConfigError("base network: a learned optimizer trains a multilayer perceptron: a flatten layer "
                          "then one or more dense layers (the paper: one of 20 sigmoid units)")
    activations = {layer.activation for layer in dense}
    if len(activations) > 1 or not activations <= set(ACTIVATIONS):
        raise ConfigError(f"base network: give every dense layer the same activation, one of "
                          f"{', '.join(ACTIVATIONS)} (got {', '.join(sorted(activations))})")
    return tuple(layer.units for layer in dense), activations.pop()


def optimizer_shape(meta: NetworkConfig) -> tuple[str, tuple[int, ...]]:
    """("lstm" or "dense", hidden units) of a meta network usable as a learned optimizer, else ConfigError."""
    kinds = {layer.type for layer in meta.layers}
    if not meta.layers or len(kinds) != 1 or not kinds <= {"lstm", "dense"}:
        raise ConfigError("meta network: a learned optimizer is LSTM layers (the paper: two of 20 units) "
                          "or dense layers (cheaper), not a mix and not empty")
    for index, layer in enumerate(meta.layers, start=1):
        layer.validate(f"meta network: layer {index}")
    return kinds.pop(), tuple(layer.units for layer in meta.layers)


def check(config: Any) -> None:
    """A learned-optimizer run needs an MLP to train (the base) and an LSTM or dense optimizer (the meta)."""
    optimizee_shape(config.base)
    optimizer_shape(config.meta)
