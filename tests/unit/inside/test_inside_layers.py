"""Inside a network for one image: layer outputs, first-layer weights, saliency, and their pictures."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from metalearn_core.config import LayerConfig, NetworkConfig
from metalearn_core.inside import layer_images as images
from metalearn_core.inside.layers import (
    InsideError,
    first_layer_weights,
    layer_outputs,
    networks_inside,
    saliency,
)
from metalearn_core.kinds.stacked.config import LearnerConfig
from metalearn_core.kinds.stacked.run import FittedLearner, build_meta_model
from metalearn_core.models.networks import build_network
from metalearn_core.models.predictor import Predictor

DENSE = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=24), LayerConfig("dense", units=12)))
CONV = NetworkConfig((LayerConfig("conv2d", filters=4, kernel_size=3), LayerConfig("max_pool"),
                      LayerConfig("conv2d", filters=6, kernel_size=3), LayerConfig("max_pool"),
                      LayerConfig("flatten"), LayerConfig("dropout", rate=0.5)))


@pytest.fixture(scope="module")
def image(mnist) -> np.ndarray:
    return mnist.x_test[0].astype(np.float32) / 255.0  # (28, 28) in [0, 1]


def reference_output(model: keras.Model, name: str, x: np.ndarray) -> np.ndarray:
    """The layer's output from a Keras sub-model built here, independently of the code under test."""
    return np.asarray(keras.Model(model.input, model.get_layer(name).output)(x[None], training=False))[0]


