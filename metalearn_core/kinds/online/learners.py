"""Online learners: a network, a rule that updates it, and one compiled predict-then-learn step.

Every learner of an online run is an :class:`OnlineLearner`: a list of variables, a function
``logits(x)`` of them and an update rule (:class:`SGD` with one rate or one rate tensor per
parameter, or :class:`Adam`). Its :meth:`~OnlineLearner.step` is one ``tf.function``: the forward
pass gives the logits, the prediction is read from them, and the gradient step is taken from the
**same** logits, so the prediction of a batch is always made by weights that have not yet learned
from it (the update depends on the prediction's forward pass, never the other way round).

The learners of an online run (:func:`build_learners`):

* ``sgd`` / ``adam``: a small dense network from scratch (the same initial weights for both);
* ``pretrained``: a finished base run's network (or one like the scratch network, pre-trained in
  the run on training images), fine-tuned online with SGD;
* ``metalearned``: a few-shot run's meta-learned initialisation (MAML, Meta-SGD or Reptile),
  adapted after every batch by the scratch SGD learner's rule, or with the run's own inner step
  size (Meta-SGD: its learned per-parameter rates), as ``OnlineConfig.meta_step`` says. Those
  learners were meta-trained ``ways``-way (5) on digits 0-4 with labels that change from episode to
  episode, so their head holds no fixed class meaning: the online learner keeps the
  meta-learned body and gives it a 10-way head whose ten columns all start as the mean of the
  meta-learned head's columns (Ye & Chao 2022's UNICORN-MAML meta-learns one such head vector shared
  by every class), so no class is favoured at the start and the meta-learned features are kept.

Example:
    >>> learner = scratch_learner("adam", OnlineConfig())  # doctest: +SKIP
    >>> learner.step(x[:1], y[:1])  # doctest: +SKIP
    array([3], dtype=int32)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.config import RunConfig
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.fewshot.algorithms.functional import (
    NetworkSpec,
    cross_entropy,
    forward,
    init_params,
)
from metalearn_core.kinds.fewshot.run import FewShotModel
from metalearn_core.kinds.online.config import LEARNER_LABELS, OnlineConfig

CLASSES = 10
IMAGES = tf.TensorSpec([None, 28, 28], tf.float32)
LABELS = tf.TensorSpec([None], tf.int32)


class OnlineError(ValueError):
    """A learner cannot be built (a missing or unsuitable run to start from); the message says why."""


class SGD:
    """``w <- w - rate * g``; ``rate`` is one number or one tensor per variable (Meta-SGD's rates)."""

    def __init__(self, rate: float | Sequence[Any]):
        self.rate = rate

    def apply(self, variables: Sequence[tf.Variable], grads: Sequence[tf.Tensor]) -> None:
        rates = self.rate if isinstance(self.rate, (list, tuple)) else [self.rate] * len(variables)
        for variable, grad, rate in zip(variables, grads, rates):
            variable.assign_sub(tf.cast(rate, variable.dtype) * grad)


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, its moments kept beside the variables."""

    def __init__(self, variables: Sequence[tf.Variable], rate: float, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-7):
        self.rate, self.beta1, self.beta2, self.epsilon = rate, beta1, beta2, epsilon
        self.first = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.second = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.steps = tf.Variable(0.0, trainable=False)

    def apply(self, variables: Sequence[tf.Variable], grads: Sequence[tf.Tensor]) -> None:
        self.steps.assign_add(1.0)
        correction = tf.sqrt(1.0 - self.beta2 ** self.steps) / (1.0 - self.beta1 ** self.steps)
        for variable, grad, first, second in zip(variables, grads, self.first, self.second):
            first.assign(self.beta1 * first + (1.0 - self.beta1) * grad)
            second.assign(self.beta2 * second + (1.0 - self.beta2) * tf.square(grad))
            variable.assign_sub(self.rate * correction * first / (tf.sqrt(second) + self.epsilon))


class OnlineLearner:
    """A network that learns from a stream: each batch is predicted, then learned from, in one step.

    Args:
        name: the learner's key ("sgd", "pretrained"...), its series in the run's metrics.
        variables: the weights the rule updates.
        logits: ``x (n, 28, 28) -> (n, 10)`` logits computed from ``variables``.
        rule: :class:`SGD` or :class:`Adam` (anything with ``apply(variables, grads)``).
    """

    def __init__(self, name: str, variables: Sequence[tf.Variable], logits: Callable[[tf.Tensor], tf.Tensor],
                 rule: Any):
        self.name, self.variables, self.logits, self.rule = name, list(variables), logits, rule
        self._step = tf.function(self._predict_then_learn, input_signature=(IMAGES, LABELS))
        self._predict = tf.function(self._predicted, input_signature=(IMAGES,))

    @property
    def label(self) -> str:
        return LEARNER_LABELS.get(self.name, self.name)

    def _predicted(self, x: tf.Tensor) -> tf.Tensor:
        return tf.argmax(self.logits(x), axis=-1, output_type=tf.int32)  # (n,)

    def _predict_then_learn(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            logits = self.logits(x)  # (n, 10), from the weights before this batch is learned
            loss = cross_entropy(logits, y)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (n,)
        grads = tape.gradient(loss, self.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        self.rule.apply(self.variables, grads)
        return predicted

    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Predict the batch ``x`` with the current weights, then take one gradient step on ``(x, y)``.

        Returns:
            (n,) the labels predicted before the step.
        """
        return self._step(tf.constant(x, tf.float32), tf.constant(y, tf.int32)).numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n,) predicted labels, learning nothing."""
        return self._predict(tf.constant(x, tf.float32)).numpy()

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(n, 10) class probabilities, learning nothing."""
        return tf.nn.softmax(self.logits(tf.constant(x, tf.float32))).numpy()

    def weights(self) -> list[np.ndarray]:
        """A copy of the current weights."""
        return [np.array(v.numpy()) for v in self.variables]


