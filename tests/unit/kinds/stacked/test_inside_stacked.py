"""Inside a stacked run's meta network: its first-layer kernel, named by (learner, class or feature),
checked against the saved meta.keras read independently."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.kinds.stacked.inside import meta_weights, trust_matrix
from metalearn_core.kinds.stacked.inside_figures import kernel_figure, trust_figure
from metalearn_core.kinds.stacked.run import train_stacked
from metalearn_core.predictor import load_predictor
from metalearn_core.runs.reporting import Reporter

TINY = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8)))
CASES = {  # meta_input -> the meta network's hidden layers
    "probabilities": NetworkConfig((LayerConfig("dense", units=16),)),
    "logits+features": NetworkConfig(()),
}


def _config(meta_input: str) -> RunConfig:
    return RunConfig(kind="stacked", name=meta_input, base=TINY, meta=CASES[meta_input],
                     training=TrainingConfig(epochs=1, train_limit=1000, test_limit=200),
                     settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("random_forest")),
                                             meta_input=meta_input, meta_epochs=2))


@pytest.fixture(scope="module")
def finished(mnist, tmp_path_factory):
    """meta_input -> (folder, config) of a tiny finished stacked run."""
    runs = {}
    for meta_input in CASES:
        folder = tmp_path_factory.mktemp(meta_input.replace("+", "-"))
        config = _config(meta_input)
        assert train_stacked(config, mnist, Reporter(), folder).status == "completed"
        runs[meta_input] = (folder, config)
    return runs


def _labels(config: RunConfig) -> list[str]:
    return [learner.label(index) for index, learner in enumerate(config.settings.learners)]


def _saved_kernel(folder) -> np.ndarray:
    """The first Dense kernel of meta.keras, read without the module under test."""
    inner = keras.models.load_model(folder / "meta.keras", compile=False).get_layer("meta_inner")
    dense = [layer for layer in inner.layers if layer.__class__.__name__ == "Dense"][0]
    return np.asarray(dense.get_weights()[0])


@pytest.mark.parametrize("meta_input", list(CASES))
def test_the_matrix_is_the_meta_kernel_with_every_input_named(finished, meta_input):
    folder, config = finished[meta_input]
    weights = meta_weights(load_predictor(folder, config), _labels(config))
    kernel = _saved_kernel(folder)
    features = 8 if meta_input == "logits+features" else 0  # the network learner's penultimate width
    network, forest = "base 1 (network)", "base 2 (random forest)"
    expected = ([f"{network} · {c}" for c in range(10)] + [f"{network} · feature {k}" for k in range(features)]
                + [f"{forest} · {c}" for c in range(10)])
    assert weights.labels == expected
    for row, label in enumerate(expected):  # re-indexed by name: learner block offset + class or feature
        learner, _, rest = label.partition(" · ")
        offset = 0 if learner == network else 10 + features
        index = int(rest.split()[-1]) + (10 if rest.startswith("feature") else 0)
        np.testing.assert_array_equal(weights.kernel[row], kernel[offset + index])
    assert weights.is_output == (meta_input == "logits+features")  # no hidden layers: the logits layer
    assert weights.kernel.shape[1] == (10 if weights.is_output else 16)
    assert weights.meta_input == meta_input


@pytest.mark.parametrize("meta_input", list(CASES))
def test_trust_is_the_mean_absolute_weight_per_learner_and_class(finished, meta_input):
    folder, config = finished[meta_input]
    weights = meta_weights(load_predictor(folder, config), _labels(config))
    kernel = np.abs(_saved_kernel(folder)).astype(np.float64)
    columns, matrix = trust_matrix(weights)
    has_features = meta_input == "logits+features"
    assert columns == [str(c) for c in range(10)] + (["features"] if has_features else [])
    forest = 18 if has_features else 10
    np.testing.assert_allclose(matrix[0, :10], kernel[:10].mean(axis=1))
    np.testing.assert_allclose(matrix[1, :10], kernel[forest:forest + 10].mean(axis=1))
    if has_features:
        assert matrix[0, 10] == pytest.approx(kernel[10:18].mean())
        assert np.isnan(matrix[1, 10])  # a random forest adds no features
    figure = trust_figure(weights)
    np.testing.assert_allclose(np.asarray(figure.data[0].z, dtype=float), matrix)
    assert list(figure.data[0].y) == _labels(config)
    drawn = kernel_figure(weights)
    assert len(drawn.layout.shapes) == 1  # one line between the two learners' blocks
    assert np.asarray(drawn.data[0].z).shape == ((len(weights.inputs), 10) if weights.is_output
                                                 else (16, len(weights.inputs)))


def test_labels_that_do_not_fit_the_learners_are_refused(finished):
    folder, config = finished["probabilities"]
    predictor = load_predictor(folder, config)
    with pytest.raises(ValueError, match="1 labels for 2 learners"):
        meta_weights(predictor, ["only one"])
    narrow = SimpleNamespace(model=predictor.learners[1].model, meta_input="probabilities",
                             config=predictor.learners[1].config)
    narrow.model = SimpleNamespace(classes_=np.arange(3))  # a learner that scores only 3 classes
    mismatched = SimpleNamespace(model=predictor.model, learners=(predictor.learners[0], narrow))
    with pytest.raises(ValueError, match="reads 20 inputs but its learners give 13"):
        meta_weights(mismatched, _labels(config))
    with pytest.raises(ValueError, match="not a stacked run"):
        meta_weights(SimpleNamespace(model=predictor.model, learners=()), [])
