"""Stacked generalisation: a meta network m_φ learns from the base learners' outputs f_θ(x).

Done the way stacking is done properly (Wolpert 1992; Breiman 1996): the meta network only sees
base outputs on images the base learners did not train on, either a held-out part of the training
split or out-of-fold predictions from k-fold cross-fitting. Base learners may be neural networks
or scikit-learn models (random forest, RBF SVM). Each learner's own test accuracy is reported
beside the meta network's, so the user sees what stacking bought.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import keras
import numpy as np
from keras import layers

from metalearn_core.config import RunConfig
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.stacked.config import LearnerConfig
from metalearn_core.kinds.stacked.results import STACK_FILE
from metalearn_core.models.evaluation import evaluate_probabilities
from metalearn_core.models.networks import build_network, feature_model
from metalearn_core.models.training import fit_network, predict, prepared_splits
from metalearn_core.runs.reporting import Reporter, RunResult

SVM_DEFAULT_MAX_SAMPLES = 10_000  # an RBF SVM's fit time grows with the square of the samples


@dataclass
class FittedLearner:
    """A trained base learner and how to read the meta network's input from it."""

    config: LearnerConfig
    model: Any  # keras.Model or a scikit-learn estimator
    meta_input: str

    def features(self, x: np.ndarray) -> np.ndarray:
        """What the meta network sees for images ``x``: (n, 10) or (n, 10 + features)."""
        if isinstance(self.model, keras.Model):
            return predict(feature_model(self.model, self.meta_input), x)
        flat = x.reshape(len(x), -1)  # (n, 784)
        if self.config.kind == "svm":
            scores = self.model.decision_function(flat)  # (n, 10) one-vs-rest margins
            return scores if self.meta_input != "probabilities" else _softmax(scores)
        probabilities = self.model.predict_proba(flat)
        return probabilities if self.meta_input == "probabilities" else np.log(probabilities + 1e-6)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if isinstance(self.model, keras.Model):
            return predict(self.model, x)
        flat = x.reshape(len(x), -1)
        if self.config.kind == "svm":
            return _softmax(self.model.decision_function(flat))
        return self.model.predict_proba(flat)

    def save(self, folder: Path, index: int) -> str:
        if isinstance(self.model, keras.Model):
            name = f"learner-{index + 1}.keras"
            self.model.save(folder / name)
        else:
            name = f"learner-{index + 1}.joblib"
            joblib.dump(self.model, folder / name)
        return name


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _fit_learner(
    config: LearnerConfig, run: RunConfig, x: np.ndarray, y: np.ndarray, reporter: Reporter, series: str
) -> tuple[FittedLearner, str]:
    """Train one base learner; returns it and its fit status ("completed" or "diverged")."""
    meta_input = run.settings.meta_input
    if config.kind == "network":
        model = build_network(config.network or run.base, name="learner")
        outcome = fit_network(model, x, y, run.training, reporter, series)
        return FittedLearner(config, model, meta_input), outcome.status
    # scikit-learn is slow to import, and a run whose learners are all networks never needs it
    from sklearn.ensemble import RandomForestClassifier  # heavy: scikit-learn
    from sklearn.svm import SVC  # heavy: scikit-learn

    cap = config.max_samples or (SVM_DEFAULT_MAX_SAMPLES if config.kind == "svm" else 0)
    if cap:
        x, y = x[:cap], y[:cap]
    reporter.on_progress({"series": series, "phase": f"fitting {config.kind} on {len(y):,} images"})
    if config.kind == "svm":
        estimator = SVC(kernel="rbf", C=5.0, gamma="scale", random_state=run.training.seed)
    else:
        estimator = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=run.training.seed)
    estimator.fit(x.reshape(len(x), -1), y)
    reporter.on_epoch(series, 1, {"accuracy": float(estimator.score(x.reshape(len(x), -1), y))})
    return FittedLearner(config, estimator, meta_input), "completed"


