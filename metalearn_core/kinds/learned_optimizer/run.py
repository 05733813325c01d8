"""The ``learned_optimizer`` run kind: meta-train an optimizer, tune the baselines, compare them.

:func:`train_learned_optimizer` is what the worker calls for this kind. It turns the run's base
network into the optimizee, its meta network into the optimizer network, then:

1. meta-trains the optimizer (unless ``reuse_optimizer_of`` names a run whose optimizer to reuse),
   streaming the meta-loss per meta-iteration (series ``meta-train``);
2. picks each hand-written optimizer's learning rate (SGD, momentum, RMSprop, Adam) from a grid on
   meta-training trajectories;
3. trains the base network from ``eval_inits`` held-out initialisations with every optimizer and
   stores each loss curve (``learned_optimizer.json``), the trained optimizer (``optimizer.npz``).

Example:
    >>> config = learned_optimizer_preset()  # the paper's set-up  # doctest: +SKIP
    >>> result = train_learned_optimizer(config, load_mnist(), Reporter(), folder)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_core.config import RunConfig
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.learned_optimizer.config import (
    LearnedOptimizerConfig,
    optimizee_shape,
    optimizer_shape,
)
from metalearn_core.kinds.learned_optimizer.presets import optimizee_network
from metalearn_core.kinds.learned_optimizer.specs import MetaTrainSpec, OptimizeeSpec, OptimizerNetSpec
from metalearn_core.models.evaluation import evaluate_probabilities
from metalearn_core.runs.reporting import Reporter, RunResult

OPTIMIZER_FILE = "optimizer.npz"
HAND_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


class LearnedOptimizerError(ValueError):
    """A learned optimizer cannot be found or read; the message says which run and file."""


def specs(config: RunConfig) -> tuple[OptimizeeSpec, OptimizerNetSpec, MetaTrainSpec]:
    """The (OptimizeeSpec, OptimizerNetSpec, MetaTrainSpec) of a learned-optimizer run: the one place a run's
    config becomes specs (the run, its diagram and its checks all call this).

    The base network gives the optimizee's layers, the meta network the optimizer's kind and widths (dense
    layers of the ``"nominal"`` design: :meth:`OptimizerNetSpec.nominal`; of the ``"dense"`` design:
    :meth:`OptimizerNetSpec.dense`; LSTM layers: :meth:`OptimizerNetSpec.paper`), and the config's settings
    the rest.

    Example:
        >>> specs(learned_optimizer_preset()) == (OptimizeeSpec(), OptimizerNetSpec(), MetaTrainSpec())
        True
    """
    settings = config.settings
    hidden, activation = optimizee_shape(config.base)
    kind, units = optimizer_shape(config.meta)
    optimizee = OptimizeeSpec(hidden=hidden, activation=activation, batch_size=settings.batch_size,
                              steps=settings.steps)
    if kind == "dense" and settings.design == "nominal":
        net = OptimizerNetSpec.nominal(units)
    else:
        design = OptimizerNetSpec.paper if kind == "lstm" else OptimizerNetSpec.dense
        net = design(hidden=units, preprocess=settings.preprocess, p=settings.p, output_scale=settings.output_scale,
                     momentum_decays=OptimizerNetSpec.dense().momentum_decays if settings.momentum_inputs else ())
    meta = MetaTrainSpec(unroll=settings.unroll, meta_learning_rate=settings.meta_learning_rate,
                         iterations=settings.iterations, budget_seconds=settings.budget_seconds, seed=settings.seed,
                         method=settings.method, loss_clip=settings.loss_clip)
    return optimizee, net, meta


def reused_optimizer_path(folder: Path, run_id: int) -> Path:
    """Where run ``run_id`` (a sibling of ``folder`` in the store) saved its optimizer."""
    return Path(folder).parent / str(run_id) / OPTIMIZER_FILE


def load_optimizer(path: Path):
    """A saved learned optimizer; LearnedOptimizerError names the file when it is missing or damaged."""
    from metalearn_core.kinds.learned_optimizer.rules import LearnedOptimizer  # heavy: TensorFlow

    try:
        return LearnedOptimizer.load(path)
    except ValueError as error:
        raise LearnedOptimizerError(str(error)) from None


class _Progress:
    """Meta-training callback: one stored point per meta-iteration, throttled progress."""

    def __init__(self, settings: LearnedOptimizerConfig, reporter: Reporter):
        self.settings, self.reporter = settings, reporter
        self.last = 0.0
        self.diverged = False

    def __call__(self, iteration: int, record: dict[str, Any]) -> bool:
        loss = float(record["meta_loss"])
        if not math.isfinite(loss):
            self.diverged = True
            return False
        self.reporter.on_epoch("meta-train", iteration + 1, {"loss": loss, "final_loss": float(record["final_loss"]),
                                                             "elapsed": float(record["seconds"])})
        if time.perf_counter() - self.last > 0.25:
            self.last = time.perf_counter()
            fraction = (iteration + 1) / self.settings.iterations
            self.reporter.on_progress({"series": "meta-train", "fraction": 0.7 * min(fraction, 1.0),
                                       "label": f"meta-training: trajectory {iteration + 1:,} of "
                                                f"{self.settings.iterations:,}, {record['seconds']:.0f} s"})
        return True


def train_learned_optimizer(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Meta-train (or reuse), tune the baselines, evaluate every optimizer; see the module docstring.

    Returns a RunResult whose summary holds, per optimizer, the mean final training loss
    (``final_loss_<name>``), ``learned_beats_adam`` and, as ``test_accuracy``, the mean test
    accuracy of the base network trained by the learned optimizer.
    """
    from metalearn_core.kinds.learned_optimizer.meta_training import (  # heavy: TensorFlow
        evaluate_optimizers,
        meta_train,
        tune_baselines,
    )
    from metalearn_core.kinds.learned_optimizer.results import RESULTS_FILE  # heavy: pandas, plotly
    from metalearn_core.kinds.learned_optimizer.rules import make_hand_optimizer  # heavy: TensorFlow

    settings = config.settings
    optimizee, net, meta = specs(config)
    summary: dict[str, Any] = {"data_source": data.source}
    results: dict[str, Any] = {"optimizee": optimizee.to_dict(), "net": net.to_dict(), "meta": meta.to_dict()}
    if settings.reuse_optimizer_of:
        if folder is None:
            raise LearnedOptimizerError("reusing another run's optimizer needs the run store")
        optimizer = load_optimizer(reused_optimizer_path(folder, settings.reuse_optimizer_of))
        results["reused_from"] = settings.reuse_optimizer_of
    else:
        progress = _Progress(settings, reporter)
        reporter.on_progress({"series": "meta-train", "fraction": 0.0, "label": "meta-training: tracing the unroll"})
        optimizer, history = meta_train(data, optimizee, net, meta, on_iteration=progress)
        seconds = history[-1]["seconds"] if history else 0.0
        results["meta_training"] = {"seconds": seconds, "iterations": len(history),
                                    "truncations": history[-1]["truncations"] if history else 0,
                                    "stopped": history[-1].get("stopped", "") if history else ""}
        summary.update(train_seconds=seconds, iterations=len(history))
        if progress.diverged:
            return RunResult("diverged", summary, None, "the meta-loss became NaN or infinite; lower the meta "
                             "learning rate or the output scale")
    if folder is not None:
        optimizer.save(folder / OPTIMIZER_FILE)
    reporter.on_progress({"series": "baselines", "fraction": 0.72,
                          "label": "tuning the learning rates of SGD, momentum, RMSprop and Adam"})
    tuning = tune_baselines(data, optimizee, grid=_grid(settings.grid_points), trajectories=settings.tune_trajectories,
                            seed=settings.seed)
    rules = {"learned": optimizer}
    rules.update({name: make_hand_optimizer(name, tuning[name]["learning_rate"]) for name in HAND_OPTIMIZERS})
    reporter.on_progress({"series": "evaluation", "fraction": 0.85,
                          "label": f"training the base network from {settings.eval_inits} held-out "
                                   "initialisations with every optimizer"})
    evaluation = evaluate_optimizers(data, optimizee, rules, n_inits=settings.eval_inits, seed=settings.seed)
    results.update(tuning=tuning, evaluation=evaluation)
    scores = evaluation["optimizers"]
    finals = {name: scores[name]["final_loss_mean"] for name in rules}
    summary.update({f"final_loss_{name}": value for name, value in finals.items()})
    summary["test_accuracy"] = scores["learned"]["test_accuracy_mean"]
    best_hand = min((value, name) for name, value in finals.items() if name != "learned" and value is not None)
    summary["best_hand_optimizer"] = best_hand[1]
    summary["learned_beats_adam"] = bool(finals["learned"] is not None and finals["adam"] is not None
                                         and finals["learned"] < finals["adam"])
    if folder is not None:
        (folder / RESULTS_FILE).write_text(json.dumps(results))
    return RunResult("completed", summary, None)


