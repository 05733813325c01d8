"""The ``transfer`` run kind: a finished base run's network carried to the other domain.

For each number of labelled examples per class, three networks learn the target domain from the
same class-balanced sample: the source network with its layers frozen and a new head ("frozen"),
the source network fine-tuned whole ("all"), and the same architecture from fresh weights
("scratch"). Each is scored on the target's test split. The points form the classic learning
curve of transfer learning (Yosinski et al. 2014, "How transferable are features in deep neural
networks?"): what a head start buys when labels are few.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from metalearn_core.config import NUM_CLASSES, ConfigError, RunConfig, TrainingConfig
from metalearn_core.data.domains import load_domain
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.transfer.config import BASELINE, TransferConfig
from metalearn_core.kinds.transfer.results import RESULTS_FILE
from metalearn_core.kinds.transfer.source import MODEL_FILE, source_run, target_domain
from metalearn_core.models.networks import build_network, compile_network
from metalearn_core.models.predictor import PredictorError, load_model_file
from metalearn_core.models.training import execution_chunk, predict, prepared_splits
from metalearn_core.runs.reporting import Reporter, RunResult
from metalearn_core.runs.store import RunStore


def balanced_sample(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Indices of ``shots`` examples of each of the ten classes, drawn without replacement by
    ``seed``, in a shuffled order; every index when ``shots`` is 0.

    Raises ConfigError when a class has fewer than ``shots`` examples.

    Example:
        >>> len(balanced_sample(np.repeat(np.arange(10), 50), 5, seed=0))
        50
    """
    rng = np.random.default_rng(seed)
    if shots == 0:
        return rng.permutation(len(labels))
    chosen = []
    for label in range(NUM_CLASSES):
        members = np.flatnonzero(labels == label)
        if len(members) < shots:
            raise ConfigError(f"transfer: {shots} examples per class need {shots} images of class {label}; "
                              f"the training split has {len(members)} (raise the train limit)")
        chosen.append(rng.choice(members, size=shots, replace=False))
    return rng.permutation(np.concatenate(chosen))


def point_batch(count: int, batch_size: int) -> int:
    """The batch of a point: the run's batch size, or the whole sample when it is smaller (a batch
    of 384 drawn from ten images would only repeat them)."""
    return min(batch_size, count)


def copies_needed(count: int, settings: TransferConfig, batch_size: int) -> int:
    """How many times a sample of ``count`` images is repeated so that ``settings.epochs`` passes
    over the repeated sample make at least ``settings.min_steps`` optimizer steps."""
    batch = point_batch(count, batch_size)
    return max(1, math.ceil(settings.min_steps * batch / (count * settings.epochs)))


def point_steps(count: int, settings: TransferConfig, batch_size: int) -> int:
    """The optimizer steps of one point trained on ``count`` images."""
    copies = copies_needed(count, settings, batch_size)
    return settings.epochs * math.ceil(copies * count / point_batch(count, batch_size))


def new_head(features: Any) -> Any:
    """A fresh ten-class head on ``features``, named as :func:`build_network` names its own."""
    logits = layers.Dense(NUM_CLASSES, name="logits")(features)
    return layers.Activation("softmax", name="probabilities")(logits)


def transfer_model(source: keras.Model, mode: str) -> keras.Model:
    """A copy of ``source`` with a new head; with mode "frozen" only the head is trainable.

    The source's own ``logits`` Dense layer is dropped: its classes are the other domain's.
    """
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    features = copy.get_layer("logits").input  # (batch, features): the penultimate layer's output
    if mode == "frozen":
        for layer in copy.layers:
            layer.trainable = False  # BatchNorm also keeps its statistics when not trainable
    return keras.Model(copy.inputs, new_head(features), name=f"transfer_{mode}")


def point_model(config: RunConfig, source: keras.Model, mode: str, seed: int) -> keras.Model:
    """The network of one point: the source with a new head, or (scratch) fresh weights."""
    keras.utils.set_random_seed(seed)  # the same head initialisation for every mode of a repeat
    if mode == BASELINE:
        return build_network(config.base, name="scratch")
    return transfer_model(source, mode)


class _Progress(keras.callbacks.Callback):
    """Reports the steps done in this point at most four times a second while it trains."""

    def __init__(self, report: Callable[[int], None], steps_per_epoch: int) -> None:
        super().__init__()
        self.report, self.steps_per_epoch, self.last, self.epoch = report, steps_per_epoch, 0.0, 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # With several steps per execution Keras calls this once per execution, ``batch`` its last step.
        if time.perf_counter() - self.last > 0.25:
            self.last = time.perf_counter()
            self.report(self.epoch * self.steps_per_epoch + batch + 1)


def train_point(model: keras.Model, x: np.ndarray, y: np.ndarray, training: TrainingConfig,
                settings: TransferConfig, seed: int, on_batches: Callable[[int], None]) -> None:
    """Fit ``model`` on the sample (repeated, see :func:`copies_needed`) with the run's optimizer."""
    count = len(y)
    copies = copies_needed(count, settings, training.batch_size)
    if copies > 1:
        order = np.concatenate([np.random.default_rng(seed + copy).permutation(count) for copy in range(copies)])
        x, y = x[order], y[order]  # (copies * count, 28, 28)
    batch = point_batch(count, training.batch_size)
    steps = math.ceil(len(y) / batch)
    compile_network(model, training, steps * settings.epochs, steps_per_execution=execution_chunk(steps))
    model.fit(x, y, batch_size=batch, epochs=settings.epochs, shuffle=True, verbose=0,
              callbacks=[_Progress(on_batches, steps)])


