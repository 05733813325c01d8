"""A finished stacked run as a digit predictor: its learners and meta network loaded back as one
(imports Keras).

A stacked run saved its learners (``learner-<i>.keras`` or ``.joblib``), ``meta.keras`` and
``stack.json`` naming them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metalearn_core.kinds.stacked.results import STACK_FILE
from metalearn_core.kinds.stacked.run import FittedLearner
from metalearn_core.models.predictor import Predictor, PredictorError, load_model_file, require_file
from metalearn_core.runs.run_files import run_label


def load_predictor(folder: Path, config: Any) -> Predictor:
    """The meta network fed by the base learners, as one Predictor; PredictorError names a bad file."""
    run = run_label(folder)
    try:
        stack = json.loads(require_file(folder, STACK_FILE).read_text())
        names, meta_name, meta_input = list(stack["learners"]), str(stack["meta"]), str(stack["meta_input"])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise PredictorError(f"{run}: {STACK_FILE} is corrupted ({type(error).__name__}: {error})") from None
    if len(names) != len(config.settings.learners):
        raise PredictorError(f"{run}: {STACK_FILE} lists {len(names)} learners but the run's config has "
                             f"{len(config.settings.learners)}")
    learners = tuple(FittedLearner(learner, load_model_file(folder, name), meta_input)
                     for learner, name in zip(config.settings.learners, names))
    kinds = " + ".join(learner.kind.replace("_", " ") for learner in config.settings.learners)
    description = f"{run}: stacked, meta network over {kinds} ({meta_input})"
    return Predictor(load_model_file(folder, meta_name), description, config.training.scale_pixels, learners)
