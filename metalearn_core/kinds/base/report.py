"""A finished base run's results: its test-set evaluation and its saved network as a digit predictor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVALUATION_FILE = "evaluation.json"


def read_evaluation(folder: Path) -> dict[str, Any] | None:
    """The run's ``evaluation.json`` (confusion matrix, per-class metrics, misclassified indices),
    or None when it is missing or unreadable (a run that did not complete)."""
    try:
        return json.loads((Path(folder) / EVALUATION_FILE).read_text())
    except (OSError, ValueError):
        return None


def load_predictor(folder: Path, config: Any):
    """The saved ``model.keras`` as a :class:`~metalearn_core.predictor.Predictor`."""
    from metalearn_core.predictor import Predictor, _load_file, _run_name

    model = _load_file(folder, "model.keras")
    description = f"{_run_name(folder)}: base network, {model.count_params():,} parameters"
    return Predictor(model, description, config.training.scale_pixels)
