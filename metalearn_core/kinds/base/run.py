"""The ``base`` run kind: train the base network f_θ on MNIST and evaluate it on the test set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from metalearn_core.config import RunConfig
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.learned_optimizer.run import train_with_learned_optimizer
from metalearn_core.models.evaluation import evaluate_probabilities
from metalearn_core.models.networks import build_network
from metalearn_core.models.training import fit_network, predict, prepared_splits
from metalearn_core.runs.reporting import Reporter, RunResult


def train_base(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Train the base network on MNIST and evaluate it on the test set.

    Returns a RunResult whose summary holds test loss and accuracy and the training timing; the
    model is saved as ``model.keras`` in ``folder`` when one is given.
    """
    if config.training.optimizer == "learned":
        return train_with_learned_optimizer(config, data, reporter, folder)
    keras.utils.set_random_seed(config.training.seed)
    x_train, y_train, x_test, y_test = prepared_splits(data, config.training)
    model = build_network(config.base, name="base")
    reporter.on_progress({"series": "train", "phase": "training", "epoch": 0,
                          "epochs": config.training.epochs})
    outcome = fit_network(model, x_train, y_train, config.training, reporter)
    summary: dict[str, Any] = {
        "epochs_done": outcome.epochs_done,
        "train_seconds": outcome.ended_at - (outcome.first_batch_at or outcome.ended_at),
        "fit_seconds": outcome.ended_at - outcome.started_at,
        "parameters": int(model.count_params()),
        "train_samples": int(len(y_train)), "test_samples": int(len(y_test)),
        "data_source": data.source,
    }
    if outcome.status == "diverged":
        return RunResult("diverged", summary, None, outcome.message)
    evaluation = evaluate_probabilities(predict(model, x_test), y_test)
    summary.update(test_accuracy=evaluation.accuracy, test_loss=evaluation.loss)
    if folder is not None:
        model.save(folder / "model.keras")
    return RunResult("completed", summary, evaluation)
