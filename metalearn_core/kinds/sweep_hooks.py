"""What a run kind tells the sweeps: :class:`SweepHooks` (a kind's ``RunKind.sweep``), made of the
:class:`Setting` s it can vary and the :class:`Objective` s its runs report.

A sweep varies a kind's runs over some of its settings: the network's (:data:`NETWORK`, acting on
the run's ``base`` network), the training loop's (:data:`TRAINING`, on ``config.training``) and the
kind's own, from its section. A kind lists the shared ones its runs use and defines its own in its
``sweep.py``; :mod:`metalearn_core.sweeps` reads nothing else of it. A kind whose ``sweep`` is None
is not offered for sweeps.

Example:
    >>> hooks = SweepHooks(shared=tuple(NETWORK), objectives={"val_accuracy": Objective(
    ...     "validation accuracy", "maximize", "validation", "accuracy")})
    >>> hooks.settings, hooks.objectives["val_accuracy"].direction
    ({}, 'maximize')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metalearn_core.config import ACTIVATIONS, LR_SCHEDULES, MAX_UNITS, OPTIMIZERS, RunConfig


@dataclass(frozen=True)
class Setting:
    """One setting a sweep can vary: its type and allowed values, then what the Sweep page offers first.

    Args:
        label: what it is, in words ("units per dense hidden layer").
        type: "int", "float" or "choice".
        low, high: the allowed range of a number.
        choices: the allowed values of a choice.
        log: a range of it is sampled on a log scale unless the space says otherwise.
        short: the name on its "search this" box.
        default: the range ``(low, high)`` or the choices the page offers first.
        marks: the values the page's range slider stops at (a log-scale setting's); without them the
            slider is ``slider``: ``(lowest, highest, step)``.
    """

    label: str
    type: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()
    log: bool = False
    short: str = ""
    default: tuple[Any, ...] = ()
    marks: tuple[float, ...] = ()
    slider: tuple[float, float, float] = ()


@dataclass(frozen=True)
class Objective:
    """What a trial is scored on: its label, which way is better, and the (series, metric) its runs
    record it under, once per epoch or validation interval."""

    label: str
    direction: str  # "maximize" or "minimize"
    series: str
    metric: str


def apply_to_settings(config: RunConfig, params: Mapping[str, Any]) -> RunConfig:
    """``config`` with the sampled values of the kind's own settings put in its section (each
    setting named as the section's field): the :attr:`SweepHooks.apply` of most kinds."""
    if not params:
        return config
    return config.replace(settings=dataclasses.replace(config.settings, **params))


@dataclass(frozen=True)
class SweepHooks:
    """A kind's sweep settings and objective.

    Args:
        shared: the names of the shared settings (:data:`NETWORK`, :data:`TRAINING`) its runs use.
        settings: its own settings, by name.
        objectives: what its trials may be scored on, by name (the first is the page's default).
            Never a test-set score: choosing on the test set would make the test score a lie.
        apply: ``(config, params) -> config``: a sampled point's values of its own settings put in
            a run config of this kind.
        check: ``(base config, objective name)``, raising ConfigError when a sweep of that base
            cannot be scored (a base run without validation data).
        min_resource: the first rung of successive halving (ASHA), in the steps its runs report the
            objective at: a number, or "auto" for Optuna to estimate it from the first trial.
        searched: the settings ticked on the Sweep page's first visit.
    """

    shared: tuple[str, ...] = ()
    settings: Mapping[str, Setting] = field(default_factory=dict)
    objectives: Mapping[str, Objective] = field(default_factory=dict)
    apply: Callable[[RunConfig, Mapping[str, Any]], RunConfig] = apply_to_settings
    check: Callable[[RunConfig, str], None] | None = None
    min_resource: int | str = "auto"
    searched: tuple[str, ...] = ()


LEARNING_RATE_MARKS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)

# The network's settings act on the run's base network (see metalearn_core.sweeps.space).
NETWORK: dict[str, Setting] = {
    "hidden_layers": Setting("number of dense hidden layers", "int", 1, 8, short="hidden layers", default=(1, 3),
                             slider=(1, 8, 1)),
    "units": Setting("units per dense hidden layer", "int", 1, MAX_UNITS, log=True, short="units per layer",
                     default=(32, 256), marks=(4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)),
    "activation": Setting("activation of the dense hidden layers", "choice", choices=ACTIVATIONS, short="activation",
                          default=("relu", "tanh")),
    "dropout": Setting("dropout rate", "float", 0.0, 0.9, short="dropout", default=(0.0, 0.5), slider=(0.0, 0.9, 0.05)),
}

# The training loop's settings act on ``config.training``.
TRAINING: dict[str, Setting] = {
    "epochs": Setting("epochs", "int", 1, 500, short="epochs", default=(1, 10), slider=(1, 50, 1)),
    "batch_size": Setting("batch size", "int", 1, 8192, log=True, short="batch size", default=(32, 256),
                          marks=(8, 16, 32, 64, 128, 256, 512, 1024, 2048)),
    "optimizer": Setting("optimizer", "choice", choices=tuple(name for name in OPTIMIZERS if name != "learned"),
                         short="optimizer", default=("adam", "sgd")),
    "learning_rate": Setting("learning rate", "float", 1e-7, 100.0, log=True, short="learning rate",
                             default=(1e-4, 1e-2), marks=LEARNING_RATE_MARKS),
    "lr_schedule": Setting("learning-rate schedule", "choice", choices=LR_SCHEDULES, short="rate schedule",
                           default=("constant", "cosine")),
}
