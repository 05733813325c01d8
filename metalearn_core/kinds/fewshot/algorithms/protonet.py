"""Prototypical Networks (Snell et al. 2017, "Prototypical Networks for Few-shot Learning").

An embedding network maps every image to a vector; each class's prototype is the mean embedding
of its support images; a query is scored by the negative squared Euclidean distance to each
prototype, and a softmax over those scores is trained with cross-entropy, one episode at a time.
Nothing is fine-tuned at test time: a new class only needs its prototype.

Example:
    >>> net = ProtoNet.from_network(NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64))))
    >>> net.accuracy(episode)  # doctest: +SKIP
    0.52
    >>> net, history = meta_train_protonet(pool, EpisodeConfig(), network, iterations=500)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.config import IMAGE_SIZE, NetworkConfig
from metalearn_core.kinds.fewshot.episodes import ClassPool, Episode, EpisodeConfig, sample_episode
from metalearn_core.models.networks import feature_layers

IterationCallback = Callable[[int, dict[str, float]], Any]


def compute_prototypes(embeddings: tf.Tensor, labels: tf.Tensor, ways: int | tf.Tensor) -> tf.Tensor:
    """The mean embedding of each class (Snell et al. 2017, eq. 1).

    Args:
        embeddings: (n, d) support embeddings.
        labels: (n,) integer labels in 0..ways-1.
        ways: number of classes; a class without support gets a zero prototype.

    Returns:
        (ways, d) prototypes, row ``k`` for label ``k``.

    Example:
        >>> support = tf.constant([[0.0, 2.0], [2.0, 4.0], [5.0, 5.0]])  # (3, 2)
        >>> compute_prototypes(support, [0, 0, 1], ways=2).numpy().tolist()
        [[1.0, 3.0], [5.0, 5.0]]
    """
    embeddings = tf.convert_to_tensor(embeddings)  # (n, d)
    labels = tf.cast(labels, tf.int32)  # (n,)
    return tf.math.unsorted_segment_mean(embeddings, labels, ways)  # (ways, d)


def prototype_logits(query_embeddings: tf.Tensor, prototypes: tf.Tensor) -> tf.Tensor:
    """Negative squared Euclidean distance of every query to every prototype (Snell et al. 2017, eq. 2).

    The squared distance (not the distance) makes the classifier linear in the query embedding,
    which is what the paper found to work best. The difference is broadcast rather than expanded as
    ``|q|^2 - 2 q.p + |p|^2``: exact in float32 and small at few-shot sizes.

    Args:
        query_embeddings: (n_query, d).
        prototypes: (ways, d).

    Returns:
        (n_query, ways) logits; the largest is the nearest prototype.

    Example:
        >>> prototype_logits(tf.constant([[0.0, 0.0]]), tf.constant([[1.0, 0.0], [0.0, 2.0]])).numpy()
        array([[-1., -4.]], dtype=float32)
    """
    difference = query_embeddings[:, None, :] - prototypes[None, :, :]  # (n_query, ways, d)
    return -tf.reduce_sum(tf.square(difference), axis=-1)  # (n_query, ways)


def build_embedding(
    network: NetworkConfig, input_shape: tuple[int, ...] = (IMAGE_SIZE, IMAGE_SIZE), name: str = "embedding"
) -> keras.Model:
    """The configured layers without the classification head: images -> (batch, features).

    Same layers and names as :func:`metalearn_core.models.networks.build_network`, so weights can move
    between the two; a network without layers embeds an image as its raw pixels.

    Example:
        >>> network = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64)))
        >>> build_embedding(network).output_shape
        (None, 64)
    """
    network.validate("embedding network", image_input=len(input_shape) == 2)
    inputs, features = feature_layers(network, input_shape)  # distances need (batch, features)
    return keras.Model(inputs, features, name=name)


def embedding_from_classifier(model: keras.Model) -> keras.Model:
    """The features a ``build_network`` classifier feeds its ``logits`` layer (its penultimate layer)."""
    return keras.Model(model.input, model.get_layer("logits").input, name=f"{model.name}_embedding")


def episode_logits(
    embedding: keras.Model,
    support_x: tf.Tensor,
    support_y: tf.Tensor,
    query_x: tf.Tensor,
    ways: int | tf.Tensor,
    training: bool = False,
) -> tf.Tensor:
    """Embed support and query in one pass, build prototypes, score the queries: (n_query, ways)."""
    n_support = tf.shape(support_x)[0]
    # One forward pass for both sets, so batch-norm statistics (when training) cover the whole episode.
    features = embedding(tf.concat([support_x, query_x], axis=0), training=training)  # (n_s + n_q, d)
    prototypes = compute_prototypes(features[:n_support], support_y, ways)  # (ways, d)
    return prototype_logits(features[n_support:], prototypes)  # (n_q, ways)


def _episode_tensors(episode: Episode) -> tuple[tf.Tensor, ...]:
    return (
        tf.convert_to_tensor(episode.support_x, tf.float32),  # (ways * shots, 28, 28)
        tf.convert_to_tensor(episode.support_y, tf.int32),  # (ways * shots,)
        tf.convert_to_tensor(episode.query_x, tf.float32),  # (ways * queries, 28, 28)
        tf.convert_to_tensor(episode.query_y, tf.int32),  # (ways * queries,)
        tf.constant(episode.ways, tf.int32),
    )


def _loss_and_accuracy(logits: tf.Tensor, query_y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=query_y, logits=logits))
    correct = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), query_y)  # (n_q,)
    return loss, tf.reduce_mean(tf.cast(correct, tf.float32))


class ProtoNet:
    """A Prototypical Network around an embedding model.

    Args:
        embedding: any Keras model mapping (batch, 28, 28) images to (batch, d) features.

    Example:
        >>> net = ProtoNet.from_network(network)  # doctest: +SKIP
        >>> optimizer = keras.optimizers.Adam(1e-3)  # doctest: +SKIP
        >>> metrics = net.train_step(episode, optimizer)  # {"loss": ..., "accuracy": ...}  # doctest: +SKIP
        >>> net.predict(other_episode)  # (ways * queries,) labels  # doctest: +SKIP
    """

    def __init__(self, embedding: keras.Model):
        self.embedding = embedding
        # One compiled step per optimizer: tf.function captures the optimizer's variables.
        self._train_steps: dict[int, Callable[..., tuple[tf.Tensor, tf.Tensor]]] = {}
        # reduce_retracing: shot and query counts vary between calls without a new graph each time.
        self._logits = tf.function(self._logits_eager, reduce_retracing=True)

    @classmethod
    def from_network(cls, network: NetworkConfig, name: str = "protonet_embedding") -> ProtoNet:
        """A fresh ProtoNet whose embedding is the configured layers (see :func:`build_embedding`)."""
        return cls(build_embedding(network, name=name))

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """What a training step updates: the embedding's weights (subclasses may add more)."""
        return list(self.embedding.trainable_variables)

    def episode_logits(self, support_x, support_y, query_x, ways, training: bool = False) -> tf.Tensor:
        """(n_q, ways) scores of the queries against the support prototypes; subclasses change the metric."""
        return episode_logits(self.embedding, support_x, support_y, query_x, ways, training=training)

    def _logits_eager(self, support_x, support_y, query_x, ways) -> tf.Tensor:
        return self.episode_logits(support_x, support_y, query_x, ways, training=False)

    def logits(self, episode: Episode) -> tf.Tensor:
        """(ways * queries, ways) negative squared distances of the queries to the prototypes."""
        support_x, support_y, query_x, _, ways = _episode_tensors(episode)
        return self._logits(support_x, support_y, query_x, ways)

    def loss(self, episode: Episode, training: bool = False) -> tf.Tensor:
        """Mean cross-entropy of the queries (a scalar tensor, differentiable)."""
        support_x, support_y, query_x, query_y, ways = _episode_tensors(episode)
        logits = self.episode_logits(support_x, support_y, query_x, ways, training=training)
        return _loss_and_accuracy(logits, query_y)[0]

    def _compiled_step(self, optimizer: keras.optimizers.Optimizer) -> Callable[..., Any]:
        key = id(optimizer)
        if key not in self._train_steps:
            variables = self.trainable_variables
            if not variables:
                raise ValueError(
                    "the embedding network has no trainable weights; add a dense or conv2d layer"
                )
            if not optimizer.built:
                optimizer.build(variables)  # create the slots outside the graph

            @tf.function(reduce_retracing=True)
            def step(support_x, support_y, query_x, query_y, ways):
                with tf.GradientTape() as tape:
                    logits = self.episode_logits(
                        support_x, support_y, query_x, ways, training=True
                    )  # (n_q, ways)
                    loss, accuracy = _loss_and_accuracy(logits, query_y)
                gradients = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(gradients, variables))
                return loss, accuracy

            self._train_steps[key] = step
        return self._train_steps[key]

    def train_step(self, episode: Episode, optimizer: keras.optimizers.Optimizer) -> dict[str, float]:
        """One gradient step on one episode; returns its query loss and accuracy (before the step)."""
        loss, accuracy = self._compiled_step(optimizer)(*_episode_tensors(episode))
        return {"loss": float(loss), "accuracy": float(accuracy)}

    def predict(self, episode: Episode) -> np.ndarray:
        """Predicted label (0..ways-1) of every query: (ways * queries,) int."""
        return np.argmax(self.logits(episode).numpy(), axis=1)

    def accuracy(self, episode: Episode) -> float:
        """Fraction of the episode's queries classified correctly."""
        return float(np.mean(self.predict(episode) == episode.query_y))

    def evaluate(self, episodes: Sequence[Episode]) -> np.ndarray:
        """Query accuracy of each episode: (len(episodes),) floats; see ``mean_confidence_interval``."""
        return np.array([self.accuracy(episode) for episode in episodes])


