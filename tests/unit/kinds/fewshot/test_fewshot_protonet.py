import dataclasses
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.config import LayerConfig, NetworkConfig
from metalearn_core.kinds.fewshot.algorithms.baselines import (
    embedding_snapshot,
    mean_confidence_interval,
    nearest_centroid_accuracy,
    nearest_centroid_features,
    nearest_centroid_pixels,
    pretrain_classifier,
)
from metalearn_core.kinds.fewshot.algorithms.meta_baseline import (
    MetaBaseline,
    cosine_logits,
    meta_train_meta_baseline,
)
from metalearn_core.kinds.fewshot.algorithms.protonet import (
    ProtoNet,
    build_embedding,
    compute_prototypes,
    meta_train_protonet,
    prototype_logits,
)
from metalearn_core.kinds.fewshot.episodes import ClassPool, EpisodeConfig, episodes, evaluation_episodes

CONV = NetworkConfig((LayerConfig("conv2d", filters=16), LayerConfig("max_pool"),
                      LayerConfig("conv2d", filters=16), LayerConfig("max_pool")))
DENSE = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))


@pytest.fixture(scope="module")
def small(mnist):
    return dataclasses.replace(mnist, x_train=mnist.x_train[:3000], y_train=mnist.y_train[:3000],
                               x_test=mnist.x_test[:1000], y_test=mnist.y_test[:1000])


@pytest.fixture(scope="module")
def held_out(small):
    """100 5-way 1-shot episodes of the unseen digits 5-9 from the test split."""
    return evaluation_episodes(small, EpisodeConfig(), count=100)


def numpy_logits(query, prototypes):
    """Reference: negative squared Euclidean distance, with plain loops in float64."""
    out = np.zeros((len(query), len(prototypes)))
    for i, q in enumerate(np.asarray(query, np.float64)):
        for k, p in enumerate(np.asarray(prototypes, np.float64)):
            out[i, k] = -sum((a - b) ** 2 for a, b in zip(q, p))
    return out


