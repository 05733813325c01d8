"""What a sweep of few-shot runs varies and scores: the learner network's settings and the
meta-training rates and steps, scored on held-out digits at each validation (never on the
evaluation episodes).

Example:
    >>> list(SWEEP.settings), list(SWEEP.objectives)
    (['inner_lr', 'inner_steps', 'meta_learning_rate'], ['val_accuracy'])
"""

from __future__ import annotations

from metalearn_core.kinds.sweep_hooks import NETWORK, Objective, Setting, SweepHooks

SETTINGS = {
    "inner_lr": Setting("inner (adaptation) learning rate", "float", 1e-5, 10.0, log=True,
                        short="inner learning rate", default=(1e-2, 0.3),
                        marks=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)),
    "inner_steps": Setting("inner (adaptation) steps", "int", 1, 20, short="inner steps", default=(1, 5),
                           slider=(1, 20, 1)),
    "meta_learning_rate": Setting("meta learning rate", "float", 1e-6, 1.0, log=True, short="meta learning rate",
                                  default=(1e-4, 1e-2), marks=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)),
}

SWEEP = SweepHooks(
    shared=tuple(NETWORK),
    settings=SETTINGS,  # fields of FewShotConfig: the default apply puts them in the run's section
    objectives={"val_accuracy": Objective("validation accuracy", "maximize", "validation", "accuracy")},
    min_resource="auto",  # its steps are meta-iterations at each validation: Optuna finds the first rung
    searched=("meta_learning_rate", "inner_lr"),
)
