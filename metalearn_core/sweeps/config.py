"""A sweep's definition: the base run, the search space, the sampler, the pruner, the objective and
the budget; validated at construction, with a JSON round trip (stored as ``sweep.json``).

The objectives a sweep may score its trials on, and the checks of its base run, are its kind's
(``RunKind.sweep``: :class:`~metalearn_core.kinds.sweep_hooks.SweepHooks`).

Example:
    >>> sweep = SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 4}}), trials=5)
    >>> SweepConfig.from_json(sweep.to_json()) == sweep
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from metalearn_core.config import ConfigError, RunConfig, check_choice, check_int, check_range
from metalearn_core.kinds.sweep_hooks import Objective
from metalearn_core.safe_input import InputError, has_control_characters, load_json
from metalearn_core.sweeps.space import SearchSpace, hooks_of, sweep_kinds

SAMPLERS = ("tpe", "random", "grid")
MAX_GRID_CELLS = 100_000  # Optuna's grid sampler lists every cell up front
PRUNERS = ("none", "median", "asha")
SAMPLER_LABELS = {"tpe": "TPE (learns from earlier trials)", "random": "random", "grid": "grid (every combination)"}
PRUNER_LABELS = {"none": "none (every trial runs to the end)", "median": "median (stop trials below the median)",
                 "asha": "ASHA (successive halving)"}


def objective_names() -> tuple[str, ...]:
    """Every objective some kind's sweep offers, in registry order."""
    return tuple(dict.fromkeys(name for kind in sweep_kinds() for name in hooks_of(kind).objectives))


def objective_of(kind: str, objective: str) -> Objective:
    """The objective called ``objective`` of a sweep of ``kind`` runs; ConfigError when its runs do not
    report it.

    Example:
        >>> objective_of("base", "val_loss").direction
        'minimize'
    """
    offered = hooks_of(kind).objectives
    if objective not in offered:
        raise ConfigError(f"sweep: {kind} runs report {' and '.join(item.label for item in offered.values())} "
                          f"only; use objective {' or '.join(offered)}")
    return offered[objective]


def objective_source(kind: str, objective: str) -> tuple[str, str]:
    """The (series, metric) a run of ``kind`` records the objective under, once per epoch or
    validation interval (as its kind's sweep hooks say)."""
    found = objective_of(kind, objective)
    return found.series, found.metric


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep's controller needs; every trial is ``space.apply(base, sampled point)``.

    ``trials`` and ``time_budget`` (seconds, 0 = none) bound the sweep, whichever comes first:
    no trial starts once either is spent and the trials in flight run to their end. ``seed``
    seeds the sampler.
    """

    space: SearchSpace
    base: RunConfig = field(default_factory=RunConfig)
    name: str = ""
    sampler: str = "tpe"
    pruner: str = "none"
    objective: str = "val_accuracy"
    trials: int = 20
    time_budget: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        where = "sweep"
        if not isinstance(self.space, SearchSpace):
            raise ConfigError(f"{where}: space must be a SearchSpace")
        check_choice(where, "sampler", self.sampler, SAMPLERS)
        check_choice(where, "pruner", self.pruner, PRUNERS)
        check_choice(where, "objective", self.objective, objective_names())
        check_int(where, "trials", self.trials, 1, 10_000)
        check_range(where, "time budget", self.time_budget, 0.0, 30 * 86_400.0)
        check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError(f"{where}: name must be text of at most 200 characters")
        if has_control_characters(self.name):
            raise ConfigError(f"{where}: name cannot hold control characters (newlines, tabs, terminal escape codes)")
        objective_of(self.base.kind, self.objective)
        check = hooks_of(self.base.kind).check
        if check is not None:
            check(self.base, self.objective)
        self.space.check(self.base)
        if self.sampler == "grid" and self.space.grid_size() > MAX_GRID_CELLS:
            raise ConfigError(f"{where}: the grid has {self.space.grid_size():,} combinations, more than the "
                              f"{MAX_GRID_CELLS:,} a grid sweep can walk: use fewer values (a larger step) or "
                              "the TPE or random sampler")

    @property
    def direction(self) -> str:
        return objective_of(self.base.kind, self.objective).direction

    @property
    def objective_label(self) -> str:
        return objective_of(self.base.kind, self.objective).label

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sampler": self.sampler, "pruner": self.pruner, "objective": self.objective,
                "trials": self.trials, "time_budget": self.time_budget, "seed": self.seed,
                "space": self.space.to_dict(), "base": self.base.to_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> SweepConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"a sweep must be a JSON object, got {type(data).__name__}")
        known = {"name", "sampler", "pruner", "objective", "trials", "time_budget", "seed", "space", "base"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"sweep: unknown field(s) {', '.join(unknown)}")
        base = RunConfig.from_dict(data.get("base", {}))
        space = SearchSpace.from_dict(data.get("space", {}), base.kind)
        return cls(space=space, base=base, **{key: data[key] for key in known - {"space", "base"} if key in data})

    @classmethod
    def from_json(cls, text: str, source: str = "sweep") -> SweepConfig:
        try:
            data = load_json(text, source)
        except InputError as error:
            raise ConfigError(str(error)) from None
        try:
            return cls.from_dict(data)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
