"""The ``learned_optimizer`` kind's config section and the shapes of networks it can train and be."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metalearn_core.config import ConfigError, NetworkConfig, _check_int, _check_range

OPTIMIZEE_ACTIVATIONS = ("sigmoid", "relu", "tanh")
DESIGNS = ("nominal", "dense")  # for a dense meta network; LSTM layers are always the paper's LSTM
METHODS = ("backprop", "es")


@dataclass(frozen=True)
class LearnedOptimizerConfig:
    """A learned-optimizer run (Andrychowicz et al. 2016): the meta network learns to train the base network.

    The base network ("optimizee") must be dense layers after a flatten, all with one activation;
    the meta network (the optimizer, applied to every weight separately) must be LSTM layers
    (the paper: two of 20) or dense layers. Dense layers are the ``design``: ``"nominal"`` (the default,
    a per-parameter MLP correcting a nominal Adam step, :meth:`OptimizerNetSpec.nominal`) or ``"dense"``
    (the earlier MLP on the gradient and its normalised momenta). Meta-training runs ``iterations``
    trajectories of ``steps`` training steps of the base network on batches of ``batch_size``, each from a
    fresh random initialisation, all seeded by ``seed``: the budget is in trajectories, so the same seed
    gives the same optimizer whatever the machine's load. ``method`` ``"backprop"`` back-propagates
    through ``unroll`` steps at a time (the paper); ``"es"`` estimates the meta-gradient by antithetic
    evolution strategies on whole trajectories. ``budget_seconds`` is only a wall-clock safety cap (it
    was the budget in configs written before; those still load). Losses entering the meta-loss are
    clipped at ``loss_clip``. The baselines' learning rates are
    tuned on ``tune_trajectories`` meta-training trajectories; everything is then scored on
    ``eval_inits`` held-out initialisations. ``reuse_optimizer_of`` (a run id) skips meta-training
    and evaluates that run's trained optimizer on this run's base network and steps: the
    generalisation checks.
    """

    preprocess: bool = True
    p: float = 10.0
    # The paper's LSTM reads only the gradient and scales its output by 0.1. The default dense
    # optimizer also reads Adam-normalised momenta at three timescales, features of order 1 whose
    # tuned step is about 0.01 (metalearn_core.kinds.learned_optimizer.specs.OptimizerNetSpec explains why).
    momentum_inputs: bool = True
    output_scale: float = 0.01
    unroll: int = 20
    steps: int = 100
    batch_size: int = 128
    meta_learning_rate: float = 3e-3
    iterations: int = 600  # meta-training trajectories: the budget
    budget_seconds: float = 1800.0  # wall-clock safety cap only (the budget in configs written before)
    eval_inits: int = 20
    tune_trajectories: int = 5
    grid_points: int = 10  # learning rates tried per hand-written optimizer, log-spaced
    reuse_optimizer_of: int = 0
    seed: int = 0
    design: str = "nominal"
    # Antithetic ES measured better than back-propagation through 20-step truncations with the nominal
    # design (specs.MetaTrainSpec and the README give the figures); the paper's LSTM preset keeps backprop.
    method: str = "es"
    loss_clip: float = 4.0

    def __post_init__(self) -> None:
        where = "learned optimizer"
        if self.design not in DESIGNS:
            raise ConfigError(f"{where}: unknown design {self.design!r}; choose one of {', '.join(DESIGNS)}")
        if self.method not in METHODS:
            raise ConfigError(f"{where}: unknown meta-training method {self.method!r}; "
                              f"choose one of {', '.join(METHODS)}")
        _check_range(where, "loss clip", self.loss_clip, 0.0, 1000.0)
        for name in ("preprocess", "momentum_inputs"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{where}: {name.replace('_', ' ')} must be true or false")
        _check_range(where, "p", self.p, 1.0, 50.0)
        _check_range(where, "output scale", self.output_scale, 1e-4, 10.0)
        _check_int(where, "unroll", self.unroll, 1, 200)
        _check_int(where, "steps", self.steps, 1, 10_000)
        if self.unroll > self.steps:
            raise ConfigError(f"{where}: the unroll ({self.unroll}) cannot be longer than the trajectory "
                              f"({self.steps} steps)")
        _check_int(where, "batch size", self.batch_size, 1, 8192)
        _check_range(where, "meta learning rate", self.meta_learning_rate, 1e-6, 1.0)
        _check_int(where, "iterations", self.iterations, 1, 10_000_000)
        _check_range(where, "time budget", self.budget_seconds, 1.0, 86_400.0)
        _check_int(where, "evaluation initialisations", self.eval_inits, 2, 1000)
        _check_int(where, "tuning trajectories", self.tune_trajectories, 1, 100)
        _check_int(where, "grid points", self.grid_points, 2, 50)
        _check_int(where, "reused run", self.reuse_optimizer_of, 0, 2**31 - 1)
        _check_int(where, "seed", self.seed, 0, 2**31 - 1)


def optimizee_shape(base: NetworkConfig) -> tuple[tuple[int, ...], str]:
    """(hidden units, activation) of a base network a learned optimizer can train, else ConfigError."""
    kinds = [layer.type for layer in base.layers]
    dense = [layer for layer in base.layers if layer.type == "dense"]
    if kinds != ["flatten"] + ["dense"] * len(dense) or not dense:
        raise ConfigError("base network: a learned optimizer trains a multilayer perceptron: a flatten layer "
                          "then one or more dense layers (the paper: one of 20 sigmoid units)")
    activations = {layer.activation for layer in dense}
    if len(activations) > 1 or not activations <= set(OPTIMIZEE_ACTIVATIONS):
        raise ConfigError(f"base network: give every dense layer the same activation, one of "
                          f"{', '.join(OPTIMIZEE_ACTIVATIONS)} (got {', '.join(sorted(activations))})")
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