def _fold_indices(n: int, stacking, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, predict) index pairs: one held-out split, or k disjoint folds covering all images."""
    order = np.random.default_rng(seed).permutation(n)
    if stacking.folds == 1:
        held = int(round(n * stacking.holdout_fraction))
        return [(np.sort(order[held:]), np.sort(order[:held]))]
    folds = np.array_split(order, stacking.folds)
    return [(np.sort(np.concatenate(folds[:k] + folds[k + 1:])), np.sort(folds[k]))
            for k in range(stacking.folds)]


def build_meta_model(run: RunConfig, feature_mean: np.ndarray, feature_var: np.ndarray) -> keras.Model:
    """The meta network with a fixed standardisation of its inputs in front (the outputs of
    different learners live on different scales: probabilities, logits, SVM margins)."""
    inner = build_network(run.meta, input_shape=(len(feature_mean),), name="meta_inner")
    inputs = keras.Input((len(feature_mean),), name="base_outputs")
    normalised = layers.Normalization(mean=feature_mean, variance=feature_var, name="standardise")(inputs)
    return keras.Model(inputs, inner(normalised), name="meta")


def train_stacked(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Train the base learners, then the meta network on their out-of-sample outputs.

    Reference: D. H. Wolpert, "Stacked generalization", Neural Networks 5 (1992).
    """
    keras.utils.set_random_seed(config.training.seed)
    stacking = config.settings
    x_train, y_train, x_test, y_test = prepared_splits(data, config.training)
    splits = _fold_indices(len(y_train), stacking, config.training.seed)
    meta_rows = np.sort(np.concatenate([predict_rows for _, predict_rows in splits]))
    learners: list[FittedLearner] = []
    train_blocks, test_blocks, summary = [], [], {"learners": []}
    for index, learner_config in enumerate(stacking.learners):
        label = learner_config.label(index)
        out_of_sample = None
        for fold, (fit_rows, predict_rows) in enumerate(splits):
            series = label if len(splits) == 1 else f"{label} fold {fold + 1}"
            fitted, status = _fit_learner(learner_config, config, x_train[fit_rows], y_train[fit_rows],
                                          reporter, series)
            if status == "diverged":
                return RunResult("diverged", summary, None, f"{label} diverged")
            block = fitted.features(x_train[predict_rows])
            out_of_sample = np.zeros((len(y_train), block.shape[1]), np.float32) if out_of_sample is None else out_of_sample
            out_of_sample[predict_rows] = block
        if len(splits) > 1:  # cross-fitting: the learner used at test time sees all training images
            fitted, status = _fit_learner(learner_config, config, x_train, y_train, reporter, f"{label} (all)")
            if status == "diverged":
                return RunResult("diverged", summary, None, f"{label} diverged")
        learners.append(fitted)
        train_blocks.append(out_of_sample[meta_rows])
        test_blocks.append(fitted.features(x_test))
        accuracy = evaluate_probabilities(fitted.probabilities(x_test), y_test).accuracy
        summary["learners"].append({"label": label, "kind": learner_config.kind, "test_accuracy": accuracy})
    meta_x = np.concatenate(train_blocks, axis=1)  # (n_meta, total features)
    meta_test = np.concatenate(test_blocks, axis=1)  # (n_test, total features)
    meta_model = build_meta_model(config, meta_x.mean(axis=0), meta_x.var(axis=0) + 1e-6)
    meta_training = dataclasses.replace(
        config.training, epochs=stacking.meta_epochs, learning_rate=stacking.meta_learning_rate,
        batch_size=stacking.meta_batch_size, train_limit=0, test_limit=0)
    outcome = fit_network(meta_model, meta_x, y_train[meta_rows], meta_training, reporter, "meta")
    if outcome.status == "diverged":
        return RunResult("diverged", summary, None, outcome.message)
    evaluation = evaluate_probabilities(predict(meta_model, meta_test), y_test)
    best = max(item["test_accuracy"] for item in summary["learners"])
    summary.update(
        test_accuracy=evaluation.accuracy, test_loss=evaluation.loss, best_base_accuracy=best,
        stacking_gain=evaluation.accuracy - best, meta_samples=int(len(meta_rows)),
        train_samples=int(len(y_train)), test_samples=int(len(y_test)), data_source=data.source,
        epochs_done=outcome.epochs_done,
    )
    if folder is not None:
        files = [learner.save(folder, index) for index, learner in enumerate(learners)]
        meta_model.save(folder / "meta.keras")
        (folder / STACK_FILE).write_text(json.dumps({
            "learners": files, "meta": "meta.keras", "meta_input": stacking.meta_input}, indent=2))
    return RunResult("completed", summary, evaluation)
