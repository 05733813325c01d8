"""A finished base run's results: its test-set evaluation (``evaluation.json``, written by the worker).

Its saved network as a digit predictor is :mod:`metalearn_core.kinds.base.predictor`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from metalearn_core.runs.run_files import DamagedFile, check_shape, number_list, read_run_json

EVALUATION_FILE = "evaluation.json"


def read_results(folder: Path) -> dict[str, Any] | None:
    """The run's ``evaluation.json`` (confusion matrix, per-class metrics, misclassified indices),
    or None when it is missing (a run that did not complete).

    Raises DamagedFile, naming the run and the file, when the file is not valid JSON or not shaped as
    the worker writes it: a square confusion matrix of counts, one per-class entry of numbers per
    class, and (when present) misclassified indices and predicted classes as whole numbers.

    Example:
        >>> read_results(Path("/nowhere")) is None
        True
    """
    evaluation = read_run_json(folder, EVALUATION_FILE, {"confusion": list, "per_class": list})
    if evaluation is None:
        return None
    reason = _evaluation_problem(evaluation)
    if reason:
        raise DamagedFile.of(folder, EVALUATION_FILE, reason)
    return evaluation


def _evaluation_problem(evaluation: dict[str, Any]) -> str:
    """"" when the evaluation is shaped as :class:`~metalearn_core.models.evaluation.Evaluation` writes it."""
    confusion = evaluation["confusion"]
    classes = len(confusion)
    if not classes or not all(isinstance(row, list) and len(row) == classes and number_list(row, 0, whole=True)
                              for row in confusion):
        return "its confusion matrix is not a square table of counts"
    if len(evaluation["per_class"]) != classes or any(
            check_shape(item, {"precision": float, "recall": float, "f1": float, "support": float})
            for item in evaluation["per_class"]):
        return "its per-class scores are not one set of numbers per class"
    for key, high in (("misclassified", math.inf), ("predictions", classes - 1)):
        if key in evaluation and not number_list(evaluation[key], 0, high, whole=True):
            return f"its {key} are not a list of " + ("indices" if key == "misclassified" else "classes")
    return ""

