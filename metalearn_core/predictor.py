"""Any finished run as a digit predictor: its kind knows which model files it saved.

A base run saved ``model.keras``; a stacked run saved its learners (``learner-<i>.keras`` or
``.joblib``), ``meta.keras`` and ``stack.json`` naming them. Either way the result is a
:class:`~metalearn_core.models.predictor.Predictor`.

Example:
    >>> predictor = load_predictor(store.run_folder(3), store.get(3).config)  # doctest: +SKIP
    >>> digit, probabilities = predict_digit(predictor, preprocess_canvas(canvas))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from metalearn_core import kinds
from metalearn_core.config import RunConfig
from metalearn_core.models.predictor import Predictor, PredictorError
from metalearn_core.runs.run_files import run_label


def load_predictor(run_folder: Path, config: RunConfig) -> Predictor:
    """The Predictor of a finished run, from the files it saved in ``run_folder``; the run's kind
    (:mod:`metalearn_core.kinds`) knows which files those are.

    Raises PredictorError, naming the file, when a model file is missing or will not load, or when
    the run's kind does not classify digits.

    Example:
        >>> predictor = load_predictor(Path("~/.metalearn/runs/3").expanduser(), config)  # doctest: +SKIP
        >>> predictor.description  # doctest: +SKIP
        'run 3: base network, 101,770 parameters'
    """
    folder, kind = Path(run_folder), kinds.get(config.kind)
    if not kind.classifies_digits:
        raise PredictorError(f"{run_label(folder)} is a {kind.name} run: it does not classify digits")
    return kind.load_predictor(folder, config)
