import json

import numpy as np
import pytest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.kinds.stacked.run import _fold_indices, train_stacked
from metalearn_core.runs.reporting import Reporter


@pytest.mark.parametrize("folds", [1, 4])
def test_meta_rows_are_never_the_rows_a_learner_fitted(folds):
    stacking = StackingConfig(folds=folds, holdout_fraction=0.25)
    splits = _fold_indices(1000, stacking, seed=3)
    predicted = np.concatenate([rows for _, rows in splits])
    for fit_rows, predict_rows in splits:
        assert np.intersect1d(fit_rows, predict_rows).size == 0
        assert len(fit_rows) + len(predict_rows) == 1000
    assert len(np.unique(predicted)) == len(predicted)  # each image predicted once
    assert len(predicted) == (250 if folds == 1 else 1000)
    again = _fold_indices(1000, stacking, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again))


@pytest.mark.parametrize("meta_input, width", [("probabilities", 10 + 10), ("logits+features", 10 + 32 + 10)])
def test_stacked_run_reports_each_learner_and_the_meta_network(mnist, tmp_path, meta_input, width):
    base = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    config = RunConfig(
        kind="stacked", base=base,
        training=TrainingConfig(epochs=2, batch_size=64, train_limit=2000, test_limit=400),
        settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("random_forest")),
                                meta_input=meta_input, meta_epochs=10),
    )
    series = set()
    result = train_stacked(config, mnist, Reporter(on_epoch=lambda s, e, m: series.add(s)), tmp_path)
    assert result.status == "completed"
    summary = result.summary
    assert [item["label"] for item in summary["learners"]] == ["base 1 (network)", "base 2 (random forest)"]
    assert all(0.5 < item["test_accuracy"] <= 1 for item in summary["learners"])
    assert summary["meta_samples"] == 400  # the held-out fifth of 2,000 images
    assert summary["test_accuracy"] > 0.7
    assert np.isclose(summary["stacking_gain"], summary["test_accuracy"] - summary["best_base_accuracy"])
    assert series == {"base 1 (network)", "base 2 (random forest)", "meta"}
    from keras import models
    meta = models.load_model(tmp_path / "meta.keras")
    assert meta.input_shape == (None, width)
    assert json.loads((tmp_path / "stack.json").read_text())["learners"] == ["learner-1.keras", "learner-2.joblib"]


def test_svm_learner_with_cross_fitting(mnist):
    config = RunConfig(
        kind="stacked",
        training=TrainingConfig(epochs=1, train_limit=600, test_limit=200),
        settings=StackingConfig(learners=(LearnerConfig("svm", max_samples=300),), folds=2, meta_input="logits",
                                meta_epochs=3),
    )
    result = train_stacked(config, mnist, Reporter(), None)
    assert result.status == "completed"
    assert result.summary["meta_samples"] == 600  # out-of-fold predictions for every image
    assert result.summary["learners"][0]["test_accuracy"] > 0.5
