"""Training: a Keras callback that streams metrics into plain functions, and the one fit loop.

The callback (:class:`StreamingCallback`) never touches the store itself: it calls
``reporter.on_epoch(series, epoch, metrics)`` once per epoch and ``reporter.on_progress(progress)``
at most every ``min_interval`` seconds within an epoch. It hooks only ``on_train_batch_begin``, so
Keras keeps dispatching batch results asynchronously and streaming costs almost nothing.

When the reporter listens to ``on_layer_stats``, the callback also sends per-layer weight norms,
gradient norms and weight histograms (:mod:`metalearn_core.models.layer_statistics`): before the first
batch (epoch 0), after the last epoch and after any epoch in between once the time since the
previous statistics is at least ``1 / STATS_TIME_SHARE`` times what they cost, so they never take
more than about that share of the training time, however short the epochs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np

from metalearn_core.config import TrainingConfig
from metalearn_core.data.mnist import MnistData, limit, prepare_images
from metalearn_core.models.layer_statistics import LayerStatistics, probe_batch
from metalearn_core.models.networks import compile_network
from metalearn_core.runs.reporting import Reporter

STATS_TIME_SHARE = 0.02  # layer statistics take at most about this share of the training time


@dataclass
class FitOutcome:
    """How one ``fit`` ended, with its timing."""

    status: str  # "completed" or "diverged"
    epochs_done: int
    started_at: float
    first_batch_at: float | None
    ended_at: float
    message: str = ""


class StreamingCallback(keras.callbacks.Callback):
    """Streams per-epoch metrics and throttled in-epoch progress; stops on a NaN loss.

    Args:
        reporter: receives the metrics and the progress.
        series: names the model being trained ("train", or "base 1 (network)" when stacking).
        min_interval: seconds between two progress reports (and NaN checks) within an epoch.
        layer_stats: computes the per-layer statistics (a :class:`LayerStatistics`); None for none.
        stats_share: the most of the training time the statistics may take (see the module).
    """

    def __init__(self, reporter: Reporter, series: str = "train", min_interval: float = 0.25,
                 layer_stats: LayerStatistics | None = None, stats_share: float = STATS_TIME_SHARE) -> None:
        super().__init__()
        self.reporter = reporter
        self.series = series
        self.min_interval = min_interval
        self.layer_stats = layer_stats
        self.stats_share = stats_share
        self._stats_due = 0.0
        self.first_batch_at: float | None = None
        self.diverged_message = ""
        self.epochs_done = 0
        self._epoch = 0
        self._epoch_started = 0.0
        self._last_report = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.layer_stats is not None:
            # The network before training. This first call also traces the gradient function, so
            # its cost does not set when the next statistics are due.
            self._report_layer_stats(0)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._epoch_started = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if self.first_batch_at is None:
            self.first_batch_at = now
        if now - self._last_report < self.min_interval:
            return
        self._last_report = now
        running = self._running_metrics() if batch > 0 else {}  # nothing done yet this epoch
        loss = running.get("loss")
        if loss is not None and not math.isfinite(loss):
            self._diverge(f"the loss became {loss} in epoch {self._epoch + 1}, batch {batch}")
        steps = self.params.get("steps")
        self.reporter.on_progress({
            "series": self.series, "epoch": self._epoch + 1, "epochs": self.params.get("epochs"),
            "batch": batch, "batches": steps,
            # x on the epoch axis: 1.0 is the end of the first epoch, as for the per-epoch rows
            "x": self._epoch + (batch / steps if steps else 0.0),
            **{key: value if math.isfinite(value) else None for key, value in running.items()},
            **_learning_rate_entry(self.model),
        })

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        metrics["learning_rate"] = _current_learning_rate(self.model)
        metrics["epoch_time"] = time.perf_counter() - self._epoch_started
        metrics["elapsed"] = time.perf_counter() - (self.first_batch_at or self._epoch_started)
        self.epochs_done = epoch + 1
        self.reporter.on_epoch(self.series, epoch + 1, metrics)
        self._maybe_layer_stats(epoch + 1)
        if not math.isfinite(metrics.get("loss", 0.0)):
            self._diverge(f"the loss became {metrics['loss']} in epoch {epoch + 1}")

    def _maybe_layer_stats(self, epochs_done: int) -> None:
        started = time.perf_counter()
        if self.layer_stats is None or (started < self._stats_due and epochs_done != self.params.get("epochs")):
            return
        self._report_layer_stats(epochs_done)
        cost = time.perf_counter() - started
        self._stats_due = time.perf_counter() + cost / self.stats_share

    def _report_layer_stats(self, epoch: int) -> None:
        self.reporter.on_layer_stats(self.series, epoch, self.layer_stats())

    def _running_metrics(self) -> dict[str, float]:
        """This epoch's running loss and accuracy over the batches done so far."""
        results = self.model.get_metrics_result()
        return {key: float(np.asarray(results[key])) for key in ("loss", "accuracy") if key in results}

    def _diverge(self, what: str) -> None:
        if not self.diverged_message:
            self.diverged_message = (
                f"{what}: training diverged. Try a lower learning rate, scaled pixels or batch norm."
            )
        self.model.stop_training = True