def meta_train_protonet(
    pool: ClassPool,
    episode_config: EpisodeConfig,
    network: NetworkConfig,
    iterations: int,
    learning_rate: float = 1e-3,
    on_iteration: IterationCallback | None = None,
    seed: int | None = None,
) -> tuple[ProtoNet, dict[str, list[float]]]:
    """Meta-train a ProtoNet: one episode from ``pool`` and one Adam step per iteration.

    Args:
        pool: the meta-training classes (``ClassPool.meta_train``).
        episode_config: ways, shots and queries of the training episodes.
        network: the embedding layers.
        iterations: episodes to train on.
        learning_rate: Adam's step size (Snell et al. used 1e-3).
        on_iteration: called as ``on_iteration(iteration, metrics)`` after every step, iteration
            counted from 1, metrics ``{"loss", "accuracy", "elapsed"}``; for live charts. Returning
            exactly ``False`` stops training (a stop button, a wall-time budget), as in ``meta_train``.
        seed: weights and episode stream; ``episode_config.seed`` when None.

    Returns:
        The trained ProtoNet and a history of lists ``iteration``, ``loss``, ``accuracy``, ``elapsed``.

    Example:
        >>> net, history = meta_train_protonet(pool, config, network, 300, on_iteration=print)
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a whole number of at least 1, got {iterations!r}")
    if not 0 < learning_rate <= 10:
        raise ValueError(f"learning rate must be between 0 and 10, got {learning_rate!r}")
    seed = episode_config.seed if seed is None else seed
    keras.utils.set_random_seed(seed)  # the initial weights
    net = ProtoNet.from_network(network)
    optimizer = keras.optimizers.Adam(learning_rate)
    history = train_on_episodes(net, pool, episode_config, iterations, optimizer, on_iteration, seed)
    return net, history


def train_on_episodes(
    net: ProtoNet,
    pool: ClassPool,
    episode_config: EpisodeConfig,
    iterations: int,
    optimizer: keras.optimizers.Optimizer,
    on_iteration: IterationCallback | None = None,
    seed: int = 0,
) -> dict[str, list[float]]:
    """The episodic loop of every prototype learner: one sampled episode and one step per iteration.

    Args:
        net: a :class:`ProtoNet` (or subclass such as ``MetaBaseline``), trained in place.
        pool, episode_config: where training episodes come from and their shape; ``episode_config``
            only needs ``ways``, ``shots`` and ``queries`` (``shots`` may be a tuple, drawn per episode).
        iterations, optimizer, on_iteration: as in :func:`meta_train_protonet`.
        seed: the episode stream.

    Returns:
        The history: lists ``iteration``, ``loss``, ``accuracy``, ``elapsed``.
    """
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"iteration": [], "loss": [], "accuracy": [], "elapsed": []}
    start = time.perf_counter()
    for iteration in range(1, iterations + 1):
        metrics = net.train_step(sample_episode(pool, _draw_shots(episode_config, rng), rng), optimizer)
        metrics["elapsed"] = time.perf_counter() - start
        history["iteration"].append(iteration)
        for key, value in metrics.items():
            history[key].append(value)
        if on_iteration is not None and on_iteration(iteration, dict(metrics)) is False:
            break
    return history


def _draw_shots(episode_config: Any, rng: np.random.Generator) -> Any:
    """``episode_config`` itself, or a copy with one shot count drawn when ``shots`` is a sequence."""
    shots = episode_config.shots
    if isinstance(shots, int):
        return episode_config
    return SimpleNamespace(ways=episode_config.ways, shots=int(rng.choice(shots)), queries=episode_config.queries)
