"""A finished stacked run's results: its learners and meta network loaded back as one digit predictor.

A stacked run saved its learners (``learner-<i>.keras`` or ``.joblib``), ``meta.keras`` and
``stack.json`` naming them; its test-set evaluation is read like a base run's
(:func:`metalearn_core.kinds.base.report.read_evaluation`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metalearn_core.predictor import Predictor, PredictorError, _load_file, _require, _run_name


def load_predictor(folder: Path, config: Any) -> Predictor:
    """The meta network fed by the base learners, as one Predictor; PredictorError names a bad file."""
    from metalearn_core.kinds.stacked.run import FittedLearner

    run = _run_name(folder)
    try:
        stack = json.loads(_require(folder, "stack.json").read_text())
        names, meta_name, meta_input = list(stack["learners"]), str(stack["meta"]), str(stack["meta_input"])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise PredictorError(f"{run}: stack.json is corrupted ({type(error).__name__}: {error})") from None
    if len(names) != len(config.stacking.learners):
        raise PredictorError(f"{run}: stack.json lists {len(names)} learners but the run's config has "
                             f"{len(config.stacking.learners)}")
    learners = tuple(FittedLearner(learner, _load_file(folder, name), meta_input)
                     for learner, name in zip(config.stacking.learners, names))
    kinds = " + ".join(learner.kind.replace("_", " ") for learner in config.stacking.learners)
    description = f"{run}: stacked, meta network over {kinds} ({meta_input})"
    return Predictor(_load_file(folder, meta_name), description, config.training.scale_pixels, learners)
