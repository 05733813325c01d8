"""MAML and first-order MAML (Finn, Abbeel & Levine, "Model-Agnostic Meta-Learning for Fast
Adaptation of Deep Networks", ICML 2017, arXiv:1703.03400).

MAML learns an initialisation ``theta`` such that a few SGD steps on a task's support set give
parameters ``theta'`` that do well on that task's query set. The meta-objective is
``sum_tasks L_query(theta'(theta))`` with ``theta' = adapt(theta, support)``; its gradient flows
through the inner SGD steps, which involves Hessian-vector products (second order). First-order
MAML (FOMAML, same paper, section 5.2) drops those terms by treating the inner gradients as
constants, so the meta-gradient is just ``grad L_query`` evaluated at ``theta'``.

Example:
    >>> from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec
    >>> maml = MAML(NetworkSpec.conv(filters=16), ways=5, inner_lr=0.05, inner_steps=1)
    >>> metrics = maml.meta_train_step(sample_batch(4))  # doctest: +SKIP
    >>> maml.evaluate(episode, steps=3)  # before adapting, then after steps 1-3  # doctest: +SKIP
    [0.2, 0.81, 0.86, 0.87]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.kinds.fewshot.algorithms.functional import (
    EpisodeLike,
    LearningRates,
    NetworkSpec,
    accuracy,
    adaptation_accuracies,
    as_spec,
    cross_entropy,
    episode_tensors,
    forward,
    init_params,
    inner_step,
)
from metalearn_core.kinds.fewshot.algorithms.functional import adapt as adapt_params


class MAML:
    """Second-order MAML, or first-order MAML with ``first_order=True``.

    Args:
        spec: the network (a :class:`NetworkSpec` or MLP layer sizes).
        ways: classes per episode.
        inner_lr: the inner step size alpha. 0.4 is the paper's Omniglot value, but on the conv
            network here (transductive batch norm, 1x1 final maps) the first support gradient is
            large and a 0.4 step raises the loss instead of lowering it; first-order MAML then
            stays at chance. 0.05 works (see :mod:`metalearn_core.kinds.fewshot.algorithms.defaults`).
        inner_steps: inner SGD steps during meta-training (the paper uses 1 on Omniglot).
        first_order: FOMAML: no gradient through the inner-loop gradients.
        meta_lr: learning rate of the default meta-optimizer (Adam, as in the paper).
        seed: seed of the initial parameters.
        dtype: parameter dtype; ``tf.float64`` for gradient checks.
        eval_steps: inner steps used by :meth:`evaluate`, :meth:`adapt` and :meth:`predict` when
            they are not given ``steps``; ``None`` means ``inner_steps``. Finn et al. train with 1-5
            steps and test with 10.
        use_tf_function: trace the per-episode meta-gradient and the evaluation into
            ``tf.function`` s (much faster on CPU; retraces only when episode shapes change).

    Attributes:
        params: the meta-learned initialisation, a list of ``tf.Variable``.

    Example:
        >>> maml = MAML((784, 64, 64), ways=5, inner_lr=0.4, first_order=True)
        >>> [tuple(p.shape) for p in maml.params]
        [(784, 64), (64,), (64, 64), (64,), (64, 5), (5,)]
    """

    name = "maml"

    def __init__(
        self,
        spec: NetworkSpec | Sequence[int],
        ways: int,
        *,
        inner_lr: float = 0.4,
        inner_steps: int = 1,
        first_order: bool = False,
        meta_lr: float = 1e-3,
        eval_steps: int | None = None,
        seed: int = 0,
        dtype: tf.DType | str = tf.float32,
        use_tf_function: bool = True,
    ) -> None:
        if int(inner_steps) < 0:
            raise ValueError(f"inner_steps must be >= 0, got {inner_steps}")
        if eval_steps is not None and int(eval_steps) < 0:
            raise ValueError(f"eval_steps must be >= 0 or None, got {eval_steps}")
        if float(meta_lr) <= 0:
            raise ValueError(f"meta_lr must be positive, got {meta_lr}")
        self.spec = as_spec(spec)
        self.ways = int(ways)
        self.inner_lr = float(inner_lr)
        self.inner_steps = int(inner_steps)
        self.first_order = bool(first_order)
        self.meta_lr = float(meta_lr)
        self.eval_steps = None if eval_steps is None else int(eval_steps)
        self.dtype = tf.as_dtype(dtype)
        self.params = init_params(self.spec, self.ways, seed, self.dtype)
        self._meta_optimizer: keras.optimizers.Optimizer | None = None
        # Traced lazily on the first call, so subclasses can add variables in their __init__.
        self._episode_fn = (
            tf.function(self._episode_outcome, reduce_retracing=True)
            if use_tf_function
            else self._episode_outcome
        )
        self._accuracies_fn = (
            tf.function(self._accuracies, reduce_retracing=True) if use_tf_function else self._accuracies
        )
        self._final_accuracy_fn = (
            tf.function(self._final_accuracy, reduce_retracing=True)
            if use_tf_function
            else self._final_accuracy
        )

    @property
    def learning_rates(self) -> LearningRates:
        """What :func:`inner_step` gets: MAML's single scalar alpha."""
        return self.inner_lr

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Everything the meta-optimizer updates: for MAML, the initialisation."""
        return list(self.params)

    @property
    def meta_optimizer(self) -> keras.optimizers.Optimizer:
        """The default meta-optimizer, Adam(meta_lr), created on first use."""
        if self._meta_optimizer is None:
            self._meta_optimizer = keras.optimizers.Adam(self.meta_lr)
        return self._meta_optimizer

    def _steps(self, steps: int | None) -> int:
        if steps is None:
            steps = self.inner_steps if self.eval_steps is None else self.eval_steps
        steps = int(steps)
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        return steps

    def adapt(self, support_x: Any, support_y: Any, steps: int | None = None) -> list[tf.Tensor]:
        """Task-specific parameters after ``steps`` (default ``eval_steps``) inner steps; no graph kept."""
        support_x = tf.convert_to_tensor(support_x, dtype=self.dtype)  # (n_s, *input_shape)
        return adapt_params(
            self.params,
            support_x,
            support_y,
            self._steps(steps),
            self.learning_rates,
            self.spec,
            first_order=True,
        )

    def trajectory(self, support_x: Any, support_y: Any, steps: int | None = None) -> list[list[tf.Tensor]]:
        """The parameters before adapting and after each of ``steps`` inner steps: ``steps + 1`` lists.

        The same first-order steps as :meth:`adapt`, so the last list equals ``adapt(...)``; for
        watching the inner loop step by step.

        Example:
            >>> len(MAML((6, 5), ways=3).trajectory(np.ones((3, 6)), [0, 1, 2], steps=2))
            3
        """
        support_x = tf.convert_to_tensor(support_x, dtype=self.dtype)  # (n_s, *input_shape)
        path: list[list[Any]] = [list(self.params)]
        for _ in range(self._steps(steps)):
            path.append(inner_step(path[-1], support_x, support_y, self.learning_rates, self.spec,
                                   create_graph=False))
        return path

    def _episode_outcome(
        self, support_x: tf.Tensor, support_y: tf.Tensor, query_x: tf.Tensor, query_y: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """Query loss and accuracy after adaptation, and the loss's gradient w.r.t. the variables."""
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            # The inner gradients are computed while this tape records, so unless first_order
            # stops them, the meta-gradient includes the second-order terms.
            adapted = adapt_params(
                self.params,
                support_x,
                support_y,
                self.inner_steps,
                self.learning_rates,
                self.spec,
                first_order=self.first_order,
            )
            logits = forward(adapted, query_x, self.spec)  # (n_q, ways)
            query_loss = cross_entropy(logits, query_y)  # ()
        grads = tape.gradient(query_loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return query_loss, accuracy(logits, query_y), grads

    def meta_gradients(self, episodes: Sequence[EpisodeLike]) -> tuple[list[tf.Tensor], dict[str, float]]:
        """The meta-gradient averaged over a meta-batch, with the mean post-adaptation query metrics.

        Gradients are in :attr:`trainable_variables` order. Episodes are processed one at a time
        (one tape each) so memory does not grow with the meta-batch size.
        """
        episodes = list(episodes)
        if not episodes:
            raise ValueError("a meta-batch needs at least one episode")
        total: list[tf.Tensor] | None = None
        losses, accuracies = [], []
        for episode in episodes:
            query_loss, query_accuracy, grads = self._episode_fn(
                *episode_tensors(episode, self.dtype, self.ways)
            )
            total = list(grads) if total is None else [t + g for t, g in zip(total, grads)]
            losses.append(float(query_loss))
            accuracies.append(float(query_accuracy))
        grads = [t / len(episodes) for t in total]
        return grads, {"loss": float(np.mean(losses)), "accuracy": float(np.mean(accuracies))}

    def meta_train_step(
        self, episodes: Sequence[EpisodeLike], meta_optimizer: keras.optimizers.Optimizer | None = None
    ) -> dict[str, float]:
        """One meta-update on a meta-batch; returns the mean post-adaptation query ``loss`` and ``accuracy``.

        Args:
            episodes: the meta-batch (objects with support_x, support_y, query_x, query_y).
            meta_optimizer: any Keras optimizer; defaults to :attr:`meta_optimizer` (Adam).
        """
        grads, metrics = self.meta_gradients(episodes)
        optimizer = meta_optimizer if meta_optimizer is not None else self.meta_optimizer
        optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return metrics

    def evaluate(self, episode: EpisodeLike, steps: int | None = None) -> list[float]:
        """Query accuracy before adaptation (index 0) and after each of ``steps`` inner steps on the support.

        ``steps`` defaults to ``eval_steps`` (or ``inner_steps``). Runs as one traced graph call.

        Example:
            >>> maml.evaluate(episode, steps=2)  # doctest: +SKIP
            [0.2, 0.74, 0.8]
        """
        tensors = episode_tensors(episode, self.dtype, self.ways)
        # The step count is a Python int, so each distinct count is traced once and then reused.
        return [float(a) for a in self._accuracies_fn(*tensors, self._steps(steps)).numpy()]

    def _accuracies(
        self, support_x: tf.Tensor, support_y: tf.Tensor, query_x: tf.Tensor, query_y: tf.Tensor, steps: int
    ) -> tf.Tensor:
        return adaptation_accuracies(
            self.params, support_x, support_y, query_x, query_y, steps, self.learning_rates, self.spec
        )  # (steps + 1,)

    def accuracy(self, episode: EpisodeLike, steps: int | None = None) -> float:
        """Query accuracy after ``steps`` (default ``eval_steps``) inner steps: ``evaluate(...)[-1]``, faster.

        Scores the query only once, at the end, so it is the one to use on many evaluation episodes.
        """
        tensors = episode_tensors(episode, self.dtype, self.ways)
        return float(self._final_accuracy_fn(*tensors, self._steps(steps)))

    def _final_accuracy(
        self, support_x: tf.Tensor, support_y: tf.Tensor, query_x: tf.Tensor, query_y: tf.Tensor, steps: int
    ) -> tf.Tensor:
        adapted = adapt_params(
            self.params, support_x, support_y, steps, self.learning_rates, self.spec, first_order=True
        )
        return accuracy(forward(adapted, query_x, self.spec), query_y)  # ()

    def predict(self, support_x: Any, support_y: Any, x: Any, steps: int | None = None) -> np.ndarray:
        """Class probabilities ``(n, ways)`` for ``x`` after adapting on the support set.

        Conv batch norm normalises with ``x``'s own statistics, so pass the whole query batch.
        """
        adapted = self.adapt(support_x, support_y, steps)
        return tf.nn.softmax(forward(adapted, x, self.spec)).numpy()  # (n, ways)