def test_prototypes_and_logits_match_numpy_reference():
    rng = np.random.default_rng(0)
    support = rng.normal(size=(12, 16)).astype(np.float32)  # 4 ways x 3 shots, 16 features
    labels = np.repeat(np.arange(4), 3)
    rng.shuffle(labels)  # prototypes must follow labels, not positions
    query = rng.normal(size=(10, 16)).astype(np.float32)
    prototypes = compute_prototypes(support, labels, 4).numpy()
    expected_prototypes = np.stack([support[labels == k].astype(np.float64).mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(prototypes, expected_prototypes, rtol=1e-5, atol=1e-6)
    logits = prototype_logits(tf.constant(query), tf.constant(prototypes)).numpy()
    assert logits.shape == (10, 4)
    np.testing.assert_allclose(logits, numpy_logits(query, expected_prototypes), rtol=1e-5, atol=1e-5)


def test_protonet_logits_on_an_episode_match_numpy_reference(held_out):
    keras.utils.set_random_seed(0)
    net = ProtoNet.from_network(DENSE)
    episode = held_out[0]
    support = net.embedding(episode.support_x).numpy()  # (5, 32)
    query = net.embedding(episode.query_x).numpy()  # (75, 32)
    prototypes = [support[episode.support_y == k].astype(np.float64).mean(axis=0) for k in range(5)]
    expected = numpy_logits(query, prototypes)
    np.testing.assert_allclose(net.logits(episode).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(net.predict(episode), np.argmax(expected, axis=1))
    assert net.accuracy(episode) == pytest.approx(np.mean(np.argmax(expected, axis=1) == episode.query_y))


def test_identity_embedding_is_the_pixel_baseline(held_out):
    net = ProtoNet(build_embedding(NetworkConfig()))  # no layers: raw pixels
    assert net.embedding.output_shape == (None, 784)
    for episode in held_out[:10]:
        assert net.accuracy(episode) == pytest.approx(nearest_centroid_pixels(episode))


def test_meta_training_beats_pixels_and_its_own_start(small, held_out):
    config = EpisodeConfig(ways=5, shots=1, queries=15, seed=0)
    pool = ClassPool.meta_train(small, config)
    keras.utils.set_random_seed(0)
    untrained = float(np.mean(ProtoNet.from_network(CONV).evaluate(held_out)))
    pixels = float(np.mean([nearest_centroid_pixels(e) for e in held_out]))
    calls = []
    net, history = meta_train_protonet(pool, config, CONV, iterations=300, learning_rate=1e-3,
                                       on_iteration=lambda i, m: calls.append((i, m)))
    trained, half_width = mean_confidence_interval(net.evaluate(held_out))
    # Measured on 2 cores (seeds 0-2): pixels 0.50, untrained 0.52-0.54, trained 0.64-0.65 (+-0.018).
    assert trained > pixels + 0.08, (trained, pixels)
    assert trained > untrained + 0.06, (trained, untrained)
    assert half_width < 0.03
    assert [i for i, _ in calls] == list(range(1, 301)) == history["iteration"]
    assert set(calls[0][1]) == {"loss", "accuracy", "elapsed"}
    assert np.mean(history["loss"][-50:]) < np.mean(history["loss"][:50])


def test_train_step_moves_weights_and_reports_metrics(held_out):
    keras.utils.set_random_seed(1)
    net = ProtoNet.from_network(DENSE)
    before = [w.numpy().copy() for w in net.embedding.trainable_variables]
    optimizer = keras.optimizers.Adam(1e-3)
    metrics = net.train_step(held_out[0], optimizer)
    assert set(metrics) == {"loss", "accuracy"} and metrics["loss"] > 0 and 0 <= metrics["accuracy"] <= 1
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, net.embedding.trainable_variables))
    net.train_step(held_out[1], optimizer)  # a second episode reuses the compiled step
    assert float(net.loss(held_out[0])) > 0


def test_meta_training_input_errors(small):
    config = EpisodeConfig()
    pool = ClassPool.meta_test(small, config)
    with pytest.raises(ValueError, match="no trainable weights"):
        meta_train_protonet(pool, config, NetworkConfig(), iterations=1)
    with pytest.raises(ValueError, match="iterations must be a whole number of at least 1, got 0"):
        meta_train_protonet(pool, config, DENSE, iterations=0)
    with pytest.raises(ValueError, match="flatten layer before it"):
        build_embedding(NetworkConfig((LayerConfig("dense", units=4),)))


def test_pretrain_then_nearest_centroid(small, held_out):
    config = EpisodeConfig()
    pool = ClassPool.meta_train(small, config)
    epochs = []
    embedding = pretrain_classifier(pool, DENSE, epochs=2, batch_size=64, seed=0,
                                    on_epoch=lambda e, m: epochs.append((e, m)))
    assert embedding.output_shape == (None, 32)  # the features before the 20-class head
    assert [e for e, _ in epochs] == [1, 2] and epochs[1][1]["loss"] < epochs[0][1]["loss"]
    assert epochs[1][1]["accuracy"] > 0.5  # 20 classes: chance is 0.05
    accuracy, _ = mean_confidence_interval([nearest_centroid_features(embedding, e) for e in held_out[:50]])
    assert accuracy > 0.35  # 5-way 1-shot: chance is 0.2


def test_nearest_centroid_and_confidence_interval():
    support = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 10.0]])
    assert nearest_centroid_accuracy(support, np.array([0, 0, 1]), np.array([[1.0, 1.0], [9.0, 9.0]]),
                                     np.array([0, 0])) == 0.5
    mean, half = mean_confidence_interval([0.5, 0.7, 0.6, 0.8])
    values = np.array([0.5, 0.7, 0.6, 0.8])
    assert mean == pytest.approx(0.65) and half == pytest.approx(1.96 * values.std() / 2)
    assert mean_confidence_interval([0.4]) == (0.4, 0.0)
    with pytest.raises(ValueError, match="at least one accuracy"):
        mean_confidence_interval([])


def test_episodes_of_any_shape_go_through_one_protonet(small):
    net = ProtoNet.from_network(DENSE)
    for ways, shots in ((2, 1), (5, 5), (3, 2)):
        config = EpisodeConfig(ways=ways, shots=shots, queries=4)
        episode = episodes(ClassPool.meta_test(small, config), config, 1, seed=ways)[0]
        assert net.logits(episode).shape == (ways * 4, ways)
        assert net.predict(episode).shape == (ways * 4,)


def test_training_stops_when_asked(small):
    from metalearn_core.config import LayerConfig, NetworkConfig
    from metalearn_core.kinds.fewshot.algorithms.baselines import pretrain_classifier
    from metalearn_core.kinds.fewshot.algorithms.protonet import meta_train_protonet
    from metalearn_core.kinds.fewshot.episodes import ClassPool, EpisodeConfig

    config = EpisodeConfig(ways=5, shots=1, queries=2)
    pool = ClassPool.meta_train(small, config)
    network = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8)))
    _, history = meta_train_protonet(pool, config, network, iterations=50, on_iteration=lambda i, m: i < 3)
    assert history["iteration"] == [1, 2, 3]
    asked = []
    pretrain_classifier(pool, network, epochs=5, batch_size=32, should_stop=lambda: asked.append(1) or len(asked) >= 4)
    assert len(asked) == 4  # stopped after the fourth batch of the first epoch


