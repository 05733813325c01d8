"""Test-set evaluation: confusion matrix, per-class precision/recall/F1, misclassified images."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Evaluation:
    """What a finished run knows about its test set."""

    accuracy: float
    loss: float
    confusion: list[list[int]]  # rows: true digit, columns: predicted digit
    per_class: list[dict[str, float]]  # one dict per class: precision, recall, f1, support
    misclassified: list[int]  # indices into the test set
    predictions: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "confusion": self.confusion,
            "per_class": self.per_class,
            "misclassified": self.misclassified,
            "predictions": self.predictions,
        }


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts of (true, predicted) pairs; rows are the true class.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    pairs = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_scores(confusion: np.ndarray) -> list[dict[str, float]]:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined)."""
    true_positive = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    actual = confusion.sum(axis=1).astype(float)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return [
        {"class": k, "precision": float(precision[k]), "recall": float(recall[k]),
         "f1": float(f1[k]), "support": int(actual[k])}
        for k in range(len(confusion))
    ]


def cross_entropy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, clipped like Keras (eps 1e-7)."""
    chosen = probabilities[np.arange(len(y_true)), y_true.astype(np.int64)]
    return float(-np.mean(np.log(np.clip(chosen, 1e-7, 1.0))))


def evaluate_probabilities(probabilities: np.ndarray, y_true: np.ndarray) -> Evaluation:
    """Evaluate predicted class probabilities (n, classes) against labels (n,)."""
    y_pred = probabilities.argmax(axis=1)
    confusion = confusion_matrix(y_true, y_pred, probabilities.shape[1])
    return Evaluation(
        accuracy=float(np.mean(y_pred == y_true)),
        loss=cross_entropy(probabilities, y_true),
        confusion=confusion.tolist(),
        per_class=per_class_scores(confusion),
        misclassified=np.flatnonzero(y_pred != y_true).tolist(),
        predictions=y_pred.tolist(),
    )
