"""A finished run's saved model as a digit classifier, and the loading of its model files.

A :class:`Predictor` takes MNIST-style (n, 28, 28) images in [0, 1] and gives (n, 10) probabilities.
A run kind builds it from the files its runs saved (:func:`load_model_file` reads one, naming it in a
:class:`PredictorError` when it is missing or will not load); :func:`metalearn_core.predictor.load_predictor`
picks the kind.

Example:
    >>> predictor = Predictor(load_model_file(folder, "model.keras"), "run 3: base network")  # doctest: +SKIP
    >>> digit, probabilities = predict_digit(predictor, preprocess_canvas(canvas))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import keras
import numpy as np

from metalearn_core.models.training import predict
from metalearn_core.runs.run_files import run_label


class PredictorError(ValueError):
    """A run's saved model is missing, corrupted or unusable; the message names the file."""


@dataclass
class Predictor:
    """A trained model ready to classify digits.

    For a base run ``model`` is the network and ``learners`` is empty; for a stacked run ``model``
    is the meta network, fed the learners' features in order.
    """

    model: keras.Model
    description: str
    scale_pixels: bool = True
    learners: tuple[Any, ...] = ()  # a stacked run's fitted base learners (kinds.stacked.run.FittedLearner)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) class probabilities for (n, 28, 28) float images in [0, 1], white on black.

        Example:
            >>> predictor.predict_proba(np.zeros((2, 28, 28), np.float32)).shape  # doctest: +SKIP
            (2, 10)
        """
        x = np.asarray(images, np.float32)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise PredictorError(f"expected images of shape (n, 28, 28), got {x.shape}")
        if not self.scale_pixels:  # the model was trained on raw 0-255 pixels
            x = x * 255.0
        if self.learners:
            x = np.concatenate([learner.features(x) for learner in self.learners], axis=1)
        return predict(self.model, x)


def predict_digit(predictor: Predictor, image28: np.ndarray) -> tuple[int, np.ndarray]:
    """The most likely digit for one (28, 28) image and the (10,) probabilities behind it.

    Example:
        >>> digit, probabilities = predict_digit(predictor, image)  # doctest: +SKIP
        >>> 0 <= digit <= 9 and abs(probabilities.sum() - 1) < 1e-5  # doctest: +SKIP
        True
    """
    probabilities = predictor.predict_proba(np.asarray(image28)[None])[0]
    return int(np.argmax(probabilities)), probabilities


def require_file(folder: Path, name: str) -> Path:
    """The path of the run's saved file ``name``; PredictorError when the run did not save it."""
    path = folder / name
    if not path.is_file():
        raise PredictorError(
            f"{run_label(folder)} has no saved model ({name} missing): it may not have completed")
    return path


def load_model_file(folder: Path, name: str) -> Any:
    """A saved Keras model or scikit-learn estimator; PredictorError naming the file if it won't load."""
    path = require_file(folder, name)
    try:
        if path.suffix == ".keras":
            return keras.models.load_model(path, compile=False)  # inference needs no optimizer
        if path.suffix == ".joblib":
            return joblib.load(path)
    except Exception as error:  # noqa: BLE001 - zip, HDF5, pickle and Keras errors all mean: unreadable
        raise PredictorError(
            f"{run_label(folder)}: {name} is corrupted or unreadable ({type(error).__name__}: {error})"
        ) from None
    raise PredictorError(f"{run_label(folder)}: {name} is not a .keras or .joblib model file")
