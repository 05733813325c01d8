"""What a sweep of base runs varies and scores: the network's and the training loop's settings,
scored on the validation split each epoch.

Example:
    >>> SWEEP.objectives["val_loss"].direction, SWEEP.min_resource
    ('minimize', 1)
"""

from __future__ import annotations

from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.kinds.sweep_hooks import NETWORK, TRAINING, Objective, SweepHooks


def check(config: RunConfig, objective: str) -> None:
    """The objective is scored on the validation split, so the base config must hold one."""
    if config.training.validation_split <= 0:
        raise ConfigError("sweep: the objective is scored on validation data, and the base config has none: set "
                          "a validation split above 0 (the test set is never used to choose)")


SWEEP = SweepHooks(
    shared=(*NETWORK, *TRAINING),
    objectives={"val_accuracy": Objective("validation accuracy", "maximize", "train", "val_accuracy"),
                "val_loss": Objective("validation loss", "minimize", "train", "val_loss")},
    check=check,
    min_resource=1,  # its steps are epochs: the first rung is after one
    searched=("learning_rate",),
)
