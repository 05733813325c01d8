import dataclasses

import keras
import numpy as np
import pytest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.data.mnist import prepare_images
from metalearn_core.kinds.base.run import train_base
from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.kinds.stacked.run import train_stacked
from metalearn_core.models.predictor import PredictorError, predict_digit
from metalearn_core.predictor import load_predictor
from metalearn_core.runs.reporting import Reporter

SMALL = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))


@pytest.fixture(scope="module")
def base_run(mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "3"
    folder.mkdir()
    config = RunConfig(base=SMALL, training=TrainingConfig(epochs=1, train_limit=1000, test_limit=200))
    assert train_base(config, mnist, Reporter(), folder).status == "completed"
    return folder, config


def test_base_run_predictor_matches_the_saved_model(mnist, base_run):
    folder, config = base_run
    predictor = load_predictor(folder, config)
    assert "run 3" in predictor.description and "base" in predictor.description
    images = prepare_images(mnist.x_test[:200])
    probabilities = predictor.predict_proba(images)
    assert probabilities.shape == (200, 10)
    reference = keras.models.load_model(folder / "model.keras").predict(images, verbose=0)
    np.testing.assert_allclose(probabilities, reference, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities.argmax(axis=1) == mnist.y_test[:200]).mean() > 0.5
    digit, one = predict_digit(predictor, images[0])
    assert digit == int(probabilities[0].argmax()) and one.shape == (10,)
    np.testing.assert_allclose(one, probabilities[0], atol=1e-6)


def test_raw_pixel_runs_get_raw_pixels(mnist, base_run):
    folder, config = base_run
    raw = config.replace(training=dataclasses.replace(config.training, scale_pixels=False))
    images = prepare_images(mnist.x_test[:20])
    reference = keras.models.load_model(folder / "model.keras").predict(images * 255, verbose=0)
    np.testing.assert_allclose(load_predictor(folder, raw).predict_proba(images), reference, atol=1e-6)


def test_stacked_run_predictor_reproduces_the_meta_accuracy(mnist, tmp_path):
    config = RunConfig(
        kind="stacked", base=SMALL,
        training=TrainingConfig(epochs=1, batch_size=64, train_limit=1000, test_limit=200),
        settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("random_forest")),
                                meta_input="logits+features", meta_epochs=3),
    )
    result = train_stacked(config, mnist, Reporter(), tmp_path)
    assert result.status == "completed"
    predictor = load_predictor(tmp_path, config)
    assert "stacked" in predictor.description and "random forest" in predictor.description
    probabilities = predictor.predict_proba(prepare_images(mnist.x_test[:200]))
    accuracy = (probabilities.argmax(axis=1) == mnist.y_test[:200]).mean()
    assert abs(accuracy - result.summary["test_accuracy"]) < 1e-6
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_missing_model_is_an_error(tmp_path):
    folder = tmp_path / "3"
    folder.mkdir()
    with pytest.raises(PredictorError, match=r"run 3 has no saved model \(model.keras missing\)"):
        load_predictor(folder, RunConfig())
    with pytest.raises(PredictorError, match=r"stack.json missing"):
        load_predictor(folder, RunConfig(kind="stacked"))


def test_a_kind_that_does_not_classify_digits_is_an_error(tmp_path):
    folder = tmp_path / "4"
    folder.mkdir()
    with pytest.raises(PredictorError, match="run 4 is a learned_optimizer run: it does not classify digits"):
        load_predictor(folder, learned_optimizer_preset())


def test_corrupted_model_is_an_error(tmp_path):
    folder = tmp_path / "7"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"\x00garbage, not a zip archive" * 10)
    with pytest.raises(PredictorError, match="run 7: model.keras is corrupted"):
        load_predictor(folder, RunConfig())
    (folder / "stack.json").write_text("{not json")
    with pytest.raises(PredictorError, match="stack.json is corrupted"):
        load_predictor(folder, RunConfig(kind="stacked"))


def test_wrong_image_shape_is_an_error(base_run):
    folder, config = base_run
    with pytest.raises(PredictorError, match=r"\(n, 28, 28\)"):
        load_predictor(folder, config).predict_proba(np.zeros((2, 784), np.float32))