def _grid(points: int) -> dict[str, tuple[float, ...]]:
    """``points`` log-spaced learning rates over each optimizer's default range."""
    from metalearn_core.kinds.learned_optimizer.meta_training import DEFAULT_GRID  # heavy: TensorFlow

    return {name: tuple(float(v) for v in np.geomspace(values[0], values[-1], points))
            for name, values in DEFAULT_GRID.items()}


# -- presets and the generalisation checks -------------------------------------------------------

# Each check changes one thing of the run it starts from; the learned optimizer is reused unchanged.
CHECKS = {
    "200 steps": "twice the steps",
    "40 hidden units": "a wider base network",
    "two hidden layers": "two hidden layers",
    "ReLU": "ReLU instead of sigmoid",
}


def check_config(config: RunConfig, run_id: int, check: str) -> RunConfig:
    """A run that evaluates run ``run_id``'s trained optimizer on one changed set-up (see CHECKS).

    Example:
        >>> check_config(learned_optimizer_preset(), 3, "200 steps").settings.steps
        200
    """
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; choose one of {', '.join(CHECKS)}")
    settings = config.settings
    hidden, activation = optimizee_shape(config.base)
    steps = settings.steps
    if check == "200 steps":
        steps = 2 * settings.steps
    elif check == "40 hidden units":
        hidden = tuple(2 * units for units in hidden)
    elif check == "two hidden layers":
        hidden = (*hidden, hidden[-1])
    else:
        activation = "relu"
    base = optimizee_network(hidden, activation)
    learned = LearnedOptimizerConfig(**{**settings.__dict__, "steps": steps, "reuse_optimizer_of": run_id})
    return config.replace(name=f"check: {check} (optimizer of run {run_id})", base=base, settings=learned)


