"""Baselines every few-shot method must beat, and the 95% interval used to compare them.

* ``nearest_centroid_pixels``: prototypes of raw pixels, no learning at all.
* "Pre-train, then adapt" (Chen et al. 2019, "A Closer Look at Few-shot Classification"): train an
  ordinary softmax classifier on all meta-training classes at once, drop its head, and classify a
  new episode by the nearest class centroid in that feature space. Chen et al. adapt by fitting a
  new linear head on the support set; the nearest centroid is the parameter-free variant of
  Wang et al. 2019 ("SimpleShot") and needs no per-episode training, so it is cheap on 600 episodes.

Example:
    >>> accuracies = [nearest_centroid_pixels(e) for e in evaluation_episodes(data, config)]  # doctest: +SKIP
    >>> mean_confidence_interval(accuracies)  # doctest: +SKIP
    (0.61, 0.008)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.config import NetworkConfig
from metalearn_core.kinds.fewshot.algorithms.protonet import embedding_from_classifier
from metalearn_core.kinds.fewshot.episodes import ClassPool, Episode
from metalearn_core.models.networks import build_network

EpochCallback = Callable[[int, dict[str, float]], Any]


def nearest_centroid_accuracy(
    support_features: np.ndarray, support_y: np.ndarray, query_features: np.ndarray, query_y: np.ndarray
) -> float:
    """Query accuracy of the nearest class mean (Euclidean) in any feature space.

    Example:
        >>> nearest_centroid_accuracy(np.array([[0.0], [10.0]]), np.array([0, 1]),
        ...                           np.array([[1.0], [9.0]]), np.array([0, 1]))
        1.0
    """
    support = np.asarray(support_features, dtype=np.float64).reshape(len(support_y), -1)  # (n_s, d)
    query = np.asarray(query_features, dtype=np.float64).reshape(len(query_y), -1)  # (n_q, d)
    ways = int(np.max(support_y)) + 1
    centroids = np.stack([support[support_y == label].mean(axis=0) for label in range(ways)])  # (ways, d)
    distances = ((query[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=-1)  # (n_q, ways)
    return float(np.mean(np.argmin(distances, axis=1) == query_y))


def nearest_centroid_pixels(episode: Episode) -> float:
    """Accuracy of prototypes of raw pixels: what a ProtoNet with an identity embedding would get."""
    return nearest_centroid_accuracy(episode.support_x, episode.support_y, episode.query_x, episode.query_y)


def nearest_centroid_features(embedding_model: keras.Model, episode: Episode) -> float:
    """Accuracy of nearest class means in ``embedding_model``'s feature space (no fine-tuning)."""
    images = np.concatenate([episode.support_x, episode.query_x])  # (n_s + n_q, 28, 28)
    # predict_on_batch runs one compiled inference graph (batch norm in inference mode, like
    # training=False); an eager call per episode took 0.1 s, most of a 600-episode evaluation.
    features = np.asarray(embedding_model.predict_on_batch(images))  # (n_s + n_q, d)
    n_support = len(episode.support_y)
    support, query = features[:n_support], features[n_support:]
    return nearest_centroid_accuracy(support, episode.support_y, query, episode.query_y)


def pretrain_classifier(
    pool: ClassPool,
    network: NetworkConfig,
    epochs: int = 3,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_batch: Callable[[keras.Model], Any] | None = None,
) -> keras.Model:
    """Train a softmax classifier over all of ``pool``'s classes; return its embedding (no head).

    Args:
        pool: the meta-training classes (20 with rotations); the meta-test classes are never seen.
        network: hidden layers; the head has one unit per pool class and is thrown away.
        epochs, batch_size, learning_rate: an ordinary Adam training run.
        seed: weights and batch order.
        on_epoch: called as ``on_epoch(epoch, {"loss", "accuracy"})`` after each epoch, from 1.
        should_stop: asked after every batch; ``True`` ends training there (a wall-time budget).
        on_batch: called with the whole classifier (head included) after every batch, before
            ``should_stop``; e.g. to copy its weights at some point of the run (Meta-Baseline
            starts from such a snapshot).

    Returns:
        A Keras model from images (batch, 28, 28) to the penultimate features (batch, d).

    Example:
        >>> embedding = pretrain_classifier(ClassPool.meta_train(data, config), network)  # doctest: +SKIP
        >>> nearest_centroid_features(embedding, episode)  # doctest: +SKIP
    """
    for name, value, low in (("epochs", epochs, 1), ("batch size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")
    if not 0 < learning_rate <= 10:
        raise ValueError(f"learning rate must be between 0 and 10, got {learning_rate!r}")
    keras.utils.set_random_seed(seed)
    model = build_network(network, num_classes=pool.num_classes, name="pretrained_classifier")
    variables = model.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)
    loss_function = keras.losses.SparseCategoricalCrossentropy()

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            probabilities = model(x, training=True)  # (batch, classes)
            loss = loss_function(y, probabilities)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        correct = tf.equal(tf.argmax(probabilities, axis=-1, output_type=tf.int32), y)
        return loss, tf.reduce_sum(tf.cast(correct, tf.float32))

    # Batches are gathered from the pool one at a time: with rotations the pool would be four
    # copies of the training digits if flattened into one array (about 400 MB on full MNIST).
    positions, rows = pool.all_examples()  # (n,), (n,)
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(positions))
        total_loss, total_correct = 0.0, 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            x = pool.gather(positions[batch], rows[batch])  # (batch, 28, 28)
            loss, correct = step(tf.constant(x), tf.constant(positions[batch], tf.int32))
            total_loss += float(loss) * len(batch)
            total_correct += float(correct)
            if on_batch is not None:
                on_batch(model)
            if should_stop is not None and should_stop():
                return embedding_from_classifier(model)
        if on_epoch is not None:
            on_epoch(epoch, {"loss": total_loss / len(order), "accuracy": total_correct / len(order)})
    return embedding_from_classifier(model)


def embedding_snapshot(classifier: keras.Model) -> keras.Model:
    """An independent copy of a classifier's embedding (its penultimate features), weights included.

    Example:
        >>> copies = []  # doctest: +SKIP
        >>> pretrain_classifier(pool, network, on_batch=lambda m: copies.append(embedding_snapshot(m)))  # doctest: +SKIP
    """
    copy = keras.models.clone_model(classifier)
    copy.set_weights(classifier.get_weights())
    return embedding_from_classifier(copy)


def mean_confidence_interval(accuracies: Sequence[float]) -> tuple[float, float]:
    """Mean accuracy and the half-width of its 95% interval, ``1.96 * std / sqrt(n)``.

    The usual few-shot report (e.g. Chen et al. 2019): population std (ddof=0) over episodes.

    Example:
        >>> mean_confidence_interval([0.5, 0.7])
        (0.6, 0.13859292911256327)
    """
    values = np.asarray(accuracies, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("need at least one accuracy for a confidence interval")
    if not np.all(np.isfinite(values)):
        raise ValueError("accuracies must be finite numbers")
    return float(values.mean()), float(1.96 * values.std() / math.sqrt(values.size))