# -- the learners of an online run -----------------------------------------------------------

def functional_learner(name: str, params: Sequence[tf.Variable], spec: NetworkSpec, rule: Any) -> OnlineLearner:
    """An :class:`OnlineLearner` over a functional network (a list of parameters and its spec)."""
    params = list(params)
    return OnlineLearner(name, params, lambda x: forward(params, x, spec), rule)


def _rule(name: str, params: Sequence[tf.Variable], rate: float) -> Any:
    return Adam(params, rate) if name == "adam" else SGD(rate)


def scratch_learner(name: str, settings: OnlineConfig) -> OnlineLearner:
    """The small dense network from scratch (seeded: SGD and Adam start from the same weights)."""
    spec = NetworkSpec.mlp(hidden=settings.hidden)
    params = init_params(spec, CLASSES, seed=settings.seed)
    rate = settings.adam_learning_rate if name == "adam" else settings.sgd_learning_rate
    return functional_learner(name, params, spec, _rule(name, params, rate))


def pretrained_in_run(settings: OnlineConfig, data: MnistData,
                      on_epoch: Callable[[int], None] | None = None) -> OnlineLearner:
    """The scratch network pre-trained with Adam (batches of 32) on ``pretrain_examples`` random
    training images (the stream comes from the test split, so none of them is in it), then set to
    fine-tune with SGD at ``finetune_learning_rate``."""
    spec = NetworkSpec.mlp(hidden=settings.hidden)
    params = init_params(spec, CLASSES, seed=settings.seed)
    trainer = functional_learner("pretraining", params, spec, Adam(params, 1e-3))
    rng = np.random.default_rng(settings.seed + 1)
    rows = rng.permutation(len(data.y_train))[:settings.pretrain_examples]
    x, y = data.x_train[rows].astype(np.float32) / 255.0, data.y_train[rows].astype(np.int32)
    for epoch in range(settings.pretrain_epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), 32):
            batch = order[start:start + 32]
            trainer.step(x[batch], y[batch])
        if on_epoch is not None:
            on_epoch(epoch + 1)
    return functional_learner("pretrained", params, spec, SGD(settings.finetune_learning_rate))


