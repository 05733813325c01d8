"""The Optuna side of a sweep: its study (in the sweep's own journal file), sampler and pruner.

Optuna keeps neither the sampler nor the pruner in the study, so both are rebuilt from the sweep's
definition whenever a controller (or a resumed one) opens the study.
"""

from __future__ import annotations

from typing import Any

import optuna

from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.store import Sweep

optuna.logging.set_verbosity(optuna.logging.WARNING)

# Keep the best quarter at each rung (Optuna's default): rungs at 1, 4, 16... epochs. Measured in
# bench/bench_sweep.py: with a third (rungs at 1, 3, 9) half of a 30-trial TPE sweep still ran all 8 epochs.
ASHA_REDUCTION_FACTOR = 4
MEDIAN_STARTUP_TRIALS = 5  # the median pruner waits for this many finished trials (Optuna's default)


def make_sampler(config: SweepConfig) -> optuna.samplers.BaseSampler:
    """TPE, random or grid, seeded by the sweep's seed."""
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(config.space.grid(), seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=config.seed)
    return optuna.samplers.TPESampler(seed=config.seed)


def make_pruner(config: SweepConfig) -> optuna.pruners.BasePruner:
    """None, median or asynchronous successive halving (ASHA), stepping in epochs for base runs
    and in validation points for few-shot runs."""
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=0)
    if config.pruner == "asha":
        min_resource: Any = 1 if config.base.kind == "base" else "auto"
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource,
                                                      reduction_factor=ASHA_REDUCTION_FACTOR)
    return optuna.pruners.NopPruner()


def storage(sweep: Sweep) -> optuna.storages.BaseStorage:
    """The sweep's journal file storage (created on first use)."""
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(sweep.journal_path)))


def study_name(sweep: Sweep) -> str:
    return f"sweep-{sweep.id}"


def open_study(sweep: Sweep, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """The sweep's study, created on first use, with its sampler and pruner (``pruner`` overrides it)."""
    config = sweep.config
    return optuna.create_study(storage=storage(sweep), study_name=study_name(sweep), load_if_exists=True,
                               direction=config.direction, sampler=make_sampler(config),
                               pruner=pruner or make_pruner(config))


def read_trials(sweep: Sweep) -> list[optuna.trial.FrozenTrial]:
    """The study's trials as they stand (empty before the controller created the study)."""
    if not sweep.journal_path.exists():
        return []
    try:
        study = optuna.load_study(study_name=study_name(sweep), storage=storage(sweep))
    except KeyError:  # the journal exists but the study is not in it yet
        return []
    return study.get_trials(deepcopy=False)
