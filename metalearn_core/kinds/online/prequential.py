"""Prequential scoring (Dawid 1984, "test then train"): every example is predicted before it is learned.

A learner here is anything with ``step(x, y) -> predicted labels`` that predicts the batch ``x``
with its current weights and only then learns from ``(x, y)`` (see
:class:`~metalearn_core.kinds.online.learners.OnlineLearner`). :func:`prequential` feeds it a stream
batch by batch and keeps, for every example, whether that first prediction was right. The running
(prequential) accuracy after ``t`` examples is the mean of the first ``t`` of them; its mean over the
whole stream is the area under the prequential curve (AUC, 1.0 = right from the first example on).

Example:
    >>> class Constant:
    ...     def step(self, x, y):
    ...         return np.zeros(len(x), np.int32)
    >>> y = np.array([0, 1, 0, 0])
    >>> record = prequential(Constant(), np.zeros((4, 28, 28)), y, batch_size=2)
    >>> record.final, record.running_accuracy().tolist()
    (0.75, [1.0, 0.5, 0.6666666865348816, 0.75])
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# on_point(examples seen, running accuracy, accuracy over the last window)
PointCallback = Callable[[int, float, float], None]


class StreamLearner(Protocol):
    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class PrequentialRecord:
    """What one learner did on one stream: its first prediction of every example, right or not."""

    predicted: np.ndarray  # (n,) int
    correct: np.ndarray  # (n,) bool
    seconds: float

    def running_accuracy(self) -> np.ndarray:
        """(n,) accuracy over the first t examples, for t = 1..n."""
        return (np.cumsum(self.correct) / np.arange(1, len(self.correct) + 1)).astype(np.float32)

    def window_accuracy(self, window: int) -> np.ndarray:
        """(n,) accuracy over the last ``window`` examples (fewer at the start)."""
        sums = np.cumsum(np.concatenate([[0], self.correct.astype(np.int64)]))
        ends = np.arange(1, len(self.correct) + 1)
        starts = np.maximum(ends - window, 0)
        return ((sums[ends] - sums[starts]) / (ends - starts)).astype(np.float32)

    @property
    def final(self) -> float:
        """Prequential accuracy over the whole stream."""
        return float(np.mean(self.correct))

    @property
    def auc(self) -> float:
        """Mean of the running accuracy over the stream: the normalised area under its curve."""
        return float(np.mean(self.running_accuracy()))


def prequential(learner: StreamLearner, x: np.ndarray, y: np.ndarray, batch_size: int = 1,
                every: int = 50, window: int = 200, on_point: PointCallback | None = None) -> PrequentialRecord:
    """Feed ``(x, y)`` to ``learner`` in order, ``batch_size`` at a time: predict, record, then learn.

    Args:
        learner: predicts each batch before it learns from it (``step``).
        x, y: the stream, (n, 28, 28) images and (n,) labels.
        batch_size: examples per step (the last batch may be smaller).
        every: call ``on_point`` each time another ``every`` examples have been seen, and at the end.
        window: the span of the recent accuracy given to ``on_point``.
        on_point: ``(examples seen, running accuracy, window accuracy)``.

    Returns:
        The learner's :class:`PrequentialRecord`.
    """
    n = len(y)
    predicted = np.zeros(n, np.int32)
    started = time.perf_counter()
    correct_so_far, next_point = 0, every
    for start in range(0, n, batch_size):
        end = min(start + batch_size, n)
        guesses = np.asarray(learner.step(x[start:end], y[start:end]))  # predicted first, then learned
        predicted[start:end] = guesses
        correct_so_far += int(np.sum(guesses == y[start:end]))
        if on_point is not None and (end >= next_point or end == n):
            low = max(end - window, 0)
            on_point(end, correct_so_far / end, float(np.mean(predicted[low:end] == y[low:end])))
            next_point = (end // every + 1) * every
    return PrequentialRecord(predicted, predicted == np.asarray(y), time.perf_counter() - started)
