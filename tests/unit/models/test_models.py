import numpy as np

from metalearn_core.config import LayerConfig, NetworkConfig, seed_network
from metalearn_core.models.networks import build_network, feature_model


def test_seed_network_parameter_count_matches_hand_count():
    model = build_network(seed_network())
    assert model.count_params() == (784 * 128 + 128) + (128 * 10 + 10)
    assert model.output_shape == (None, 10)


def test_conv_network_adds_channel_and_flattens_before_head():
    net = NetworkConfig((LayerConfig("conv2d", filters=4, kernel_size=3), LayerConfig("max_pool"),
                         LayerConfig("batch_norm"), LayerConfig("dropout", rate=0.1)))
    model = build_network(net, num_classes=5)
    out = model.predict(np.zeros((2, 28, 28), np.float32), verbose=0)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    # conv 3x3x1x4 + 4, batch-norm 4 x 4, head (13*13*4) x 5 + 5
    assert model.count_params() == 40 + 16 + 13 * 13 * 4 * 5 + 5


def test_feature_model_outputs():
    model = build_network(NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=7))))
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    logits = feature_model(model, "logits").predict(x, verbose=0)
    probabilities = model.predict(x, verbose=0)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, probabilities, rtol=1e-5, atol=1e-6)
    both = feature_model(model, "logits+features").predict(x, verbose=0)
    assert both.shape == (3, 10 + 7)
    np.testing.assert_allclose(both[:, :10], logits, rtol=1e-5)
