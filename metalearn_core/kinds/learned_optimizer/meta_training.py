"""Training trajectories, meta-training (truncated BPTT or antithetic ES), baseline tuning and paired evaluation.

Seeds (three disjoint ranges, so evaluation never sees a meta-training or tuning initialisation):

* meta-training trajectory ``i`` of ``MetaTrainSpec(seed=s)``: init and batch seed ``s * 1_000_000 + i``
  (below ``1e9``), minibatches from the meta-training part of the training split;
* baseline tuning: the first ``trajectories`` meta-training seeds of the same ``s``, same split;
* evaluation init ``i`` with ``seed=s``: ``EVAL_SEED_BASE + s * 10_000 + i`` (``>= 1e9``), minibatches
  from the held-out part of the training split (:class:`LearnOptData`), test accuracy on the test split.

Loss curves have ``steps + 1`` entries: entry ``t`` is the minibatch loss at the parameters after
``t`` updates, on the minibatch that step ``t`` (if any) also takes its gradient from; the last entry
is the "loss at step ``steps``" that the benchmark reports.

Reference: Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent",
arXiv:1606.04474, sections 2-3.

Example:
    >>> data = LearnOptData.from_mnist(load_mnist("/work/shared/data/mnist.npz"))  # doctest: +SKIP
    >>> optimizer, history = meta_train(data, OptimizeeSpec(), OptimizerNetSpec.nominal(), MetaTrainSpec(method="es", iterations=60))  # doctest: +SKIP
    >>> evaluate_optimizers(data, OptimizeeSpec(), {"learned": optimizer}, n_inits=5)["optimizers"]["learned"]["final_loss_mean"]  # doctest: +SKIP
    0.41
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from metalearn_core.kinds.learned_optimizer.rules import (
    LearnedOptimizer,
    State,
    UpdateRule,
    init_optimizee,
    make_hand_optimizer,
    optimizee_logits,
    optimizee_loss,
    optimizee_step,
)
from metalearn_core.kinds.learned_optimizer.specs import (
    MetaTrainSpec,
    OptimizeeSpec,
    OptimizerNetSpec,
    as_learnopt_data,
)

EVAL_SEED_BASE = 1_000_000_000
IterationCallback = Callable[[int, dict[str, Any]], Any]

GENERALISATION_CHECKS: dict[str, OptimizeeSpec] = {
    "paper": OptimizeeSpec(),
    "200 steps": OptimizeeSpec(steps=200),
    "40 hidden units": OptimizeeSpec(hidden=(40,)),
    "two hidden layers": OptimizeeSpec(hidden=(20, 20)),
    "ReLU": OptimizeeSpec(activation="relu"),
}

# Ten log-spaced learning rates (factor 1.78 apart) per hand optimizer, around what works for 100 steps of the
# MNIST MLP (a wider first pass put the optima at sgd 2.8, momentum 0.53, rmsprop and adam 0.022).
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "sgd": tuple(np.round(np.logspace(-1.0, 1.25, 10), 6)),
    "momentum": tuple(np.round(np.logspace(-2.0, 0.25, 10), 6)),
    "rmsprop": tuple(np.round(np.logspace(-3.0, -0.75, 10), 6)),
    "adam": tuple(np.round(np.logspace(-3.0, -0.75, 10), 6)),
}


def meta_seed(meta_seed_value: int, iteration: int) -> int:
    """Init and batch seed of meta-training trajectory ``iteration`` (range ``[s * 1e6, (s + 1) * 1e6)``)."""
    if not 0 <= iteration < 1_000_000:
        raise ValueError(f"iteration must lie in 0..999999, got {iteration}")
    return meta_seed_value * 1_000_000 + iteration


def eval_seed(seed: int, index: int) -> int:
    """Init and batch seed of evaluation trajectory ``index`` (always ``>= EVAL_SEED_BASE``)."""
    if not 0 <= index < 10_000 or seed < 0:
        raise ValueError(f"need seed >= 0 and index in 0..9999, got {seed}, {index}")
    return EVAL_SEED_BASE + seed * 10_000 + index


def batch_indices(n_examples: int, batch_size: int, count: int, seed: int) -> np.ndarray:
    """``count`` minibatches of indices (count, batch_size): consecutive slices of shuffled epochs.

    Example:
        >>> batch_indices(10, 4, 3, seed=0).shape
        (3, 4)
    """
    if batch_size > n_examples:
        raise ValueError(f"batch_size {batch_size} exceeds the {n_examples} examples available")
    rng = np.random.default_rng([int(seed), 1])
    per_epoch = n_examples // batch_size
    epochs = -(-count // per_epoch)
    batches = [rng.permutation(n_examples)[: per_epoch * batch_size].reshape(per_epoch, batch_size) for _ in range(epochs)]
    return np.concatenate(batches)[:count].astype(np.int32)  # (count, batch)


# --------------------------------------------------------------------------- one trajectory


def _trajectory_function(rule: Any, spec: OptimizeeSpec, steps: int) -> Callable[..., Any]:
    """A compiled trajectory for this rule and optimizee, cached on the rule (tracing once per shape)."""
    key = ("trajectory", spec, steps)
    if key not in rule.traced:

        @tf.function
        def run(theta: tf.Tensor, x_all: tf.Tensor, y_all: tf.Tensor, indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            state = rule.initial_state(spec.num_params, theta.dtype, sizes=spec.tensor_sizes)
            losses = tf.TensorArray(theta.dtype, size=steps + 1)
            for step in tf.range(steps):
                x, y = tf.gather(x_all, indices[step]), tf.gather(y_all, indices[step])  # (batch, d), (batch,)
                loss, theta, state = optimizee_step(rule, theta, state, x, y, spec)
                losses = losses.write(step, loss)
            final = optimizee_loss(theta, tf.gather(x_all, indices[steps]), tf.gather(y_all, indices[steps]), spec)
            return losses.write(steps, final).stack(), theta  # (steps + 1,), (n,)

        rule.traced[key] = run
    return rule.traced[key]


def accuracy(theta: tf.Tensor | np.ndarray, x: np.ndarray, y: np.ndarray, spec: OptimizeeSpec) -> float:
    """Classification accuracy of the optimizee with flat parameters ``theta`` on ``(x, y)``."""
    theta = tf.convert_to_tensor(theta)
    logits = optimizee_logits(theta, tf.convert_to_tensor(x), spec)  # (n, classes)
    return float(np.mean(np.argmax(logits.numpy(), axis=1) == np.asarray(y)))


def train_optimizee(optimizer: UpdateRule, spec: OptimizeeSpec, data: Any, *, init_seed: int, batch_seed: int,
                    steps: int | None = None, split: str = "eval", dtype: str = "float32") -> dict[str, Any]:
    """Train the optimizee from a seeded initialisation with any update rule (learned or hand-written).

    Args:
        optimizer: a :class:`LearnedOptimizer` or :func:`make_hand_optimizer` rule.
        spec: the optimizee.
        data: :class:`LearnOptData` (or ``MnistData``, split with the default hold-out).
        init_seed: seeds the parameter initialisation.
        batch_seed: seeds the minibatch order.
        steps: number of updates (default ``spec.steps``).
        split: ``"eval"`` (held-out minibatches) or ``"meta"`` (meta-training minibatches).

    Returns:
        ``{"loss": [steps + 1 floats], "test_accuracy": float, "params": np.ndarray (n,)}``;
        ``loss[t]`` is the minibatch loss after ``t`` updates.

    Example:
        >>> train_optimizee(make_hand_optimizer("adam", 0.01), OptimizeeSpec(), data, init_seed=0, batch_seed=0)["loss"][-1]  # doctest: +SKIP
        0.52
    """
    data = as_learnopt_data(data)
    steps = spec.steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    x_all, y_all = data.split(split)
    indices = batch_indices(len(x_all), spec.batch_size, steps + 1, batch_seed)  # (steps + 1, batch)
    theta = tf.constant(init_optimizee(spec, init_seed, dtype))  # (n,)
    losses, theta = _trajectory_function(optimizer, spec, steps)(theta, x_all, y_all, tf.constant(indices))
    return {
        "loss": [float(value) for value in losses.numpy()],
        "test_accuracy": accuracy(theta, data.x_test, data.y_test, spec),
        "params": theta.numpy(),
    }


# --------------------------------------------------------------------------- meta-training


def unroll_meta_loss(net: UpdateRule, theta: tf.Tensor, state: State, xs: tf.Tensor, ys: tf.Tensor,
                     spec: OptimizeeSpec, second_order: bool = False, weighting: str = "mean",
                     loss_clip: float = 0.0) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, State]:
    """One truncation: ``U = len(xs) - 1`` optimizee steps, returning the meta-loss to differentiate.

    The meta-loss is the mean of the optimizee's minibatch losses at the parameters after each of the
    ``U`` updates (paper equation 3 with ``w_t = 1``; a mean instead of a sum only rescales it), or with
    ``weighting="log"`` the mean of their logarithms: every truncation then counts by its relative
    improvement, so the late truncations (small losses, small gradients) weigh as much as the first.

    Args:
        xs, ys: minibatches (U + 1, batch, d) and (U + 1, batch): step ``t`` takes its gradient on batch
            ``t``; the loss after the last update is measured on batch ``U``.
        loss_clip: if > 0, every loss is clipped to at most this before it enters the meta-loss (the
            returned ``losses`` are unclipped).

    Returns:
        ``(meta_loss, losses (U + 1,), theta after U updates, optimizer state after U updates)``.

    Example:
        >>> meta_loss, losses, theta, state = unroll_meta_loss(net, theta, state, xs, ys, spec)  # doctest: +SKIP
    """
    losses = []
    for step in range(int(xs.shape[0]) - 1):
        loss, theta, state = optimizee_step(net, theta, state, xs[step], ys[step], spec, second_order)
        losses.append(loss)
    losses.append(optimizee_loss(theta, xs[-1], ys[-1], spec))
    stacked = tf.stack(losses)  # (U + 1,)
    scored = tf.minimum(stacked[1:], loss_clip) if loss_clip > 0 else stacked[1:]  # (U,)
    if weighting == "log":
        return tf.reduce_mean(tf.math.log(scored)), stacked, theta, state
    if weighting != "mean":
        raise ValueError(f"unknown meta-loss weighting {weighting!r}")
    return tf.reduce_mean(scored), stacked, theta, state


def meta_gradient(net: LearnedOptimizer, theta: tf.Tensor, state: State, xs: tf.Tensor, ys: tf.Tensor,
                  spec: OptimizeeSpec, second_order: bool = False, weighting: str = "mean",
                  loss_clip: float = 0.0) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor, State]:
    """Gradient of :func:`unroll_meta_loss` w.r.t. the optimizer network's weights.

    ``theta`` and ``state`` enter as constants, which is the stop-gradient between truncations.

    Returns:
        ``(meta_loss, gradients (one per ``net.variables``), theta after the unroll, state after the unroll)``.
    """
    with tf.GradientTape() as tape:
        meta_loss, _, theta, state = unroll_meta_loss(net, theta, state, xs, ys, spec, second_order, weighting,
                                                      loss_clip)
    grads = tape.gradient(meta_loss, net.variables)
    # A variable the loss does not reach (every loss clipped) gets a zero gradient, not None.
    return meta_loss, [tf.zeros_like(v) if g is None else g for g, v in zip(grads, net.variables)], theta, state


class _MetaAdam:
    """Adam (Kingma & Ba 2015) on the optimizer network's variables, with global-norm clipping.

    Learning rate and clip norm are variables, so one compiled step serves every ``meta_train`` call.
    """

    def __init__(self, variables: Sequence[tf.Variable]) -> None:
        self.variables = list(variables)
        dtype = self.variables[0].dtype
        self.first = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.second = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.step = tf.Variable(0.0, dtype=dtype)
        self.learning_rate, self.clip_norm = tf.Variable(0.0, dtype=dtype), tf.Variable(0.0, dtype=dtype)

    def reset(self, learning_rate: float, clip_norm: float) -> None:
        """Fresh moments; ``clip_norm=0`` turns clipping off (a huge finite norm keeps the arithmetic finite)."""
        for slot in self.first + self.second:
            slot.assign(tf.zeros_like(slot))
        self.step.assign(0.0)
        self.learning_rate.assign(learning_rate)
        self.clip_norm.assign(clip_norm if clip_norm > 0 else 1e30)

    def apply(self, grads: Sequence[tf.Tensor]) -> None:
        grads, _ = tf.clip_by_global_norm(list(grads), self.clip_norm)
        self.step.assign_add(1.0)
        correction = tf.sqrt(1 - 0.999**self.step) / (1 - 0.9**self.step)
        for variable, grad, first, second in zip(self.variables, grads, self.first, self.second):
            first.assign(0.9 * first + 0.1 * grad)
            second.assign(0.999 * second + 0.001 * tf.square(grad))
            variable.assign_sub(self.learning_rate * correction * first / (tf.sqrt(second) + 1e-8))


def _meta_step_function(net: LearnedOptimizer, spec: OptimizeeSpec, meta: MetaTrainSpec) -> Callable[..., Any]:
    """Compiled truncation + Adam step (skipped when the meta-loss is not finite), cached on ``net``."""
    key = ("meta", spec, meta.second_order, meta.loss_weighting, meta.loss_clip)
    if key not in net.traced:
        adam = _MetaAdam(net.variables)

        @tf.function
        def step(theta: tf.Tensor, state: State, x_all: tf.Tensor, y_all: tf.Tensor, indices: tf.Tensor) -> Any:
            xs, ys = tf.gather(x_all, indices), tf.gather(y_all, indices)  # (U + 1, batch, d), (U + 1, batch)
            meta_loss, grads, theta, state = meta_gradient(net, theta, state, xs, ys, spec, meta.second_order,
                                                           meta.loss_weighting, meta.loss_clip)
            finite = tf.math.is_finite(meta_loss)
            for grad in grads:
                finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(grad)))
            if finite:
                adam.apply(grads)
            return meta_loss, theta, state

        net.traced[key] = (adam, step)
    adam, step = net.traced[key]
    adam.reset(meta.meta_learning_rate, meta.clip_norm)
    return adam, step


def meta_train(data: Any, optimizee: OptimizeeSpec, net: OptimizerNetSpec, meta: MetaTrainSpec,
               on_iteration: IterationCallback | None = None, should_stop: Callable[[], bool] | None = None,
               initial: LearnedOptimizer | None = None) -> tuple[LearnedOptimizer, list[dict[str, Any]]]:
    """Meta-train the optimizer network for ``meta.iterations`` trajectories (see :class:`MetaTrainSpec`).

    Each iteration trains a freshly initialised optimizee (seed :func:`meta_seed`) for ``optimizee.steps``
    steps. ``meta.method="backprop"``: cut into truncations of ``meta.unroll`` steps, one Adam step on the
    optimizer network after each (paper section 3). ``meta.method="es"``: antithetic evolution strategies
    on the whole trajectory, one Adam step per ``meta.es_pairs`` iterations (:func:`es_gradient`). The
    meta learning rate follows ``meta.lr_schedule`` over the iterations. Everything is seeded by
    ``meta.seed``, so the result does not depend on the machine's load; training also stops (and is then
    no longer reproducible) after ``meta.budget_seconds`` of wall time (a safety cap), when
    ``should_stop()`` is true, or when ``on_iteration`` returns ``False``.

    Args:
        data: :class:`LearnOptData` or ``MnistData``; minibatches come from its meta-training part.
        optimizee, net, meta: the three specs.
        on_iteration: called after every trajectory with ``(iteration, record)``.
        should_stop: polled after every truncation or ES step.
        initial: continue training this optimizer instead of a fresh one.

    Returns:
        ``(optimizer, history)``; each history record holds ``iteration``, ``meta_loss`` (mean over the
        trajectory's truncations, or for ES the mean of the pair's meta-losses), ``final_loss`` (optimizee
        loss at the end), ``truncations`` (meta-gradient steps so far), ``seconds`` (since the start) and
        ``stopped`` (why training ended, on the last record: ``"iterations"`` when the budget was spent).

    Example:
        >>> optimizer, history = meta_train(data, OptimizeeSpec(), OptimizerNetSpec.nominal(), MetaTrainSpec(iterations=50))  # doctest: +SKIP
    """
    meta.check_against(optimizee)
    data = as_learnopt_data(data)
    optimizer = initial if initial is not None else LearnedOptimizer(net, seed=meta.seed)
    if meta.method == "es":
        return optimizer, _meta_train_es(data, optimizee, optimizer, meta, on_iteration, should_stop)
    adam, step = _meta_step_function(optimizer, optimizee, meta)
    x_all, y_all = tf.constant(data.x_meta), tf.constant(data.y_meta)
    truncations = max(1, optimizee.steps // meta.unroll)
    start, history, total = time.perf_counter(), [], 0
    for iteration in range(meta.iterations):
        seed = meta_seed(meta.seed, iteration)
        indices = batch_indices(len(data.x_meta), optimizee.batch_size, truncations * meta.unroll + 1, seed)
        theta = tf.constant(init_optimizee(optimizee, seed, optimizer.dtype.name))  # (n,)
        state = optimizer.initial_state(optimizee.num_params, sizes=optimizee.tensor_sizes)
        meta_losses, stopped = [], ""
        for cut in range(truncations):
            window = tf.constant(indices[cut * meta.unroll: (cut + 1) * meta.unroll + 1])  # (U + 1, batch)
            if meta.lr_schedule != "constant":  # progress through the iterations: the same on any machine
                adam.learning_rate.assign(meta.learning_rate_at(total / (meta.iterations * truncations)))
            meta_loss, theta, state = step(theta, state, x_all, y_all, window)
            meta_losses.append(float(meta_loss))
            total += 1
            stopped = _stop_reason(start, meta, should_stop)
            if stopped or not math.isfinite(meta_losses[-1]):
                break
        record = {"iteration": iteration, "meta_loss": float(np.mean(meta_losses)), "final_loss": meta_losses[-1],
                  "truncations": total, "seconds": time.perf_counter() - start}
        if on_iteration is not None and on_iteration(iteration, record) is False:
            stopped = "callback"
        history.append(record)
        if stopped:
            break
    history[-1]["stopped"] = stopped or "iterations"
    return optimizer, history


def es_objective(losses: np.ndarray, tail: int, loss_clip: float) -> float:
    """The ES meta-loss of one trajectory's losses (steps + 1,): the mean of the last ``tail`` (all if 0),
    each clipped to ``loss_clip`` (if > 0); a non-finite loss counts as the clip (or 1000 without one)."""
    ceiling = loss_clip if loss_clip > 0 else 1e3
    values = np.asarray(losses, dtype=np.float64)
    values = np.minimum(np.where(np.isfinite(values), values, ceiling), ceiling)
    return float(np.mean(values[-tail:] if tail else values[1:]))


def es_gradient(optimizer: LearnedOptimizer, optimizee: OptimizeeSpec, data: Any, seeds: Sequence[int],
                meta: MetaTrainSpec, rng: np.random.Generator,
                steps: int | None = None) -> tuple[list[np.ndarray], list[float], list[float]]:
    """Antithetic ES estimate of the gradient of :func:`es_objective` w.r.t. the optimizer's weights.

    For every seed (its initialisation and minibatches from the meta-training split), one perturbation
    ``eps`` (normal, std ``meta.es_sigma``, per weight) and two trajectories, with ``w + eps`` and ``w - eps``;
    the estimate is the mean over seeds of ``(L+ - L-) / (2 sigma^2) * eps``. The weights are restored after.

    Returns:
        ``(gradient, one array per weight, the pairs' mean meta-losses, their trajectories' final losses)``.

    Example:
        >>> grads, losses, finals = es_gradient(optimizer, spec, data, [0, 1], MetaTrainSpec(method="es"), rng)  # doctest: +SKIP
    """
    data = as_learnopt_data(data)
    steps = optimizee.steps if steps is None else steps
    run = _trajectory_function(optimizer, optimizee, steps)
    x_all, y_all = tf.constant(data.x_meta), tf.constant(data.y_meta)
    centre = [variable.numpy() for variable in optimizer.variables]
    estimate = [np.zeros_like(value, dtype=np.float64) for value in centre]
    pair_losses, finals = [], []
    sigma = meta.es_sigma
    try:
        for seed in seeds:
            indices = tf.constant(batch_indices(len(data.x_meta), optimizee.batch_size, steps + 1, seed))
            theta = tf.constant(init_optimizee(optimizee, seed, optimizer.dtype.name))  # (n,)
            noise = [rng.standard_normal(value.shape) * sigma for value in centre]
            scores = []
            for sign in (1.0, -1.0):
                for variable, value, eps in zip(optimizer.variables, centre, noise):
                    variable.assign((value + sign * eps).astype(value.dtype))
                losses, _ = run(theta, x_all, y_all, indices)
                losses = losses.numpy()
                scores.append(es_objective(losses, meta.es_tail, meta.loss_clip))
                finals.append(float(losses[-1]))
            for total, eps in zip(estimate, noise):
                total += (scores[0] - scores[1]) / (2 * sigma**2) * eps / len(seeds)
            pair_losses.append(float(np.mean(scores)))
    finally:
        for variable, value in zip(optimizer.variables, centre):
            variable.assign(value)
    return estimate, pair_losses, finals


def _meta_train_es(data: Any, optimizee: OptimizeeSpec, optimizer: LearnedOptimizer, meta: MetaTrainSpec,
                   on_iteration: IterationCallback | None,
                   should_stop: Callable[[], bool] | None) -> list[dict[str, Any]]:
    adam = _MetaAdam(optimizer.variables)
    adam.reset(meta.meta_learning_rate, meta.clip_norm)
    start, history, updates, stopped = time.perf_counter(), [], 0, ""
    for first in range(0, meta.iterations, meta.es_pairs):
        iterations = list(range(first, min(first + meta.es_pairs, meta.iterations)))
        rng = np.random.default_rng([meta.seed, first, 5])
        grads, losses, finals = es_gradient(optimizer, optimizee, data, [meta_seed(meta.seed, i) for i in iterations],
                                            meta, rng)
        if meta.lr_schedule != "constant":
            adam.learning_rate.assign(meta.learning_rate_at(first / meta.iterations))
        adam.apply([tf.constant(g, dtype=optimizer.dtype) for g in grads])
        updates += 1
        stopped = _stop_reason(start, meta, should_stop)
        for index, iteration in enumerate(iterations):
            record = {"iteration": iteration, "meta_loss": losses[index], "final_loss": finals[2 * index],
                      "truncations": updates, "seconds": time.perf_counter() - start}
            if on_iteration is not None and on_iteration(iteration, record) is False:
                stopped = "callback"
            history.append(record)
        if stopped:
            break
    history[-1]["stopped"] = stopped or "iterations"
    return history


def _stop_reason(start: float, meta: MetaTrainSpec, should_stop: Callable[[], bool] | None) -> str:
    if time.perf_counter() - start >= meta.budget_seconds:
        return "budget"
    if should_stop is not None and should_stop():
        return "should_stop"
    return ""


# --------------------------------------------------------------------------- baselines and evaluation


def tune_baselines(data: Any, optimizee: OptimizeeSpec, grid: Mapping[str, Sequence[float]] | None = None,
                   trajectories: int = 3, seed: int = 0, tail: int = 10) -> dict[str, dict[str, Any]]:
    """Pick each hand optimizer's learning rate on META-TRAINING initialisations and minibatches.

    The score of a learning rate is the mean, over ``trajectories`` meta-training seeds
    (:func:`meta_seed` with ``seed``), of the training loss averaged over the last ``tail`` steps: the
    end of the trajectory, as the benchmark measures, with less minibatch noise than the last step
    alone. Diverged runs score infinity. The paper also tunes each baseline's learning rate.

    Returns:
        ``{"sgd": {"learning_rate": best, "score": best score, "grid": {"0.1": score, ...},
        "at_edge": bool}, ...}``; ``at_edge`` flags a best value at the end of its grid.

    Example:
        >>> tune_baselines(data, OptimizeeSpec(), {"adam": [0.003, 0.01, 0.03]})["adam"]["learning_rate"]  # doctest: +SKIP
        0.01
    """
    grid = DEFAULT_GRID if grid is None else grid
    if trajectories < 1:
        raise ValueError(f"trajectories must be >= 1, got {trajectories}")
    results = {}
    for name, rates in grid.items():
        if not rates:
            raise ValueError(f"the grid for {name!r} is empty")
        scores = {float(rate): _tuning_score(name, float(rate), data, optimizee, trajectories, seed, tail) for rate in rates}
        best = min(scores, key=lambda rate: scores[rate])
        ordered = sorted(scores)
        results[name] = {"learning_rate": best, "score": scores[best],
                         "grid": {f"{rate:.6g}": _json_float(score) for rate, score in scores.items()},
                         "at_edge": len(ordered) > 1 and best in (ordered[0], ordered[-1])}
    return results


def _tuning_score(name: str, rate: float, data: Any, optimizee: OptimizeeSpec, trajectories: int,
                  seed: int, tail: int) -> float:
    rule = make_hand_optimizer(name, rate)
    finals = []
    for index in range(trajectories):
        run_seed = meta_seed(seed, index)
        losses = train_optimizee(rule, optimizee, data, init_seed=run_seed, batch_seed=run_seed, split="meta")["loss"]
        finals.append(float(np.mean(losses[-tail:])))
    score = float(np.mean(finals))
    return score if math.isfinite(score) else math.inf


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% interval, ``1.96 * std / sqrt(n)`` (as ``mean_confidence_interval``)."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(1.96 * array.std() / math.sqrt(array.size))


def evaluate_optimizers(data: Any, optimizee: OptimizeeSpec, optimizers: Mapping[str, UpdateRule],
                        n_inits: int = 20, seed: int = 0, steps: int | None = None) -> dict[str, Any]:
    """Train the optimizee from the same held-out initialisations and minibatches with every optimizer.

    Initialisation ``i`` uses seed :func:`eval_seed` ``(seed, i)`` (``>= 1e9``, disjoint from meta-training
    and tuning) for both its parameters and its minibatches, drawn from the held-out part of the training
    split; all optimizers see exactly the same ones (a paired comparison).

    Returns:
        A JSON-friendly dict: ``spec``, ``steps``, ``init_seeds`` and ``optimizers[name]`` with
        ``loss_curves`` (n_inits x (steps + 1), ``None`` where a run diverged), ``mean_curve``,
        ``final_loss_mean`` and ``final_loss_ci95`` (over runs that stayed finite), ``final_losses``,
        ``diverged`` (count), ``test_accuracy_mean``, ``test_accuracy_ci95`` and ``seconds``.

    Example:
        >>> evaluate_optimizers(data, OptimizeeSpec(), {"adam": make_hand_optimizer("adam", 0.01)}, n_inits=3)  # doctest: +SKIP
    """
    if isinstance(n_inits, bool) or not isinstance(n_inits, int) or n_inits < 1:
        raise ValueError(f"n_inits must be a positive integer, got {n_inits!r}")
    seeds = [eval_seed(seed, index) for index in range(n_inits)]
    report: dict[str, Any] = {"spec": optimizee.to_dict(), "steps": steps or optimizee.steps, "init_seeds": seeds,
                              "optimizers": {}}
    for name, rule in optimizers.items():
        start = time.perf_counter()
        runs = [train_optimizee(rule, optimizee, data, init_seed=s, batch_seed=s, steps=steps) for s in seeds]
        report["optimizers"][name] = _summarise(runs, time.perf_counter() - start)
    return report


def _summarise(runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    curves = np.array([run["loss"] for run in runs], dtype=np.float64)  # (n_inits, steps + 1)
    finite = np.all(np.isfinite(curves), axis=1)
    finals = curves[finite, -1]
    accuracies = [run["test_accuracy"] for run in runs]
    final_mean, final_ci = interval(finals) if finals.size else (None, None)
    accuracy_mean, accuracy_ci = interval(accuracies)
    return {
        "loss_curves": [[_json_float(v) for v in curve] for curve in curves],
        "mean_curve": [float(v) for v in curves[finite].mean(axis=0)] if finals.size else None,
        "final_losses": [_json_float(v) for v in curves[:, -1]],
        "final_loss_mean": final_mean, "final_loss_ci95": final_ci, "diverged": int((~finite).sum()),
        "test_accuracy_mean": accuracy_mean, "test_accuracy_ci95": accuracy_ci, "seconds": seconds,
    }


def run_learned_optimizer(data: Any, optimizee: OptimizeeSpec | None = None, net: OptimizerNetSpec | None = None,
                          meta: MetaTrainSpec | None = None, checks: Sequence[str] | None = None, n_inits: int = 20,
                          tune_trajectories: int = 5, optimizer: LearnedOptimizer | None = None,
                          on_iteration: IterationCallback | None = None,
                          should_stop: Callable[[], bool] | None = None,
                          on_progress: Callable[[str], Any] | None = None) -> tuple[LearnedOptimizer, dict[str, Any]]:
    """Meta-train (unless ``optimizer`` is given), then per check tune the baselines and evaluate all five.

    Missing specs are the defaults, a default learned-optimizer run's (the paper set-up, the nominal design,
    ES for 600 trajectories). The learned optimizer is trained on ``optimizee`` and applied unchanged
    to every check in :data:`GENERALISATION_CHECKS`; the hand optimizers are re-tuned for each check.

    Returns:
        ``(optimizer, report)`` with ``report = {"optimizee", "net", "meta", "meta_training": {"history",
        "seconds", "iterations", "truncations"}, "checks": {name: {"tuning": ..., "evaluation": ...}}}``.

    Example:
        >>> optimizer, report = run_learned_optimizer(data, checks=["paper"], n_inits=5)  # doctest: +SKIP
    """
    data = as_learnopt_data(data)
    optimizee, net, meta = optimizee or OptimizeeSpec(), net or OptimizerNetSpec(), meta or MetaTrainSpec()
    checks = list(GENERALISATION_CHECKS) if checks is None else list(checks)
    unknown = [name for name in checks if name not in GENERALISATION_CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {list(GENERALISATION_CHECKS)}")
    progress = on_progress or (lambda message: None)
    report: dict[str, Any] = {"optimizee": optimizee.to_dict(), "net": net.to_dict(), "meta": meta.to_dict()}
    if optimizer is None:
        start = time.perf_counter()
        optimizer, history = meta_train(data, optimizee, net, meta, on_iteration, should_stop)
        report["meta_training"] = {"history": history, "seconds": time.perf_counter() - start,
                                   "iterations": len(history), "truncations": history[-1]["truncations"]}
    report["checks"] = {}
    for name in checks:
        spec = GENERALISATION_CHECKS[name]
        progress(f"tuning baselines for {name}")
        tuning = tune_baselines(data, spec, trajectories=tune_trajectories, seed=meta.seed)
        rules: dict[str, UpdateRule] = {"learned": optimizer}
        rules.update({rule: make_hand_optimizer(rule, result["learning_rate"]) for rule, result in tuning.items()})
        progress(f"evaluating {name}")
        report["checks"][name] = {"tuning": tuning, "evaluation": evaluate_optimizers(data, spec, rules, n_inits)}
    return optimizer, report
