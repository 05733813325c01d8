"""A sweep's definition: the base run, the search space, the sampler, the pruner, the objective and
the budget; validated at construction, with a JSON round trip (stored as ``sweep.json``).

Example:
    >>> sweep = SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 4}}), trials=5)
    >>> SweepConfig.from_json(sweep.to_json()) == sweep
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from metalearn_core.config import ConfigError, RunConfig, _check_choice, _check_int, _check_range
from metalearn_core.safe_input import InputError, has_control_characters, load_json
from metalearn_core.sweeps.space import SearchSpace

SAMPLERS = ("tpe", "random", "grid")
MAX_GRID_CELLS = 100_000  # Optuna's grid sampler lists every cell up front
PRUNERS = ("none", "median", "asha")
SAMPLER_LABELS = {"tpe": "TPE (learns from earlier trials)", "random": "random", "grid": "grid (every combination)"}
PRUNER_LABELS = {"none": "none (every trial runs to the end)", "median": "median (stop trials below the median)",
                 "asha": "ASHA (successive halving)"}
# The objective: what a trial is scored on, where its runs record it and which way is better.
# Test accuracy is never among them: choosing on the test set would make the test score a lie.
OBJECTIVES = {
    "val_accuracy": {"label": "validation accuracy", "direction": "maximize"},
    "val_loss": {"label": "validation loss", "direction": "minimize"},
}


def objective_source(kind: str, objective: str) -> tuple[str, str]:
    """The (series, metric) a run of ``kind`` records the objective under, once per epoch or
    validation interval: base runs log ``val_accuracy`` in series "train", few-shot runs
    ``accuracy`` in series "validation" (on held-out digits, never the evaluation episodes)."""
    if kind == "fewshot":
        if objective != "val_accuracy":
            raise ConfigError("sweep: few-shot runs report validation accuracy only; use objective val_accuracy")
        return "validation", "accuracy"
    return "train", objective


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
        _check_choice(where, "sampler", self.sampler, SAMPLERS)
        _check_choice(where, "pruner", self.pruner, PRUNERS)
        _check_choice(where, "objective", self.objective, tuple(OBJECTIVES))
        _check_int(where, "trials", self.trials, 1, 10_000)
        _check_range(where, "time budget", self.time_budget, 0.0, 30 * 86_400.0)
        _check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError(f"{where}: name must be text of at most 200 characters")
        if has_control_characters(self.name):
            raise ConfigError(f"{where}: name cannot hold control characters (newlines, tabs, terminal escape codes)")
        objective_source(self.base.kind, self.objective)
        if self.base.kind == "base" and self.base.training.validation_split <= 0:
            raise ConfigError(f"{where}: the objective is scored on validation data, and the base config has "
                              "none: set a validation split above 0 (the test set is never used to choose)")
        self.space.check(self.base)
        if self.sampler == "grid" and self.space.grid_size() > MAX_GRID_CELLS:
            raise ConfigError(f"{where}: the grid has {self.space.grid_size():,} combinations, more than the "
                              f"{MAX_GRID_CELLS:,} a grid sweep can walk: use fewer values (a larger step) or "
                              "the TPE or random sampler")

    @property
    def direction(self) -> str:
        return OBJECTIVES[self.objective]["direction"]

    @property
    def objective_label(self) -> str:
        return OBJECTIVES[self.objective]["label"]

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