def _sibling(folder: Path | None, run_id: int, what: str) -> tuple[Path, RunConfig]:
    """Run ``run_id``'s folder (beside this run's, in the store) and config; OnlineError if unusable."""
    if folder is None:
        raise OnlineError(f"the {what} run {run_id} can only be found from a run in the store")
    other = Path(folder).parent / str(run_id)
    try:
        config = RunConfig.from_dict(json.loads((other / "config.json").read_text()))
    except (OSError, ValueError) as error:
        raise OnlineError(f"{what} run {run_id} was not found or its config is unreadable ({error})") from None
    return other, config


def pretrained_from_run(folder: Path, config: RunConfig, rate: float) -> OnlineLearner:
    """A finished base run's saved network, fine-tuned online with SGD (its dropout off, its batch
    norm on its running statistics: a batch of one has no statistics of its own)."""
    if config.kind != "base":
        raise OnlineError(f"the pre-trained learner needs a base run; run {folder.name} is a {config.kind} run")
    path = Path(folder) / "model.keras"
    if not path.exists():
        raise OnlineError(f"base run {folder.name} has no saved network (model.keras): has it finished?")
    model = keras.saving.load_model(path, compile=False)
    logits_model = keras.Model(model.inputs, model.get_layer("logits").output)
    scale = 1.0 if config.training.scale_pixels else 255.0  # the stream is in [0, 1]
    variables = list(logits_model.trainable_variables)
    return OnlineLearner("pretrained", variables, lambda x: logits_model(x * scale, training=False), SGD(rate))


def _widened(head: np.ndarray) -> np.ndarray:
    """A ``ways``-column head (or its bias) as ten columns, each the mean of the meta-learned ones."""
    mean = head.mean(axis=-1, keepdims=True)
    return np.repeat(mean, CLASSES, axis=-1)


def metalearned_learner(folder: Path, config: RunConfig, rate: float | None = None) -> OnlineLearner:
    """A few-shot run's meta-learned start with a 10-way head (see the module docstring), adapted
    online by SGD at ``rate``, or (``rate`` None) at the run's inner step size (Meta-SGD: its learned
    rate per weight, the head's widened as the head is)."""
    if config.kind != "fewshot" or config.settings.algorithm == "protonet":
        kind = config.settings.algorithm if config.kind == "fewshot" else config.kind
        raise OnlineError(f"the meta-learned learner needs a MAML, Meta-SGD or Reptile few-shot run; run "
                          f"{folder.name} is {kind}, which has no initialisation to adapt")
    try:
        learner = FewShotModel.load(folder, config).learner
    except ValueError as error:  # FewShotError
        raise OnlineError(str(error)) from None
    arrays = [np.asarray(p) for p in learner.params]
    arrays[-2:] = [_widened(arrays[-2]), _widened(arrays[-1])]
    params = [tf.Variable(array, dtype=tf.float32) for array in arrays]
    if rate is not None:
        rule = SGD(rate)
    elif config.settings.algorithm == "metasgd":
        rates = [np.asarray(r) for r in learner.learning_rates]
        rates[-2:] = [_widened(rates[-2]), _widened(rates[-1])]
        rule = SGD([tf.constant(r, tf.float32) for r in rates])
    else:
        rule = SGD(float(config.settings.inner_lr))
    return functional_learner("metalearned", params, learner.spec, rule)


def build_learners(settings: OnlineConfig, data: MnistData, folder: Path | None,
                   on_pretrain_epoch: Callable[[int], None] | None = None) -> list[OnlineLearner]:
    """The run's learners, in the order of ``settings.learners``; OnlineError when one cannot be made."""
    learners = []
    for name in settings.learners:
        if name in ("sgd", "adam"):
            learners.append(scratch_learner(name, settings))
        elif name == "pretrained" and settings.pretrained_run:
            other, config = _sibling(folder, settings.pretrained_run, "pre-trained")
            learners.append(pretrained_from_run(other, config, settings.finetune_learning_rate))
        elif name == "pretrained":
            learners.append(pretrained_in_run(settings, data, on_pretrain_epoch))
        else:
            other, config = _sibling(folder, settings.fewshot_run, "few-shot")
            rate = settings.sgd_learning_rate if settings.meta_step == "sgd" else None
            learners.append(metalearned_learner(other, config, rate))
    return learners