# -- a base run trained by a learned optimizer -----------------------------------------------------

def _batches(count: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(count)
    return [order[start:start + batch_size] for start in range(0, count, batch_size)]


def train_with_learned_optimizer(config: RunConfig, data: MnistData, reporter: Reporter,
                                 folder: Path | None) -> RunResult:
    """A base run whose weights are updated by the optimizer of run ``training.learned_optimizer_run``.

    The same optimizee step as in meta-training (:func:`metalearn_core.kinds.learned_optimizer.rules.optimizee_step`),
    applied epoch after epoch to the whole training split, usually far more steps than the
    trajectories the optimizer was meta-trained on: the paper's generalisation question, at full
    scale. The result is an ordinary Keras model (``model.keras``) with the usual evaluation, so the
    run can be compared and drawn on like any other.
    """
    import tensorflow as tf  # heavy: TensorFlow

    from metalearn_core.kinds.learned_optimizer.rules import (  # heavy: TensorFlow
        init_optimizee,
        optimizee_step,
        unflatten,
    )
    from metalearn_core.models.networks import build_network  # heavy: Keras
    from metalearn_core.models.training import predict, prepared_splits  # heavy: Keras

    training = config.training
    if folder is None:
        raise LearnedOptimizerError("training with a learned optimizer needs the run store")
    optimizer = load_optimizer(reused_optimizer_path(folder, training.learned_optimizer_run))
    hidden, activation = optimizee_shape(config.base)
    spec = OptimizeeSpec(hidden=hidden, activation=activation, batch_size=training.batch_size, steps=1)
    x_train, y_train, x_test, y_test = prepared_splits(data, training)
    x_train = x_train.reshape(len(x_train), -1)  # (n, 784)
    held_out = int(round(len(x_train) * training.validation_split))
    x_fit, y_fit = x_train[: len(x_train) - held_out], y_train[: len(x_train) - held_out]
    x_val, y_val = x_train[len(x_train) - held_out:], y_train[len(x_train) - held_out:]
    theta = tf.constant(init_optimizee(spec, training.seed))  # (n_params,)
    state = optimizer.initial_state(spec.num_params, sizes=spec.tensor_sizes)
    step = tf.function(lambda theta, state, x, y: optimizee_step(optimizer, theta, state, x, y, spec))
    rng = np.random.default_rng(training.seed)
    started, last_report = time.perf_counter(), 0.0
    for epoch in range(1, training.epochs + 1):
        batches, losses = _batches(len(x_fit), training.batch_size, rng), []
        for number, rows in enumerate(batches, start=1):
            loss, theta, state = step(theta, state, tf.constant(x_fit[rows]), tf.constant(y_fit[rows]))
            losses.append(float(loss))
            if not math.isfinite(losses[-1]):
                return RunResult("diverged", {"epochs_done": epoch - 1}, None,
                                 f"the loss became {losses[-1]} in epoch {epoch}: the learned optimizer does not "
                                 "carry over to this network or this many steps")
            if time.perf_counter() - last_report > 0.25:
                last_report = time.perf_counter()
                reporter.on_progress({"series": "train", "phase": "training", "epoch": epoch,
                                      "epochs": training.epochs, "batch": number, "batches": len(batches),
                                      "loss": float(np.mean(losses))})
        metrics = {"loss": float(np.mean(losses)), "elapsed": time.perf_counter() - started}
        if held_out:
            probabilities = tf.nn.softmax(_logits(theta, x_val, spec)).numpy()
            metrics.update(val_loss=float(-np.mean(np.log(probabilities[np.arange(held_out), y_val] + 1e-12))),
                           val_accuracy=float(np.mean(np.argmax(probabilities, axis=1) == y_val)))
        reporter.on_epoch("train", epoch, metrics)
    model = build_network(config.base, name="base")
    model.set_weights([np.asarray(w) for w in unflatten(theta, spec)])
    evaluation = evaluate_probabilities(predict(model, x_test), y_test)
    model.save(folder / "model.keras")
    summary = {"epochs_done": training.epochs, "train_seconds": time.perf_counter() - started,
               "parameters": int(model.count_params()), "test_accuracy": evaluation.accuracy,
               "test_loss": evaluation.loss, "learned_optimizer_run": training.learned_optimizer_run,
               "data_source": data.source}
    return RunResult("completed", summary, evaluation)


def _logits(theta, x: np.ndarray, spec) -> Any:
    from metalearn_core.kinds.learned_optimizer.rules import optimizee_logits  # heavy: TensorFlow

    return optimizee_logits(theta, x, spec)
