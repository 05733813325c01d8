"""Meta-Baseline (Chen, Liu, Xu, Darrell & Wang, "Meta-Baseline: Exploring Simple Meta-Learning for
Few-Shot Learning", ICCV 2021, arXiv:2003.04390).

Two stages on the same meta-training classes:

1. *Classifier-Baseline*: pre-train an ordinary softmax classifier over all meta-training classes
   (:func:`~metalearn_core.kinds.fewshot.algorithms.baselines.pretrain_classifier`) and keep its penultimate
   features as the embedding.
2. *Meta-Baseline*: meta-train that embedding episodically, like a Prototypical Network, but score
   a query by the **cosine similarity** to each class prototype, multiplied by a **learned
   temperature** ``tau``: ``logit_k = tau * cos(f(q), p_k)``. The cosine makes the scores
   independent of the feature norm the classifier happened to learn; ``tau`` lets the softmax be as
   sharp as the data allows.

It is a genuine meta-learner (stage 2 optimises the few-shot episode loss directly) that starts
from the strong "pre-train then adapt" baseline (Chen et al. 2019), and usually beats it.

Example:
    >>> embedding = pretrain_classifier(pool, network, epochs=1)  # doctest: +SKIP
    >>> net, history = meta_train_meta_baseline(pool, EpisodeConfig(shots=5), embedding, 500)  # doctest: +SKIP
    >>> net.evaluate(evaluation_episodes(data, EpisodeConfig(shots=1)))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from metalearn_core.kinds.fewshot.algorithms.protonet import (
    IterationCallback,
    ProtoNet,
    compute_prototypes,
    train_on_episodes,
)
from metalearn_core.kinds.fewshot.episodes import ClassPool

# Chen et al. (2021) initialise tau at 10; at 1 a cosine softmax over 5 classes is almost uniform.
DEFAULT_TEMPERATURE = 10.0


def cosine_logits(query_embeddings: tf.Tensor, prototypes: tf.Tensor, temperature: Any) -> tf.Tensor:
    """``temperature * cos(query, prototype)`` for every query and prototype (Chen et al. 2021, eq. 2).

    Args:
        query_embeddings: (n_query, d).
        prototypes: (ways, d).
        temperature: a scalar (a float or a trainable ``tf.Variable``).

    Returns:
        (n_query, ways) logits in ``[-temperature, temperature]``.

    Example:
        >>> cosine_logits(tf.constant([[1.0, 0.0]]), tf.constant([[2.0, 0.0], [0.0, 3.0]]), 10.0).numpy()
        array([[10.,  0.]], dtype=float32)
    """
    queries = tf.math.l2_normalize(query_embeddings, axis=-1)  # (n_query, d)
    prototypes = tf.math.l2_normalize(prototypes, axis=-1)  # (ways, d)
    return temperature * tf.matmul(queries, prototypes, transpose_b=True)  # (n_query, ways)


class MetaBaseline(ProtoNet):
    """A ProtoNet with cosine-similarity prototypes and a learned temperature.

    Args:
        embedding: any Keras model mapping (batch, 28, 28) images to (batch, d) features; normally
            the penultimate layer of a pre-trained classifier.
        temperature: the initial ``tau``.

    Attributes:
        temperature: the learned scalar ``tf.Variable``, trained with the embedding.

    Example:
        >>> net = MetaBaseline(pretrain_classifier(pool, network))  # doctest: +SKIP
        >>> net.accuracy(episode)  # doctest: +SKIP
    """

    def __init__(self, embedding: keras.Model, temperature: float = DEFAULT_TEMPERATURE):
        if not float(temperature) > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        self.temperature = tf.Variable(float(temperature), dtype=tf.float32, name="temperature")
        super().__init__(embedding)

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """The embedding's weights, then the temperature."""
        return [*self.embedding.trainable_variables, self.temperature]

    def episode_logits(self, support_x, support_y, query_x, ways, training: bool = False) -> tf.Tensor:
        """(n_q, ways) scaled cosine similarities of the queries to the support prototypes."""
        n_support = tf.shape(support_x)[0]
        # One pass for support and query, as ProtoNet does, so batch statistics cover the episode.
        features = self.embedding(tf.concat([support_x, query_x], axis=0), training=training)  # (n, d)
        prototypes = compute_prototypes(features[:n_support], support_y, ways)  # (ways, d)
        return cosine_logits(features[n_support:], prototypes, self.temperature)  # (n_q, ways)


def meta_train_meta_baseline(
    pool: ClassPool,
    episode_config: Any,
    embedding: keras.Model,
    iterations: int,
    learning_rate: float = 1e-4,
    temperature: float = DEFAULT_TEMPERATURE,
    on_iteration: IterationCallback | None = None,
    seed: int = 0,
) -> tuple[MetaBaseline, dict[str, list[float]]]:
    """Stage 2 of Meta-Baseline: episodic training of a pre-trained embedding with cosine prototypes.

    Args:
        pool: the meta-training classes (the same ones the embedding was pre-trained on).
        episode_config: ``ways``, ``shots`` and ``queries`` of the training episodes (any object
            with those attributes, so ``ways`` may exceed the meta-test classes; ``shots`` may be a
            tuple, one drawn per episode).
        embedding: the pre-trained embedding (e.g. from ``pretrain_classifier``); trained in place.
        iterations: episodes to train on.
        learning_rate: Adam's step size; small, so the episodes refine the pre-trained features
            rather than overwrite them (Chen et al. use SGD at 1e-3).
        temperature: the initial ``tau``.
        on_iteration: as in ``meta_train_protonet``; returning exactly ``False`` stops training.
        seed: the episode stream.

    Returns:
        The trained :class:`MetaBaseline` and its history (``iteration``, ``loss``, ``accuracy``,
        ``elapsed``).

    Example:
        >>> net, history = meta_train_meta_baseline(pool, config, embedding, 300)  # doctest: +SKIP
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a whole number of at least 1, got {iterations!r}")
    if not 0 < learning_rate <= 10:
        raise ValueError(f"learning rate must be between 0 and 10, got {learning_rate!r}")
    net = MetaBaseline(embedding, temperature)
    optimizer = keras.optimizers.Adam(learning_rate)
    history = train_on_episodes(net, pool, episode_config, iterations, optimizer, on_iteration, seed)
    return net, history
