"""Inside a learned optimizer: its update rule drawn as a function, and the steps it takes.

Two views of a finished learned-optimizer run, each beside the hand-written rules with the learning
rates the run tuned:

* :func:`rule_curves`: the update one coordinate receives against the gradient it is given. Every
  rule here is stateful (momenta, an LSTM's memory), so the state is made explicit: a *history* is
  ``steps`` warm-up updates with the same constant gradient, after which the probe gradient is fed
  once and its update read. ``History("first step", 0.0, 0)`` is the very first update from a fresh
  state. Each probe value is its own coordinate (the rules are coordinate-wise), so one call of the
  rule draws the whole curve.
* :func:`update_magnitudes`: per step of a held-out training trajectory of the base network, the
  mean over the weights of ``|theta_{t+1} - theta_t|`` and its 10th-90th percentiles over the weights
  that moved, every rule
  from the same initialisation and minibatches as the run's first evaluation trajectory.

TensorFlow is imported on use, so the Train page can import this module cheaply.

Reference: Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent",
arXiv:1606.04474 (the coordinate-wise optimizer), Kingma & Ba 2015 (Adam).

Example:
    >>> rules = run_rules(folder, results)  # doctest: +SKIP
    >>> curves = rule_curves(rules, gradient_sweep(), default_histories(0.003))  # doctest: +SKIP
    >>> curves.updates["sgd"][0][:3]  # doctest: +SKIP
    array([28.2, 14.1, 7.05])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_core.kinds.learned_optimizer.run import OPTIMIZER_FILE, load_optimizer
from metalearn_core.kinds.learned_optimizer.specs import OptimizeeSpec, held_out_split

HAND_RULES = ("sgd", "momentum", "rmsprop", "adam")
HISTORY_STEPS = 10  # warm-up updates before the probe: long enough for the momenta to settle on it


@dataclass(frozen=True)
class History:
    """What a coordinate saw before the probe: ``steps`` updates with the constant ``gradient``."""

    name: str
    gradient: float
    steps: int

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"History.steps must be a whole number >= 0, got {self.steps!r}")
        if not np.isfinite(self.gradient):
            raise ValueError(f"History.gradient must be finite, got {self.gradient!r}")


@dataclass(frozen=True)
class RuleCurves:
    """Updates (one array per history, aligned with ``gradients``) for every rule by name."""

    gradients: np.ndarray  # (points,)
    histories: tuple[History, ...]
    updates: dict[str, list[np.ndarray]]  # name -> [(points,) per history]


@dataclass(frozen=True)
class UpdateMagnitudes:
    """Per step of one trajectory and per rule: the mean of ``|update|`` over all weights, its 10th and 90th
    percentile over the weights that moved, and the loss."""

    init_seed: int
    mean: dict[str, np.ndarray]  # name -> (steps,)
    low: dict[str, np.ndarray]  # name -> (steps,) 10th percentile over the weights that moved
    high: dict[str, np.ndarray]  # name -> (steps,) 90th percentile over the weights that moved
    loss: dict[str, np.ndarray]  # name -> (steps,) minibatch loss before each update
    first_gradient_median: float  # median non-zero |gradient| of the first step, the same for every rule


def gradient_sweep(low: float = 1e-4, high: float = 10.0, points: int = 25, scale: str = "log") -> np.ndarray:
    """Probe gradients, ascending: ``scale="log"`` gives ``points`` log-spaced magnitudes on each side of
    zero, and zero; ``"linear"`` gives ``2 * points + 1`` evenly spaced values over ``[-high, high]``.

    Example:
        >>> gradient_sweep(0.1, 10.0, 3).tolist()
        [-10.0, -1.0, -0.1, 0.0, 0.1, 1.0, 10.0]
    """
    if scale not in ("log", "linear"):
        raise ValueError(f"scale must be 'log' or 'linear', got {scale!r}")
    if scale == "linear" and high > 0 and points >= 2:
        return np.linspace(-high, high, 2 * points + 1)
    if not 0 < low < high or points < 2:
        raise ValueError(f"need 0 < low < high and points >= 2, got {low}, {high}, {points}")
    magnitudes = np.geomspace(low, high, points)
    return np.concatenate([-magnitudes[::-1], [0.0], magnitudes])


def default_histories(gradient: float, steps: int = HISTORY_STEPS) -> tuple[History, ...]:
    """The first step from a fresh state, then ``steps`` steps of ``+gradient`` and of ``-gradient``.

    Example:
        >>> [history.name for history in default_histories(0.01)]
        ['first step', 'after 10 steps of gradient +0.01', 'after 10 steps of gradient -0.01']
    """
    size = f"{abs(gradient):.2g}"
    return (History("first step", 0.0, 0), History(f"after {steps} steps of gradient +{size}", abs(gradient), steps),
            History(f"after {steps} steps of gradient -{size}", -abs(gradient), steps))


def probe_updates(rule: Any, gradients: np.ndarray, history: History) -> np.ndarray:
    """The update each probe gradient gets after ``history``: one coordinate per probe value.

    Args:
        rule: any update rule (``initial_state(n)``, ``update(grads, state)``), learned or hand-written.
        gradients: (points,) probe gradients.
        history: the warm-up every coordinate goes through first.

    Returns:
        (points,) float64 updates, ``delta`` of the probe step.

    Example:
        >>> probe_updates(make_hand_optimizer("sgd", 0.5), np.array([2.0]), History("x", 1.0, 3))  # doctest: +SKIP
        array([-1.])
    """
    import tensorflow as tf  # heavy: TensorFlow

    probes = tf.constant(np.asarray(gradients, dtype=np.float32))  # (points,)
    state = rule.initial_state(int(probes.shape[0]), tf.float32)
    constant = tf.fill(tf.shape(probes), tf.constant(history.gradient, tf.float32))  # (points,)
    for _ in range(history.steps):
        _, state = rule.update(constant, state)
    delta, _ = rule.update(probes, state)
    return delta.numpy().astype(np.float64)  # (points,)


def rule_curves(rules: dict[str, Any], gradients: np.ndarray, histories: tuple[History, ...]) -> RuleCurves:
    """:func:`probe_updates` for every rule and history.

    Example:
        >>> rule_curves({"sgd": make_hand_optimizer("sgd", 0.1)}, gradient_sweep(), default_histories(0.01))  # doctest: +SKIP
    """
    gradients = np.asarray(gradients, dtype=np.float64)
    updates = {name: [probe_updates(rule, gradients, history) for history in histories] for name, rule in rules.items()}
    return RuleCurves(gradients, tuple(histories), updates)


def run_rules(folder: Path, results: dict[str, Any], names: tuple[str, ...] = HAND_RULES) -> dict[str, Any]:
    """The run's learned optimizer (``optimizer.npz``) and the hand rules ``names`` at their tuned rates.

    Raises LearnedOptimizerError (a ValueError) naming the file when the optimizer is missing or
    damaged; a hand rule the run did not tune is left out.

    Example:
        >>> sorted(run_rules(run.folder, read_results(run.folder)))  # doctest: +SKIP
        ['adam', 'learned', 'momentum', 'rmsprop', 'sgd']
    """
    from metalearn_core.kinds.learned_optimizer.rules import make_hand_optimizer  # heavy: TensorFlow

    rules: dict[str, Any] = {"learned": load_optimizer(Path(folder) / OPTIMIZER_FILE)}
    tuning = results.get("tuning", {})
    for name in names:
        rate = tuning.get(name, {}).get("learning_rate")
        if rate:
            rules[name] = make_hand_optimizer(name, float(rate))
    return rules


def update_magnitudes(rules: dict[str, Any], spec: Any, x_eval: np.ndarray, y_eval: np.ndarray, init_seed: int,
                      steps: int | None = None) -> UpdateMagnitudes:
    """Train the base network ``steps`` steps with each rule from one initialisation, recording ``|update|``.

    Initialisation and minibatch order both come from ``init_seed``, the way
    :func:`metalearn_core.kinds.learned_optimizer.meta_training.train_optimizee` seeds an evaluation
    trajectory, so with the run's first :func:`eval_seed` this is its first held-out trajectory.

    Args:
        rules: update rules by name.
        spec: the OptimizeeSpec.
        x_eval, y_eval: the held-out pool minibatches are drawn from (:func:`held_out_split`).
        init_seed: seeds the initialisation and the minibatches.
        steps: updates to take (default ``spec.steps``).

    Example:
        >>> update_magnitudes(rules, spec, x_eval, y_eval, eval_seed(0, 0)).mean["learned"].shape  # doctest: +SKIP
        (100,)
    """
    import tensorflow as tf  # heavy: TensorFlow

    from metalearn_core.kinds.learned_optimizer.meta_training import batch_indices  # heavy: TensorFlow
    from metalearn_core.kinds.learned_optimizer.rules import (  # heavy: TensorFlow
        init_optimizee,
        optimizee_loss,
    )

    steps = spec.steps if steps is None else steps
    indices = batch_indices(len(x_eval), spec.batch_size, steps + 1, init_seed)  # (steps + 1, batch)
    theta = tf.constant(init_optimizee(spec, init_seed))  # (n,)
    x_all, y_all = tf.constant(x_eval), tf.constant(y_eval)
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = optimizee_loss(theta, tf.gather(x_all, indices[0]), tf.gather(y_all, indices[0]), spec)
    first = np.abs(tape.gradient(loss, theta).numpy())  # (n,)
    # Weights reading always-black border pixels get exactly zero gradient; they are not typical.
    median = float(np.median(first[first > 0])) if np.any(first > 0) else 0.0
    mean, low, high, losses = {}, {}, {}, {}
    for name, rule in rules.items():
        sizes, trace = _trajectory_sizes(rule, spec, theta, x_all, y_all, indices, steps)  # (steps, n), (steps,)
        mean[name] = sizes.mean(axis=1)
        low[name], high[name] = _moving_percentiles(sizes)
        losses[name] = trace
    return UpdateMagnitudes(init_seed, mean, low, high, losses, median)


def _moving_percentiles(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """10th and 90th percentile per step (row) over the weights that moved (non-zero entries).

    Weights reading always-black pixels get zero gradients, so zero updates under most rules; left in,
    they would pin the 10th percentile to 0, which a log axis cannot show.
    """
    bands = [np.percentile(row[row > 0], [10, 90]) if np.any(row > 0) else (0.0, 0.0) for row in sizes]
    low, high = np.array(bands, dtype=np.float64).T  # (steps,) each
    return low, high


def _trajectory_sizes(rule: Any, spec: Any, theta: Any, x_all: Any, y_all: Any, indices: np.ndarray,
                      steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``|theta_{t+1} - theta_t|`` (steps, n) and the loss before each update (steps,) under ``rule``."""
    import tensorflow as tf  # heavy: TensorFlow

    from metalearn_core.kinds.learned_optimizer.rules import optimizee_step  # heavy: TensorFlow

    step = tf.function(lambda theta, state, x, y: optimizee_step(rule, theta, state, x, y, spec))
    state = rule.initial_state(spec.num_params, theta.dtype)
    sizes, losses = [], []
    for t in range(steps):
        loss, new_theta, state = step(theta, state, tf.gather(x_all, indices[t]), tf.gather(y_all, indices[t]))
        sizes.append(np.abs((new_theta - theta).numpy()))
        losses.append(float(loss))
        theta = new_theta
    return np.array(sizes, dtype=np.float64), np.array(losses)