@pytest.mark.parametrize("network", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("scale_pixels", [True, False])
def test_every_layer_output_matches_a_keras_sub_model(network, scale_pixels, image):
    keras.utils.set_random_seed(0)
    model = build_network(network)
    outputs = layer_outputs(model, image, scale_pixels=scale_pixels)
    x = image if scale_pixels else image * 255.0
    assert [output.name for output in outputs] == [layer.name for layer in model.layers[1:]]
    for output in outputs:
        expected = reference_output(model, output.name, x)
        assert output.shape == expected.shape == output.values.shape
        np.testing.assert_allclose(output.values, expected, rtol=1e-5, atol=1e-5)
    assert outputs[-1].name == "probabilities"
    np.testing.assert_allclose(outputs[-1].values, np.asarray(model(x[None]))[0], rtol=1e-5, atol=1e-6)
    if network is CONV:
        assert [o.layer_type for o in outputs].count("MaxPooling2D") == 2
        assert outputs[2].shape == (13, 13, 4)  # 26x26 maps pooled by 2


def test_layer_outputs_reject_an_input_of_the_wrong_shape():
    with pytest.raises(InsideError, match=r"\(28, 28\)"):
        layer_outputs(build_network(DENSE), np.zeros((32, 32), np.float32))


def test_the_meta_networks_nested_layers_are_expanded():
    keras.utils.set_random_seed(1)
    mean, var = np.linspace(0, 1, 20, dtype=np.float32), np.linspace(1, 2, 20, dtype=np.float32)
    from metalearn_core.config import RunConfig

    meta = build_meta_model(RunConfig(kind="stacked", meta=NetworkConfig((LayerConfig("dense", units=8),))),
                            mean, var)
    x = np.random.default_rng(0).random(20).astype(np.float32)
    outputs = layer_outputs(meta, x)
    assert [output.name for output in outputs] == ["standardise", "dense_1", "logits", "probabilities"]
    np.testing.assert_allclose(outputs[0].values, (x - mean) / np.sqrt(var), rtol=1e-4, atol=1e-5)
    inner = meta.get_layer("meta_inner")
    for output in outputs[1:]:
        np.testing.assert_allclose(output.values, reference_output(inner, output.name, outputs[0].values),
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[-1].values, np.asarray(meta(x[None]))[0], rtol=1e-5, atol=1e-6)


@pytest.fixture()
def float64():
    """Layers built meanwhile compute in float64, so that finite differences are accurate."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_floatx(floatx)


@pytest.mark.parametrize("scale_pixels", [True, False])
def test_saliency_matches_central_finite_differences_of_the_logit(float64, image, scale_pixels):
    keras.utils.set_random_seed(2)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8, activation="tanh")))
    model = build_network(tiny)
    if not scale_pixels:  # smaller weights for raw 0-255 pixels, or tanh saturates and every gradient is 0
        model.get_layer("dense_2").kernel.assign(model.get_layer("dense_2").kernel / 255.0)
    x = image.astype(np.float64)
    result = saliency(model, x, scale_pixels=scale_pixels)
    logits_model = keras.Model(model.input, model.get_layer("logits").output)

    def logit(pixels: np.ndarray) -> float:
        scaled = pixels if scale_pixels else pixels * 255.0
        return float(np.asarray(logits_model(scaled[None]))[0, result.digit])

    assert result.digit == int(np.argmax(np.asarray(logits_model((x if scale_pixels else x * 255.0)[None]))[0]))
    assert result.logit == pytest.approx(logit(x))
    eps = 1e-5 if scale_pixels else 1e-7
    pixels = [(14, 14), (10, 12), (20, 8), (0, 0), (27, 27), *zip(*np.nonzero(x > 0.5))][:25]
    for row, column in pixels:
        up, down = x.copy(), x.copy()
        up[row, column] += eps
        down[row, column] -= eps
        estimate = (logit(up) - logit(down)) / (2 * eps)
        assert result.gradient[row, column] == pytest.approx(estimate, rel=1e-4, abs=1e-6)
    np.testing.assert_array_equal(result.gradient_x_input, result.gradient * x)
    assert np.abs(result.gradient).max() > 0


def test_saliency_needs_a_logits_layer():
    inputs = keras.Input((28, 28))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    with pytest.raises(InsideError, match="logits"):
        saliency(model, np.zeros((28, 28), np.float32))


def test_first_dense_layer_gives_the_top_k_units_most_active_first(image):
    keras.utils.set_random_seed(3)
    model = build_network(DENSE)
    outputs = layer_outputs(model, image)
    weights = first_layer_weights(model, outputs, k=5)
    activations = outputs[1].values  # dense_2, after flatten_1
    assert weights.layer == "dense_2" and weights.layer_type == "Dense"
    assert np.all(np.diff(weights.activations) <= 0)  # sorted, most active first
    np.testing.assert_array_equal(weights.activations, activations[weights.units])
    assert set(weights.units) == set(np.argsort(activations)[-5:])  # the five largest, none missed
    kernel = np.asarray(model.get_layer("dense_2").kernel)  # (784, 24)
    assert weights.tiles.shape == (5, 28, 28)
    for tile, unit in zip(weights.tiles, weights.units):
        np.testing.assert_array_equal(tile.ravel(), kernel[:, unit])  # row-major, as Flatten reads pixels


def test_first_conv_layer_gives_its_filters(image):
    keras.utils.set_random_seed(4)
    model = build_network(CONV)
    outputs = layer_outputs(model, image)
    weights = first_layer_weights(model, outputs)
    kernel = np.asarray(model.get_layer("conv2d_1").kernel)  # (3, 3, 1, 4)
    assert weights.layer_type == "Conv2D" and weights.tiles.shape == (4, 3, 3)
    np.testing.assert_array_equal(weights.tiles[2], kernel[:, :, 0, 2])
    np.testing.assert_allclose(weights.activations, outputs[1].values.mean(axis=(0, 1)), rtol=1e-6)


def test_a_meta_networks_first_layer_has_no_pixel_weights():
    model = build_network(NetworkConfig((LayerConfig("dense", units=4),)), input_shape=(20,))
    outputs = layer_outputs(model, np.ones(20, np.float32))
    assert first_layer_weights(model, outputs) is None


def test_a_stacked_predictor_shows_its_network_learner_then_the_meta_network(image):
    keras.utils.set_random_seed(5)
    network = build_network(DENSE, name="learner")
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        np.random.default_rng(0).random((50, 784)), np.arange(50) % 10)
    learners = (FittedLearner(LearnerConfig("random_forest"), forest, "probabilities"),
                FittedLearner(LearnerConfig("network"), network, "probabilities"))
    meta = build_network(NetworkConfig((LayerConfig("dense", units=4),)), input_shape=(20,))
    shown = networks_inside(Predictor(meta, "stack", True, learners), image)
    assert [item.title for item in shown] == ["base 2 (network)", "meta network"]
    assert shown[0].model is network and shown[0].reads_image
    expected = np.concatenate([learner.features(image[None])[0] for learner in learners])
    np.testing.assert_allclose(shown[1].x, expected, rtol=1e-6)
    assert shown[1].input_groups == (("base 1 (random forest)", 10), ("base 2 (network)", 10))
    assert networks_inside(Predictor(network, "base"), image)[0].title == "network"


def test_activation_strip_sorted_puts_the_most_active_unit_first():
    values = np.array([0.0, 3.0, 1.0, 2.0])
    sorted_strip = images.activation_strip(values, order="sorted", cell=1)
    in_order = images.activation_strip(values, order="in order", cell=1)
    brightest = images.activity(values)[1]
    np.testing.assert_array_equal(sorted_strip[0, 0], brightest)
    np.testing.assert_array_equal(in_order[0, 1], brightest)
    np.testing.assert_array_equal(in_order[0, 0], images.activity(values)[0])
    assert images.activation_strip(np.arange(70.0), columns=64, cell=2).shape == (4, 128, 3)
    with pytest.raises(ValueError, match="order"):
        images.activation_strip(values, order="random")


def test_saliency_overlay_is_red_where_positive_and_blue_where_negative():
    saliency_map = np.zeros((28, 28))
    saliency_map[3, 4], saliency_map[20, 21] = 1.0, -1.0
    overlay = images.saliency_overlay(np.zeros((28, 28)), saliency_map, factor=2)
    red, blue, untouched = overlay[6, 8], overlay[40, 42], overlay[0, 0]
    assert red[0] > 200 and red[2] < 80
    assert blue[2] > 200 and blue[0] < 80
    assert untouched[0] == untouched[1] == untouched[2] < 60  # the dim grey background


def test_weight_tiles_use_a_symmetric_scale_per_tile():
    tiles = np.zeros((2, 2, 2))
    tiles[0] = [[1, -1], [0, 0.5]]
    tiles[1] = [[100, 0], [0, 0]]
    picture = images.weight_tiles(tiles, columns=2)  # 2x2 tiles, a 1 px gap
    np.testing.assert_array_equal(picture[0, 0], images.SIGNED[-1].astype(np.uint8))  # +max: darkest red
    np.testing.assert_array_equal(picture[0, 1], images.SIGNED[0].astype(np.uint8))  # -max: darkest blue
    np.testing.assert_array_equal(picture[0, 3], picture[0, 0])  # each tile's own maximum is as red
    np.testing.assert_array_equal(picture[0, 2], [255, 255, 255])  # the gap