def _current_learning_rate(model: keras.Model) -> float:
    """The rate the optimizer steps with now: a schedule's value at the current step, or the
    learning-rate variable (which a hypergradient optimizer adapts as it trains); NaN without one."""
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return float("nan")


def _learning_rate_entry(model: keras.Model) -> dict[str, float]:
    """``{"learning_rate": value}`` for the in-epoch progress, or nothing when there is no finite rate."""
    rate = _current_learning_rate(model)
    return {"learning_rate": rate} if math.isfinite(rate) else {}


def steps_per_epoch(samples: int, training: TrainingConfig) -> int:
    train_samples = samples - int(samples * training.validation_split)
    return max(1, math.ceil(train_samples / training.batch_size))


def execution_chunk(steps: int) -> int:
    """Steps per Keras execution: up to 32 batches per call cuts Python overhead per step by
    about a third on 2 cores while progress still updates several times per epoch."""
    return max(1, min(32, steps // 8))


def fit_network(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    training: TrainingConfig,
    reporter: Reporter,
    series: str = "train",
    epochs: int | None = None,
) -> FitOutcome:
    """Compile and fit ``model`` with streaming; the one training loop every run kind uses.

    Layer statistics (weight and gradient norms, weight histograms) are computed on a fixed
    probe batch of the training samples when the reporter listens to them."""
    epochs = epochs or training.epochs
    steps = steps_per_epoch(len(x), training)
    compile_network(model, training, steps * epochs, steps_per_execution=execution_chunk(steps))
    layer_stats = None
    if reporter.wants_layer_stats:
        layer_stats = LayerStatistics(model, *probe_batch(x, y, validation_split=training.validation_split))
    callback = StreamingCallback(reporter, series, layer_stats=layer_stats)
    started = time.perf_counter()
    model.fit(
        x, y, batch_size=training.batch_size, epochs=epochs,
        validation_split=training.validation_split, callbacks=[callback], verbose=0,
    )
    status = "diverged" if callback.diverged_message else "completed"
    return FitOutcome(status, callback.epochs_done, started, callback.first_batch_at, time.perf_counter(),
                      callback.diverged_message)


def prepared_splits(data: MnistData, training: TrainingConfig) -> tuple[np.ndarray, ...]:
    """Train and test arrays after the limits and pixel scaling of ``training``."""
    x_train, y_train = limit(data.x_train, data.y_train, training.train_limit)
    x_test, y_test = limit(data.x_test, data.y_test, training.test_limit)
    return (prepare_images(x_train, training.scale_pixels), y_train.astype(np.int64),
            prepare_images(x_test, training.scale_pixels), y_test.astype(np.int64))


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Class probabilities in large batches (prediction has no gradients to hold). A few images,
    such as one drawn digit, are run through the model directly: ``predict`` would first build
    and trace a prediction function, which costs far more than the forward pass."""
    if len(x) <= 64:
        return np.asarray(model(x, training=False))
    return np.asarray(model.predict(x, batch_size=1024, verbose=0))