def run_inside(folder: Path, results: dict[str, Any], data: Any, seed: int = 0,
               sweep: str = "log") -> tuple[RuleCurves, UpdateMagnitudes]:
    """Both views for a finished run: its rules, its first held-out trajectory, its rule curves.

    The histories' constant gradient is the median non-zero ``|gradient|`` at that trajectory's first
    step (to one significant digit), a typical size for this base network.

    Args:
        folder: the run's folder (``optimizer.npz``).
        results: its ``learned_optimizer.json`` (tuned learning rates and the OptimizeeSpec).
        data: MNIST (``MnistData``), split as the run split it.
        seed: the run's ``learned_optimizer.seed`` (picks the evaluation initialisations).
        sweep: ``"log"`` or ``"linear"`` probe gradients (:func:`gradient_sweep`).

    Example:
        >>> curves, magnitudes = run_inside(run.folder, read_results(run.folder), load_mnist())  # doctest: +SKIP
    """
    from metalearn_core.kinds.learned_optimizer.meta_training import eval_seed  # heavy: TensorFlow

    rules = run_rules(folder, results)
    spec = OptimizeeSpec.from_dict(results["optimizee"])
    x_eval, y_eval = held_out_split(data)
    magnitudes = update_magnitudes(rules, spec, x_eval, y_eval, eval_seed(seed, 0))
    size = float(f"{magnitudes.first_gradient_median:.1g}") or 1e-3
    high = 10.0 if sweep == "log" else 10 * size
    curves = rule_curves(rules, gradient_sweep(high=high, scale=sweep), default_histories(size))
    return curves, magnitudes