# --- Meta-Baseline: cosine prototypes with a learned temperature ---------------------------------


def numpy_cosine_logits(query, prototypes, temperature):
    """Reference: temperature * cosine similarity, with plain loops in float64."""
    out = np.zeros((len(query), len(prototypes)))
    for i, q in enumerate(np.asarray(query, np.float64)):
        for k, p in enumerate(np.asarray(prototypes, np.float64)):
            out[i, k] = temperature * q @ p / (np.linalg.norm(q) * np.linalg.norm(p))
    return out


def test_cosine_logits_match_numpy_reference():
    rng = np.random.default_rng(1)
    query, prototypes = rng.normal(size=(7, 12)), rng.normal(size=(4, 12))
    logits = cosine_logits(tf.constant(query, tf.float32), tf.constant(prototypes, tf.float32), 3.5).numpy()
    np.testing.assert_allclose(logits, numpy_cosine_logits(query, prototypes, 3.5), rtol=1e-5, atol=1e-5)
    # The scale of a feature vector does not matter, only its direction.
    scaled = cosine_logits(tf.constant(5 * query, tf.float32), tf.constant(prototypes, tf.float32), 3.5)
    np.testing.assert_allclose(scaled.numpy(), logits, rtol=1e-5, atol=1e-5)


def test_meta_baseline_logits_on_an_episode_match_numpy_reference(held_out):
    keras.utils.set_random_seed(0)
    net = MetaBaseline(build_embedding(DENSE), temperature=7.0)
    episode = held_out[0]
    support = net.embedding(episode.support_x).numpy()  # (5, 32)
    query = net.embedding(episode.query_x).numpy()  # (75, 32)
    prototypes = [support[episode.support_y == k].astype(np.float64).mean(axis=0) for k in range(5)]
    expected = numpy_cosine_logits(query, prototypes, 7.0)
    np.testing.assert_allclose(net.logits(episode).numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(net.predict(episode), np.argmax(expected, axis=1))
    assert net.trainable_variables[-1] is net.temperature
    with pytest.raises(ValueError, match="temperature must be positive"):
        MetaBaseline(build_embedding(DENSE), temperature=0.0)


def test_meta_baseline_refines_a_pretrained_embedding(small, held_out):
    pool = ClassPool.meta_train(small, EpisodeConfig())
    embedding = pretrain_classifier(pool, DENSE, epochs=1, batch_size=64, seed=0)
    pretrained = float(np.mean([nearest_centroid_features(embedding, e) for e in held_out]))
    calls = []
    config = SimpleNamespace(ways=10, shots=(1, 5), queries=5)  # more ways than the test, mixed shots
    net, history = meta_train_meta_baseline(
        pool, config, embedding, iterations=200, learning_rate=1e-3,
        on_iteration=lambda i, m: calls.append(i) or i < 150,
    )
    assert calls == list(range(1, 151)) == history["iteration"]  # False at 150 stops training
    assert float(net.temperature.numpy()) != 10.0  # the temperature is learned
    assert np.mean(history["loss"][-30:]) < np.mean(history["loss"][:30])
    trained = float(np.mean(net.evaluate(held_out)))
    assert trained > pretrained - 0.03, (trained, pretrained)  # it starts from, and keeps, the baseline
    with pytest.raises(ValueError, match="iterations must be a whole number"):
        meta_train_meta_baseline(pool, config, embedding, iterations=0)


def test_embedding_snapshot_is_an_independent_copy(small, held_out):
    pool = ClassPool.meta_train(small, EpisodeConfig())
    snapshots = []
    final = pretrain_classifier(pool, DENSE, epochs=1, batch_size=64, seed=0,
                                on_batch=lambda model: snapshots.append(embedding_snapshot(model))
                                if len(snapshots) == 0 else None)
    first, images = snapshots[0], held_out[0].query_x
    assert first.output_shape == final.output_shape == (None, 32)
    # Taken after the first batch, it no longer moves with the classifier it was copied from.
    assert not np.allclose(first(images, training=False).numpy(), final(images, training=False).numpy())
