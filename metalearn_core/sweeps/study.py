"""The Optuna side of a sweep: its study (in the sweep's own journal file), sampler and pruner.

Optuna keeps neither the sampler nor the pruner in the study, so both are rebuilt from the sweep's
definition whenever a controller (or a resumed one) opens the study. A sampler rebuilt from the
sweep's seed alone would draw the very sequence it drew before (trial 0's settings again as the
first trial after a resume), so a study that already holds trials gets a sampler seeded by the
sweep's seed and its number of trials (:func:`sampler_seed`): the same sweep resumed at the same
point draws the same trials, and never those it drew before. The grid keeps its seed: its order
fixes which cell each trial number takes, and the cells of the trials done are skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.storages.journal import JournalFileBackend

from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import hooks_of
from metalearn_core.sweeps.store import Sweep

optuna.logging.set_verbosity(optuna.logging.WARNING)

# Keep the best quarter at each rung (Optuna's default): rungs at 1, 4, 16... epochs. Measured in
# bench/bench_sweep.py: with a third (rungs at 1, 3, 9) half of a 30-trial TPE sweep still ran all 8 epochs.
ASHA_REDUCTION_FACTOR = 4
MEDIAN_STARTUP_TRIALS = 5  # the median pruner waits for this many finished trials (Optuna's default)


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler less its ``study.stop()`` once the last cell is told, which works inside
    ``study.optimize`` only (ask-and-tell raises RuntimeError there, failing the sweep at its last
    trial); the controller stops by itself, its trial budget being the grid's size at most."""

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                    state: optuna.trial.TrialState, values: Any) -> None:
        return None


def sampler_seed(seed: int, trials: int) -> int:
    """The seed of a sampler opened on a study holding ``trials`` trials: the sweep's own seed for a
    new study, else one derived from both (a resumed sampler must not replay the draws before it)."""
    if trials == 0:
        return seed
    return int(np.random.SeedSequence([seed, trials]).generate_state(1)[0])


def make_sampler(config: SweepConfig, trials: int = 0) -> optuna.samplers.BaseSampler:
    """TPE, random or grid, seeded by the sweep's seed (and, but for the grid, the ``trials`` the
    study already holds: see :func:`sampler_seed`)."""
    if config.sampler == "grid":
        return GridSampler(config.space.grid(), seed=config.seed)
    seed = sampler_seed(config.seed, trials)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(config: SweepConfig) -> optuna.pruners.BasePruner:
    """None, median or asynchronous successive halving (ASHA), stepping in the steps the runs report
    their objective at (epochs, validation points), its first rung where the kind's sweep hooks say."""
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=0)
    if config.pruner == "asha":
        min_resource: Any = hooks_of(config.base.kind).min_resource
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource,
                                                      reduction_factor=ASHA_REDUCTION_FACTOR)
    return optuna.pruners.NopPruner()


def storage(sweep: Sweep) -> optuna.storages.BaseStorage:
    """The sweep's journal file storage (created on first use)."""
    return optuna.storages.JournalStorage(JournalFileBackend(str(sweep.journal_path)))


def study_name(sweep: Sweep) -> str:
    return f"sweep-{sweep.id}"


def open_study(sweep: Sweep, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """The sweep's study, created on first use, with its sampler and pruner (``pruner`` overrides it);
    reopened, its sampler goes on from the trials it holds rather than from the start."""
    config = sweep.config
    study = optuna.create_study(storage=storage(sweep), study_name=study_name(sweep), load_if_exists=True,
                                direction=config.direction, sampler=make_sampler(config),
                                pruner=pruner or make_pruner(config))
    held = len(study.get_trials(deepcopy=False))
    if held:
        study.sampler = make_sampler(config, held)
    return study


def is_skipped(trial: optuna.trial.FrozenTrial) -> bool:
    """A trial the controller closed unrun because its settings repeat an earlier trial's."""
    return "repeat_of" in trial.user_attrs


def read_trials(sweep: Sweep) -> list[optuna.trial.FrozenTrial]:
    """The study's trials as they stand (empty before the controller created the study), but for
    the skipped repeats (:func:`is_skipped`), which trained nothing."""
    if not sweep.journal_path.exists():
        return []
    try:
        study = optuna.load_study(study_name=study_name(sweep), storage=storage(sweep))
    except KeyError:  # the journal exists but the study is not in it yet
        return []
    return [trial for trial in study.get_trials(deepcopy=False) if not is_skipped(trial)]
