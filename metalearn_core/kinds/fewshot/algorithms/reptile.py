"""Reptile (Nichol, Achiam & Schulman, "On First-Order Meta-Learning Algorithms", 2018,
arXiv:1803.02999).

For each task of a meta-batch, Reptile runs k steps of SGD (or Adam) from the initialisation
``theta`` to get ``phi_task``, then moves the initialisation toward the adapted weights:

    theta <- theta + epsilon * mean_task(phi_task - theta)

with the outer step size ``epsilon`` linearly annealed to 0 over training (the paper starts at 1.0).
No query loss and no second derivatives are involved.

Choices, following the paper's few-shot classification setup:

* During meta-training the inner loop trains on the whole sampled task, support *and* query
  (``inner_on_query=True``). Reptile has no train/test split inside a meta-training task; the
  paper samples more shots for meta-training than for evaluation, which is what training on
  support + query amounts to. At evaluation (:meth:`Reptile.evaluate`) it adapts on the support
  only and scores the query, like MAML.
* Conv batch norm uses batch statistics at evaluation too (the paper's "transductive" setting),
  see :mod:`metalearn_core.kinds.fewshot.algorithms.functional`.
* Each inner step uses the full task batch (the paper uses mini-batches of 10); with episodes of
  a few dozen digits a full batch is cheap and deterministic.

Example:
    >>> from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec
    >>> reptile = Reptile(NetworkSpec.conv(filters=16), ways=5, inner_steps=5, total_iterations=1000)
    >>> metrics = reptile.meta_train_step(sample_batch(5))  # doctest: +SKIP
    >>> reptile.evaluate(episode, steps=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.kinds.fewshot.algorithms.functional import (
    EpisodeLike,
    NetworkSpec,
    accuracy,
    as_spec,
    cross_entropy,
    episode_tensors,
    forward,
    init_params,
    inner_step,
    loss_and_gradients,
)

# Adam constants of the paper (beta1 = 0: "we found it helpful to use Adam with beta1 = 0").
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.0, 0.999, 1e-8


class Reptile:
    """Reptile with an SGD or Adam inner loop and a linearly annealed outer step.

    Args:
        spec: the network (a :class:`NetworkSpec` or MLP layer sizes).
        ways: classes per episode.
        inner_lr: inner learning rate (the paper: Adam 1e-3; plain SGD needs larger, e.g. 0.05-0.4).
        inner_steps: inner steps per task during meta-training (the paper: 5 on Omniglot).
        inner_optimizer: ``"sgd"`` (via :func:`inner_step`) or ``"adam"``.
        outer_lr: initial outer step size epsilon (the paper: 1.0).
        total_iterations: meta-iterations over which epsilon decays linearly to 0; ``None`` keeps
            it constant. Pass the same number as to ``meta_train``.
        inner_on_query: train the inner loop on support + query during meta-training.
        eval_steps: inner steps of :meth:`evaluate`, :meth:`adapt` and :meth:`predict` when they
            are not given ``steps``; ``None`` means ``inner_steps`` (the paper tests with 50 steps).
        seed, dtype, use_tf_function: as for :class:`~metalearn_core.kinds.fewshot.algorithms.maml.MAML`.

    Example:
        >>> Reptile((6, 5), ways=3, outer_lr=1.0, total_iterations=10).outer_step_size
        1.0
    """

    name = "reptile"

    def __init__(
        self,
        spec: NetworkSpec | Sequence[int],
        ways: int,
        *,
        inner_lr: float = 0.1,
        inner_steps: int = 5,
        inner_optimizer: Literal["sgd", "adam"] = "sgd",
        outer_lr: float = 1.0,
        total_iterations: int | None = None,
        inner_on_query: bool = True,
        eval_steps: int | None = None,
        seed: int = 0,
        dtype: tf.DType | str = tf.float32,
        use_tf_function: bool = True,
    ) -> None:
        if inner_optimizer not in ("sgd", "adam"):
            raise ValueError(f"inner_optimizer must be 'sgd' or 'adam', got {inner_optimizer!r}")
        if int(inner_steps) < 1:
            raise ValueError(f"inner_steps must be >= 1, got {inner_steps}")
        if float(outer_lr) <= 0:
            raise ValueError(f"outer_lr must be positive, got {outer_lr}")
        if eval_steps is not None and int(eval_steps) < 0:
            raise ValueError(f"eval_steps must be >= 0 or None, got {eval_steps}")
        if total_iterations is not None and int(total_iterations) < 1:
            raise ValueError(f"total_iterations must be >= 1 or None, got {total_iterations}")
        self.spec = as_spec(spec)
        self.ways = int(ways)
        self.inner_lr = float(inner_lr)
        self.inner_steps = int(inner_steps)
        self.inner_optimizer = inner_optimizer
        self.outer_lr = float(outer_lr)
        self.total_iterations = None if total_iterations is None else int(total_iterations)
        self.inner_on_query = bool(inner_on_query)
        self.eval_steps = None if eval_steps is None else int(eval_steps)
        self.dtype = tf.as_dtype(dtype)
        self.params = init_params(self.spec, self.ways, seed, self.dtype)
        self.iteration = 0  # meta-updates done so far; drives the annealing
        train_inner = lambda x, y: self._adapted(x, y, self.inner_steps)  # noqa: E731
        self._train_inner = (
            tf.function(train_inner, reduce_retracing=True) if use_tf_function else train_inner
        )
        self._accuracies_fn = (
            tf.function(self._accuracies, reduce_retracing=True) if use_tf_function else self._accuracies
        )
        final_accuracy = lambda sx, sy, qx, qy, steps: accuracy(  # noqa: E731
            forward(self._adapted(sx, sy, steps), qx, self.spec), qy
        )
        self._final_accuracy_fn = (
            tf.function(final_accuracy, reduce_retracing=True) if use_tf_function else final_accuracy
        )

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        return list(self.params)

    @property
    def outer_step_size(self) -> float:
        """epsilon for the next meta-update: ``outer_lr * max(0, 1 - iteration / total_iterations)``."""
        if self.total_iterations is None:
            return self.outer_lr
        return self.outer_lr * max(0.0, 1.0 - self.iteration / self.total_iterations)

    def _trajectory(self, x: tf.Tensor, y: tf.Tensor, steps: int) -> Iterator[list[tf.Tensor]]:
        """Yield the parameters after each of ``steps`` inner steps (not the starting point)."""
        params: list[Any] = list(self.params)
        if self.inner_optimizer == "sgd":
            for _ in range(steps):
                params = inner_step(params, x, y, self.inner_lr, self.spec, create_graph=False)
                yield params
            return
        # Adam state starts fresh for every task, so adaptation is a pure function of (theta, task);
        # the paper's code instead carries Adam's moment estimates across tasks.
        first = [tf.zeros_like(p) for p in params]
        second = [tf.zeros_like(p) for p in params]
        for step in range(1, steps + 1):
            _, grads = loss_and_gradients(params, x, y, self.spec)
            first = [ADAM_BETA1 * m + (1 - ADAM_BETA1) * g for m, g in zip(first, grads)]
            second = [ADAM_BETA2 * v + (1 - ADAM_BETA2) * g * g for v, g in zip(second, grads)]
            # Bias-corrected step size, as in Kingma & Ba (2015), Algorithm 1.
            rate = self.inner_lr * np.sqrt(1 - ADAM_BETA2**step) / (1 - ADAM_BETA1**step)
            params = [p - rate * m / (tf.sqrt(v) + ADAM_EPSILON) for p, m, v in zip(params, first, second)]
            yield params

    def _adapted(self, x: tf.Tensor, y: tf.Tensor, steps: int) -> list[Any]:
        """The parameters at the end of the trajectory (``theta`` itself when ``steps`` is 0)."""
        adapted: list[Any] = list(self.params)
        for adapted in self._trajectory(x, y, steps):  # noqa: B007 - only the last step is kept
            continue
        return adapted

    def adapt(self, support_x: Any, support_y: Any, steps: int | None = None) -> list[Any]:
        """Task-specific parameters after ``steps`` (default ``eval_steps``) inner steps on the support."""
        x = tf.convert_to_tensor(support_x, dtype=self.dtype)  # (n_s, *input_shape)
        return self._adapted(x, tf.convert_to_tensor(support_y, tf.int32), self._steps(steps))

    def trajectory(self, support_x: Any, support_y: Any, steps: int | None = None) -> list[list[Any]]:
        """The parameters before adapting and after each of ``steps`` inner steps on the support: ``steps + 1`` lists.

        The last list equals :meth:`adapt`'s result; for watching the inner loop step by step.
        """
        x = tf.convert_to_tensor(support_x, dtype=self.dtype)  # (n_s, *input_shape)
        y = tf.convert_to_tensor(support_y, tf.int32)  # (n_s,)
        return [list(self.params), *self._trajectory(x, y, self._steps(steps))]

    def _steps(self, steps: int | None) -> int:
        if steps is None:
            steps = self.inner_steps if self.eval_steps is None else self.eval_steps
        steps = int(steps)
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        return steps

    def meta_train_step(
        self, episodes: Sequence[EpisodeLike], meta_optimizer: keras.optimizers.Optimizer | None = None
    ) -> dict[str, float]:
        """One Reptile meta-update on a meta-batch.

        Args:
            episodes: the meta-batch.
            meta_optimizer: ``None`` for the paper's update ``theta += epsilon * mean(phi - theta)``
                with annealed epsilon; or a Keras optimizer, which then receives
                ``theta - mean(phi)`` as the gradient (the paper's "Reptile with Adam" variant).

        Returns:
            Mean query ``loss`` and ``accuracy`` at the adapted weights. With ``inner_on_query``
            the query was part of the inner loop's training data, so these are training-set
            numbers; use :meth:`evaluate` for held-out accuracy.
        """
        episodes = list(episodes)
        if not episodes:
            raise ValueError("a meta-batch needs at least one episode")
        deltas = [tf.zeros_like(p) for p in self.params]
        losses, accuracies = [], []
        for episode in episodes:
            support_x, support_y, query_x, query_y = episode_tensors(episode, self.dtype, self.ways)
            if self.inner_on_query:
                x = tf.concat([support_x, query_x], axis=0)  # (n_s + n_q, *input_shape)
                y = tf.concat([support_y, query_y], axis=0)  # (n_s + n_q,)
            else:
                x, y = support_x, support_y
            adapted = self._train_inner(x, y)
            logits = forward(adapted, query_x, self.spec)  # (n_q, ways)
            losses.append(float(cross_entropy(logits, query_y)))
            accuracies.append(float(accuracy(logits, query_y)))
            deltas = [
                d + (phi - theta) / len(episodes) for d, phi, theta in zip(deltas, adapted, self.params)
            ]
        if meta_optimizer is None:
            epsilon = self.outer_step_size
            for theta, delta in zip(self.params, deltas):
                theta.assign_add(epsilon * delta)
        else:
            meta_optimizer.apply_gradients(zip([-d for d in deltas], self.params))
        self.iteration += 1
        return {"loss": float(np.mean(losses)), "accuracy": float(np.mean(accuracies))}

    def evaluate(self, episode: EpisodeLike, steps: int | None = None) -> list[float]:
        """Query accuracy before adapting (index 0), then after each of ``steps`` inner steps on the support.

        Adapts on the support set only, with the inner optimizer used in meta-training; ``steps``
        defaults to ``eval_steps`` (or ``inner_steps``). Runs as one traced graph call.
        """
        tensors = episode_tensors(episode, self.dtype, self.ways)
        return [float(a) for a in self._accuracies_fn(*tensors, self._steps(steps)).numpy()]

    def _accuracies(
        self, support_x: tf.Tensor, support_y: tf.Tensor, query_x: tf.Tensor, query_y: tf.Tensor, steps: int
    ) -> tf.Tensor:
        accuracies = [accuracy(forward(self.params, query_x, self.spec), query_y)]
        for params in self._trajectory(support_x, support_y, steps):
            accuracies.append(accuracy(forward(params, query_x, self.spec), query_y))
        return tf.stack(accuracies)  # (steps + 1,)

    def accuracy(self, episode: EpisodeLike, steps: int | None = None) -> float:
        """Query accuracy after ``steps`` (default ``eval_steps``) inner steps: ``evaluate(...)[-1]``, faster."""
        tensors = episode_tensors(episode, self.dtype, self.ways)
        return float(self._final_accuracy_fn(*tensors, self._steps(steps)))

    def predict(self, support_x: Any, support_y: Any, x: Any, steps: int | None = None) -> np.ndarray:
        """Class probabilities ``(n, ways)`` for ``x`` after adapting on the support set."""
        adapted = self.adapt(support_x, support_y, steps)
        return tf.nn.softmax(forward(adapted, x, self.spec)).numpy()  # (n, ways)
