"""A finished base run as a digit predictor: its saved ``model.keras`` (imports Keras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metalearn_core.models.predictor import Predictor, load_model_file
from metalearn_core.runs.run_files import run_label


def load_predictor(folder: Path, config: Any) -> Predictor:
    """The saved ``model.keras`` as a :class:`~metalearn_core.models.predictor.Predictor`; PredictorError
    names the file when it is missing or will not load."""
    model = load_model_file(folder, "model.keras")
    description = f"{run_label(folder)}: base network, {model.count_params():,} parameters"
    return Predictor(model, description, config.training.scale_pixels)