def score(model: keras.Model, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Test accuracy and mean cross-entropy."""
    probabilities = predict(model, x_test)  # (n_test, 10)
    picked = np.clip(probabilities[np.arange(len(y_test)), y_test], 1e-7, 1.0)
    return {"accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test)),
            "loss": float(-np.mean(np.log(picked)))}


def load_source(folder: Path | None, config: RunConfig) -> tuple[Any, keras.Model]:
    """The checked source run and its saved network (ConfigError when it cannot be used)."""
    if folder is None:
        raise ConfigError("transfer: a transfer run reads its source from the run store; launch it as a run")
    source = source_run(RunStore(Path(folder).parent.parent), config.settings.source_run)
    try:
        return source, load_model_file(source.folder, MODEL_FILE)
    except PredictorError as error:
        raise ConfigError(f"transfer: {error}") from None


def target_data(config: RunConfig, data: MnistData, target: str) -> MnistData:
    """The target domain: the data the worker gave (that of training.dataset) when it is the target."""
    if config.training.dataset == target:
        return data
    return load_domain(target)


def _summarise(points: list[dict[str, Any]], shots: int, mode: str) -> dict[str, Any]:
    values = [point["accuracy"] for point in points if point["shots"] == shots and point["mode"] == mode]
    losses = [point["loss"] for point in points if point["shots"] == shots and point["mode"] == mode]
    return {"shots": shots, "mode": mode, "mean": float(np.mean(values)), "std": float(np.std(values)),
            "min": float(np.min(values)), "max": float(np.max(values)), "loss": float(np.mean(losses)),
            "repeats": len(values)}


class _Points:
    """Trains the points one by one, keeping the steps done for the overall progress."""

    def __init__(self, config: RunConfig, source_model: keras.Model, splits: tuple[np.ndarray, ...],
                 reporter: Reporter, total_steps: int) -> None:
        self.config, self.source_model, self.reporter = config, source_model, reporter
        self.x_train, self.y_train, self.x_test, self.y_test = splits
        self.done, self.total = 0, total_steps

    def train(self, shots: int, mode: str, repeat: int) -> dict[str, Any]:
        """One point: sample (fixed by the seed and the repeat, the same for every mode), train, score."""
        settings, training = self.config.settings, self.config.training
        seed = training.seed + repeat
        label = f"{mode}: {shots or 'all'} per class, repeat {repeat + 1}/{settings.repeats}"

        def on_batches(batches: int) -> None:
            self.reporter.on_progress({"fraction": (self.done + batches) / self.total, "label": label})

        on_batches(0)
        indices = balanced_sample(self.y_train, shots, seed)
        model = point_model(self.config, self.source_model, mode, seed)
        started = time.perf_counter()
        train_point(model, self.x_train[indices], self.y_train[indices], training, settings, seed, on_batches)
        self.done += point_steps(len(indices), settings, training.batch_size)
        return {"shots": shots, "examples": int(len(indices)), "mode": mode, "repeat": repeat, "seed": seed,
                "seconds": time.perf_counter() - started, **score(model, self.x_test, self.y_test)}


def train_transfer(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Train the learning curve of transfer from the source run to the target domain.

    Writes ``transfer.json`` (every point and the mean and spread per mode and number of examples)
    to ``folder``; reports one metric point per mode and number of examples (the epoch is the
    number of examples per class) and the overall fraction as progress.
    """
    settings = config.settings
    source, source_model = load_source(folder, config)
    source_dataset = source.config.training.dataset
    target = target_domain(source_dataset, settings.target)
    splits = prepared_splits(target_data(config, data, target), config.training)
    train_count, test_count = len(splits[1]), len(splits[3])
    shots_order = sorted(settings.shots, key=lambda k: k or math.inf)  # "all" (0) last
    modes = settings.all_modes()
    counts = {k: (k * NUM_CLASSES if k else train_count) for k in shots_order}
    total = sum(point_steps(counts[k], settings, config.training.batch_size) for k in shots_order)
    trainer = _Points(config, source_model, splits, reporter, total * len(modes) * settings.repeats)
    started, points, rows = time.perf_counter(), [], []
    for shots in shots_order:
        for mode in modes:
            points += [trainer.train(shots, mode, repeat) for repeat in range(settings.repeats)]
            rows.append(_summarise(points, shots, mode))
            reporter.on_epoch(mode, shots or round(train_count / NUM_CLASSES),
                              {"accuracy": rows[-1]["mean"], "accuracy_std": rows[-1]["std"], "loss": rows[-1]["loss"]})
    results = {"source_run": source.id, "source_dataset": source_dataset, "target": target,
               "source_test_accuracy": source.summary.get("test_accuracy"), "modes": list(modes),
               "shots": shots_order, "repeats": settings.repeats, "train_samples": train_count,
               "test_samples": test_count, "points": points, "summary": rows}
    if folder is not None:
        (Path(folder) / RESULTS_FILE).write_text(json.dumps(results, indent=1))
    summary = {"source_run": source.id, "source_dataset": source_dataset, "target": target,
               "train_seconds": time.perf_counter() - started, "points": len(points),
               "train_samples": train_count, "test_samples": test_count, "data_source": data.source,
               "transfer_accuracy": {f"{row['mode']}@{row['shots'] or 'all'}": row["mean"] for row in rows}}
    return RunResult("completed", summary)
