"""The three settings of a learned-optimizer run, and the data split it trains and evaluates on.

* :class:`OptimizeeSpec`: the base network being trained (the paper's MNIST MLP by default).
* :class:`OptimizerNetSpec`: the meta network, i.e. the optimizer.
* :class:`MetaTrainSpec`: how the optimizer itself is trained.
* :class:`LearnOptData`: MNIST scaled to [0, 1], flattened, with the last ``held_out`` training images kept
  apart for the evaluation trajectories' minibatches.

Each spec's defaults are what a default learned-optimizer run trains (the paper's MNIST problem, the
nominal design, antithetic ES); a run builds its specs from its config in one place,
:func:`metalearn_core.kinds.learned_optimizer.run.specs`. Specs validate themselves with the
vocabulary of :mod:`metalearn_core.config` and raise its ``ConfigError`` (a ``ValueError``).

Saved form: ``to_dict`` writes every field, so a field a saved dict lacks was added after it was written;
``from_dict`` reads it as the value the code had then, not today's default (for the optimizer network the
dense design's, for meta-training backprop without a loss clip), so a saved optimizer loads as what it was.

Reference: Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent",
arXiv:1606.04474, section 3.2 (MNIST) and appendix A (gradient preprocessing).

Example:
    >>> OptimizeeSpec(hidden=(40,)).num_params
    31810
    >>> OptimizerNetSpec() == OptimizerNetSpec.nominal((32,))
    True
    >>> MetaTrainSpec.from_dict(MetaTrainSpec(unroll=10).to_dict()).unroll
    10
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from metalearn_core.config import (
    ConfigError,
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_range,
    check_sequence,
)

ACTIVATIONS = ("sigmoid", "relu", "tanh")
NET_KINDS = ("nominal", "lstm", "dense")
META_METHODS = ("es", "backprop")
LR_SCHEDULES = ("constant", "cosine", "linear")
LOSS_WEIGHTINGS = ("mean", "log")
MAX_SEED = 999  # trajectory i of seed s is seeded s * 1_000_000 + i (see meta_training)

# The dense design (:meth:`OptimizerNetSpec.dense`), the defaults before the nominal design: also what a field
# missing from a saved OptimizerNetSpec means.
DENSE_DESIGN: dict[str, Any] = {
    "kind": "dense", "hidden": (32, 32), "preprocess": True, "p": 10.0,
    "output_scale": 0.01,  # Adam-like features are O(1); tuned Adam's step is about 0.02 of them
    "momentum_decays": (0.5, 0.9, 0.99), "rms_decay": 0.999, "warm_start_rate": 0.0, "time_scales": (),
    "nominal_rate": 0.03, "magnitude_range": 3.0, "rms_decays": (), "nominal_mix": False,
}
# What a field missing from a saved MetaTrainSpec means: the defaults before ES (backprop, a seconds budget).
EARLIER_META: dict[str, Any] = {"iterations": 100_000, "budget_seconds": 600.0, "method": "backprop", "loss_clip": 0.0}


def _widths(where: str, hidden: Any, allow_empty: bool) -> tuple[int, ...]:
    """Layer widths as a tuple of whole numbers >= 1; ConfigError otherwise."""
    widths = check_sequence(where, "hidden", hidden)
    if not widths and not allow_empty:
        raise ConfigError(f"{where}: hidden needs at least one layer")
    for width in widths:
        check_int(where, "every hidden width", width, 1)
    return widths


def _numbers(where: str, name: str, values: Any, below: float | None = None) -> tuple[float, ...]:
    """Positive finite numbers (each below ``below`` when given) as a tuple of floats; ConfigError otherwise."""
    numbers = check_sequence(where, name, values)
    for number in numbers:
        check_positive(where, name, number, below)
    return tuple(float(number) for number in numbers)


def _from_dict(cls: type, data: Any, earlier: dict[str, Any]) -> Any:
    """Build a spec from a saved JSON object, turning lists back into tuples and rejecting unknown keys.

    A field the dict lacks reads as ``earlier``'s value (the default when the dict was written), else as
    the class default.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return cls(**{**earlier, **values})


def _to_dict(spec: Any) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(spec).items()}


@dataclass(frozen=True)
class OptimizeeSpec:
    """The base network a (learned or hand-written) optimizer trains: an MLP classifier.

    Defaults are the paper's MNIST problem (section 3.2): 784-20-10, sigmoid, minibatches of 128,
    trajectories of 100 steps. ``input_size`` and ``classes`` let tests use tiny problems.

    Attributes:
        hidden: hidden layer widths.
        activation: hidden activation, ``"sigmoid"``, ``"relu"`` or ``"tanh"``.
        batch_size: minibatch size per optimizer step.
        steps: optimizer steps in one training trajectory.
        input_size: features per example (784 for flattened MNIST).
        classes: output classes.
        init_std: std of the normal initialisation of every weight and bias; 0.01 as in DeepMind's
            reference code (github.com/deepmind/learning-to-learn, ``problems.mnist``).

    Example:
        >>> OptimizeeSpec().num_params  # 784*20 + 20 + 20*10 + 10
        15910
    """

    hidden: tuple[int, ...] = (20,)
    activation: str = "sigmoid"
    batch_size: int = 128
    steps: int = 100
    input_size: int = 784
    classes: int = 10
    init_std: float = 0.01

    def __post_init__(self) -> None:
        where = "OptimizeeSpec"
        object.__setattr__(self, "hidden", _widths(where, self.hidden, allow_empty=True))
        check_choice(where, "activation", self.activation, ACTIVATIONS)
        check_int(where, "batch_size", self.batch_size, 1)
        check_int(where, "steps", self.steps, 1)
        check_int(where, "input_size", self.input_size, 1)
        check_int(where, "classes", self.classes, 2)
        check_positive(where, "init_std", self.init_std)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Input, hidden and output widths, e.g. ``(784, 20, 10)``."""
        return (self.input_size, *self.hidden, self.classes)

    @property
    def param_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the flat parameter vector's pieces, in order: W1, b1, W2, b2, ..."""
        sizes = self.layer_sizes
        shapes: list[tuple[int, ...]] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            shapes += [(fan_in, fan_out), (fan_out,)]
        return shapes

    @property
    def tensor_sizes(self) -> tuple[int, ...]:
        """Entries of each piece of the flat vector (W1, b1, W2, b2, ...): the tensors rescaled one by one."""
        return tuple(int(math.prod(shape)) for shape in self.param_shapes)

    @property
    def num_params(self) -> int:
        return int(sum(math.prod(shape) for shape in self.param_shapes))

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OptimizeeSpec:
        return _from_dict(cls, data, earlier={})


@dataclass(frozen=True)
class OptimizerNetSpec:
    """The optimizer network, applied coordinate-wise (every weight and bias is one batch element).

    Three designs (``kind``):

    * ``"nominal"``: the defaults, a learned-optimizer run's design (:meth:`nominal` describes it): a
      per-parameter MLP that corrects a nominal Adam step.
    * ``"lstm"``: the paper's two-layer LSTM (20 units each) reading the (preprocessed) gradient and
      writing the update (section 2.1, figure 3), built by :meth:`paper`.
    * ``"dense"``: a coordinate-wise MLP whose update is ``output_scale * network_output``, stateless
      unless ``momentum_decays`` gives it running averages of the gradient as extra inputs, built by
      :meth:`dense`. With ``hidden=()`` it is a linear map, which can express plain SGD.

    Attributes:
        kind: ``"nominal"``, ``"lstm"`` or ``"dense"``.
        hidden: widths of the LSTM layers or MLP layers.
        preprocess: use the log/sign preprocessing of appendix A (input width 2) instead of the raw
            gradient (input width 1).
        p: the preprocessing constant (appendix A uses 10).
        output_scale: multiplies the network output to give the update.
        momentum_decays: extra inputs (empty for the paper's recipe): the gradient and one moving
            average of the gradient per decay, each bias-corrected and divided by the root of the
            moving average of squared gradients (Adam's normalisation; the momentum-at-several-
            timescales features of Wichrowska et al. 2017 and Metz et al. 2022).
        rms_decay: decay of that moving average of squared gradients (Adam's beta_2).
        warm_start_rate: if > 0, a dense net with momentum inputs (and hidden widths >= 2) starts as Adam
            with this learning rate (beta_1 = the decay nearest 0.9): two ReLU units per layer carry that
            normalised momentum and only they feed the output. Other networks ignore it; 0 turns it off.
        nominal_rate: the nominal kind's starting Adam learning rate (meta-learned from there, in log space).
        magnitude_range: the nominal kind's step multiplier is ``exp(R * tanh(a / R))``, within ``exp(+-R)``.
        rms_decays: the nominal kind's extra RMS timescales (besides ``rms_decay``): per decay three more inputs,
            that RMS and the gradient and Adam's momentum divided by it (RMSprop-like ratios).
        nominal_mix: the nominal kind's direction is Adam's ``m / rms`` moved by meta-learned scalars
            ``c_k`` towards each other normalised ratio ``r_k`` (``adam + sum c_k (r_k - adam)``; all ``c_k``
            start at 0), so meta-training picks the blend of momentum and RMS timescales.
        time_scales: extra inputs ``tanh(t / s)`` per scale ``s``, ``t`` the update count (1 at the first
            update): lets the net learn a schedule; bounded, so longer trajectories saturate rather than
            extrapolate.

    Reference:
        Andrychowicz et al. 2016, arXiv:1606.04474 (``"lstm"``); Metz et al. 2022 and Harrison et al. 2022
        (``"nominal"``, see :meth:`nominal`).

    Example:
        >>> OptimizerNetSpec.paper().input_width
        2
        >>> OptimizerNetSpec.nominal().input_width  # 17 per-coordinate features + 3 for the extra RMS
        20
    """

    kind: str = "nominal"
    hidden: tuple[int, ...] = (32,)
    preprocess: bool = False
    p: float = 10.0
    output_scale: float = 1.0
    momentum_decays: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999)
    rms_decay: float = 0.999
    warm_start_rate: float = 0.0
    time_scales: tuple[float, ...] = (3.0, 10.0, 30.0, 100.0, 300.0)
    # Only the "nominal" kind reads these four (see :meth:`nominal`).
    nominal_rate: float = 0.03
    magnitude_range: float = 3.0
    rms_decays: tuple[float, ...] = (0.9,)
    nominal_mix: bool = True

    def __post_init__(self) -> None:
        where = "OptimizerNetSpec"
        check_choice(where, "kind", self.kind, NET_KINDS)
        object.__setattr__(self, "hidden", _widths(where, self.hidden, allow_empty=self.kind != "lstm"))
        check_bool(where, "preprocess", self.preprocess)
        check_positive(where, "p", self.p)
        check_positive(where, "output_scale", self.output_scale)
        object.__setattr__(self, "momentum_decays", _numbers(where, "momentum_decays", self.momentum_decays, 1.0))
        check_positive(where, "rms_decay", self.rms_decay, 1.0)
        check_range(where, "warm_start_rate", self.warm_start_rate, 0.0)
        object.__setattr__(self, "time_scales", _numbers(where, "time_scales", self.time_scales))
        check_positive(where, "nominal_rate", self.nominal_rate)
        check_positive(where, "magnitude_range", self.magnitude_range)
        object.__setattr__(self, "rms_decays", _numbers(where, "rms_decays", self.rms_decays, 1.0))
        check_bool(where, "nominal_mix", self.nominal_mix)
        if self.kind == "nominal" and not any(abs(decay - 0.9) < 1e-12 for decay in self.momentum_decays):
            raise ConfigError(f"{where}: the nominal kind's Adam term needs 0.9 among momentum_decays")
        if self.kind != "nominal" and (self.rms_decays or self.nominal_mix):
            raise ConfigError(f"{where}: rms_decays and nominal_mix belong to the nominal kind; build a "
                              f"{self.kind} network with OptimizerNetSpec.dense(...) or OptimizerNetSpec.paper(...)")

    @classmethod
    def nominal(cls, hidden: tuple[int, ...] = (32,)) -> OptimizerNetSpec:
        """The default design: a per-parameter MLP that corrects a nominal Adam step.

        Metz et al. 2022 ("Practical tradeoffs between memory, compute, and performance in learned
        optimizers", the small per-parameter MLP) for the inputs and the two outputs, Harrison et al. 2022
        ("A closer look at learned optimization") for the nominal term. Per coordinate the network reads the
        gradient, the parameter, momenta at four timescales and the RMS of the gradient at two (0.999 and
        0.9), and the ratios gradient / RMS and momentum / RMS (Adam- and RMSprop-normalised), every one
        of them divided by its root mean square over the coordinate's tensor, plus ``tanh(t / s)`` for five
        timescales ``s`` of the step count ``t``. It writes a direction ``d`` and a log-magnitude ``a``; the
        update is ``-rate * exp(R * tanh(a / R)) * (nominal + d)``, ``rate`` a meta-learned scalar starting at
        ``nominal_rate`` and ``R`` the ``magnitude_range``. ``nominal`` starts as Adam's bias-corrected
        ``m / (sqrt(v) + eps)`` (beta 0.9, 0.999) and meta-learned scalars blend it with the other ratios
        (``nominal_mix``: a learned beta 1 and RMS timescale). The output layer and the blend start at zero,
        so the untrained rule is Adam at ``nominal_rate`` exactly, and meta-training learns corrections: a
        per-coordinate, time-dependent step size and direction. These are the dataclass defaults.
        """
        return cls(hidden=tuple(hidden))

    @classmethod
    def dense(cls, **changes: Any) -> OptimizerNetSpec:
        """The dense design, with ``changes`` to its fields: a coordinate-wise MLP (32, 32) on the preprocessed
        gradient and its Adam-normalised momenta at three timescales (0.5, 0.9, 0.99), output scale 0.01.

        Example:
            >>> OptimizerNetSpec.dense(hidden=(8,)).input_width  # 2 preprocessed + 1 + 3 momentum inputs
            6
        """
        return cls(**{**DENSE_DESIGN, **changes})

    @classmethod
    def paper(cls, **changes: Any) -> OptimizerNetSpec:
        """The paper's optimizer, with ``changes`` to its fields: a two-layer LSTM (20, 20) on the preprocessed
        gradient only, output scale 0.1."""
        return cls(**{**DENSE_DESIGN, "kind": "lstm", "hidden": (20, 20), "output_scale": 0.1, "momentum_decays": (),
                      **changes})

    @property
    def input_width(self) -> int:
        """Inputs per coordinate: 2 (preprocessed) or 1 (raw gradient), plus 1 + len(momentum_decays) Adam-style
        ones, plus one per time scale."""
        if self.kind == "nominal":  # g, p, momenta, rms; g / rms, momenta / rms; time
            width = 2 + len(self.momentum_decays) + 1 + 1 + len(self.momentum_decays) + len(self.time_scales)
            return width + 3 * len(self.rms_decays)  # per extra RMS: itself, g / it, Adam's momentum / it
        extra = 1 + len(self.momentum_decays) if self.momentum_decays else 0
        return (2 if self.preprocess else 1) + extra + len(self.time_scales)

    @property
    def mix_size(self) -> int:
        """How many blend weights ``nominal_mix`` adds (0 without it): one per Adam-normalised ratio (the gradient
        and each momentum over the RMS), two per extra RMS (the gradient and Adam's momentum over it)."""
        return 1 + len(self.momentum_decays) + 2 * len(self.rms_decays) if self.nominal_mix else 0

    @property
    def warm_starts(self) -> bool:
        """Whether :attr:`warm_start_rate` applies: a dense net with momentum inputs and hidden widths >= 2."""
        return (self.warm_start_rate > 0 and self.kind == "dense" and bool(self.momentum_decays)
                and all(width >= 2 for width in self.hidden))

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OptimizerNetSpec:
        """Read :meth:`to_dict`'s form; a field a saved dict lacks is the dense design's (the earlier defaults)."""
        return _from_dict(cls, data, earlier=DENSE_DESIGN)


@dataclass(frozen=True)
class MetaTrainSpec:
    """How the optimizer network is meta-trained, in a budget of trajectories (not seconds).

    One *iteration* is one meta-training trajectory of ``OptimizeeSpec.steps`` steps of the base network
    from a fresh random initialisation. Two estimators of the meta-gradient (``method``):

    * ``"backprop"`` (paper section 3): the trajectory is cut into ``steps // unroll`` truncations; each
      truncation is one Adam step on the optimizer network, the gradient back-propagated through it,
      the optimizee parameters and optimizer state carried across with the gradient stopped.
    * ``"es"``: antithetic evolution strategies on whole trajectories. An iteration draws one
      perturbation ``eps ~ N(0, es_sigma^2)`` of the optimizer's weights and runs the trajectory
      twice from the same initialisation and minibatches, with ``w + eps`` and ``w - eps``; the
      estimate ``(L+ - L-) / (2 sigma^2) eps`` of ``es_pairs`` such iterations is averaged into one
      Adam step. No truncation, so no truncation bias and no back-propagation memory, and the
      meta-loss can be the very quantity that is scored.

    ES is the default: each truncation of ``"backprop"`` rewards greedy steps that cost later, which pulls
    the nominal design away from Adam.

    The budget is ``iterations`` trajectories; the same ``seed`` gives the same optimizer whatever the
    machine's load. ``budget_seconds`` is only a safety cap on the wall clock (a run it stops is
    marked ``stopped="budget"`` and is no longer reproducible).

    Attributes:
        unroll: optimizee steps per truncation (the paper uses 20 of 100; backprop only).
        meta_learning_rate: Adam's learning rate for the optimizer network.
        iterations: meta-training trajectories: the budget.
        budget_seconds: wall-clock safety cap, checked after every truncation or ES step.
        seed: seeds the network initialisation, the trajectories and the ES perturbations.
        clip_norm: clip the meta-gradient to this global norm (0 turns clipping off).
        second_order: keep the second derivatives through the optimizee's gradient (backprop only; the
            paper drops them with a stop-gradient; kept only for checks, it is several times slower).
        lr_schedule: ``"constant"``, ``"cosine"`` or ``"linear"``: the meta learning rate decays from
            ``meta_learning_rate`` to 0 over the ``iterations`` (:meth:`learning_rate_at`).
        loss_weighting: ``"mean"`` (the paper: mean loss over the truncation) or ``"log"`` (mean log-loss).
        loss_clip: every minibatch loss entering the meta-loss is clipped to at most this (0 = none), so a
            trajectory that blows up weighs like a bad one, not like an infinitely bad one (the gradient
            through a clipped loss is zero).
        method: ``"backprop"`` or ``"es"``.
        es_pairs: antithetic pairs (trajectories of perturbation pairs) averaged per ES Adam step.
        es_sigma: standard deviation of the ES perturbation of every weight.
        es_tail: the ES meta-loss is the mean (clipped) loss over the last ``es_tail`` steps of the
            trajectory (0 = every step). Default 50, the second half of the paper's 100 steps, so the
            optimizer learns to get low fast as well as to end low (a meta-loss on the end alone
            generalises worse to deeper networks, still far from their end at step 100).

    Reference:
        Andrychowicz et al. 2016, arXiv:1606.04474, section 3 (truncated back-propagation); Salimans et
        al. 2017, arXiv:1703.03864 (antithetic evolution strategies).

    Example:
        >>> MetaTrainSpec(unroll=20).unroll
        20
    """

    unroll: int = 20  # the paper's truncation
    meta_learning_rate: float = 0.003  # 0.001 (DeepMind's code) learned too slowly for a 10-minute budget
    iterations: int = 600
    budget_seconds: float = 1800.0
    seed: int = 0
    clip_norm: float = 1.0  # guards Adam against the rare exploding truncation
    second_order: bool = False
    lr_schedule: str = "constant"
    loss_weighting: str = "mean"
    loss_clip: float = 4.0
    method: str = "es"
    es_pairs: int = 2
    es_sigma: float = 0.01
    es_tail: int = 50

    def __post_init__(self) -> None:
        where = "MetaTrainSpec"
        check_int(where, "unroll", self.unroll, 1)
        check_positive(where, "meta_learning_rate", self.meta_learning_rate)
        check_int(where, "iterations", self.iterations, 1)
        check_positive(where, "budget_seconds", self.budget_seconds)
        check_int(where, "seed", self.seed, 0, MAX_SEED)
        check_range(where, "clip_norm", self.clip_norm, 0.0)
        check_bool(where, "second_order", self.second_order)
        check_choice(where, "lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_choice(where, "loss_weighting", self.loss_weighting, LOSS_WEIGHTINGS)
        check_range(where, "loss_clip", self.loss_clip, 0.0)
        check_choice(where, "method", self.method, META_METHODS)
        check_int(where, "es_pairs", self.es_pairs, 1)
        check_positive(where, "es_sigma", self.es_sigma)
        check_int(where, "es_tail", self.es_tail, 0)

    def learning_rate_at(self, progress: float) -> float:
        """The meta learning rate at ``progress`` (0 at the start, 1 at the end of the budget).

        Example:
            >>> MetaTrainSpec(meta_learning_rate=0.01, lr_schedule="cosine").learning_rate_at(0.5)
            0.005
        """
        progress = min(max(float(progress), 0.0), 1.0)
        if self.lr_schedule == "cosine":
            return self.meta_learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.lr_schedule == "linear":
            return self.meta_learning_rate * (1.0 - progress)
        return self.meta_learning_rate

    def check_against(self, optimizee: OptimizeeSpec) -> None:
        """Raise ConfigError if a truncation is longer than the trajectory it cuts."""
        if self.method == "backprop" and self.unroll > optimizee.steps:
            raise ConfigError(f"MetaTrainSpec: unroll ({self.unroll}) must not exceed the optimizee's steps "
                              f"({optimizee.steps})")

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaTrainSpec:
        """Read :meth:`to_dict`'s form; a field a saved dict lacks is the earlier default (backprop, no loss clip)."""
        return _from_dict(cls, data, earlier=EARLIER_META)


@dataclass(frozen=True)
class LearnOptData:
    """Flattened, [0, 1]-scaled arrays, split so evaluation minibatches never appear in meta-training.

    Attributes:
        x_meta, y_meta: meta-training (and baseline-tuning) minibatches come from here.
        x_eval, y_eval: held-out part of the training split, for evaluation trajectories' minibatches.
        x_test, y_test: the test split, for the final test accuracy.

    Example:
        >>> data = LearnOptData.from_mnist(load_mnist("/work/shared/data/mnist.npz"))  # doctest: +SKIP
        >>> data.x_meta.shape, data.x_eval.shape  # doctest: +SKIP
        ((50000, 784), (10000, 784))
    """

    x_meta: np.ndarray  # (n_meta, d) float32
    y_meta: np.ndarray  # (n_meta,) int32
    x_eval: np.ndarray  # (n_eval, d) float32
    y_eval: np.ndarray  # (n_eval,) int32
    x_test: np.ndarray  # (n_test, d) float32
    y_test: np.ndarray  # (n_test,) int32

    @classmethod
    def from_mnist(cls, data: Any, held_out: int = 10_000) -> LearnOptData:
        """Split MNIST-like data (``x_train`` etc., images uint8 0-255): the last ``held_out`` training images are held out."""
        x_train, y_train = _flatten(data.x_train), np.asarray(data.y_train, dtype=np.int32)
        if not 0 < held_out < len(x_train):
            raise ValueError(f"held_out must be between 1 and {len(x_train) - 1}, got {held_out}")
        cut = len(x_train) - held_out
        return cls(x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:],
                   _flatten(data.x_test), np.asarray(data.y_test, dtype=np.int32))

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray, eval_fraction: float = 0.25,
                    test_fraction: float = 0.25) -> LearnOptData:
        """Split already-scaled features ``x`` (n, d) and labels ``y`` (n,) in order: meta, eval, test (tiny tests)."""
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int32)
        n_eval, n_test = int(len(x) * eval_fraction), int(len(x) * test_fraction)
        n_meta = len(x) - n_eval - n_test
        if min(n_meta, n_eval, n_test) < 1:
            raise ValueError(f"too few examples ({len(x)}) to split into meta, eval and test parts")
        return cls(x[:n_meta], y[:n_meta], x[n_meta:n_meta + n_eval], y[n_meta:n_meta + n_eval],
                   x[n_meta + n_eval:], y[n_meta + n_eval:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``"meta"`` or ``"eval"``: the arrays minibatches are drawn from."""
        if name not in ("meta", "eval"):
            raise ValueError(f"split must be 'meta' or 'eval', got {name!r}")
        return (self.x_meta, self.y_meta) if name == "meta" else (self.x_eval, self.y_eval)


def _flatten(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 or images.max() > 1.0 else 1.0
    return (images.reshape(len(images), -1) / scale).astype(np.float32)  # (n, 784)


def held_out_split(data: Any, held_out: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation minibatches' pool of :meth:`LearnOptData.from_mnist` (its ``x_eval, y_eval``),
    without flattening the rest of the training split: the last ``held_out`` training images.

    Example:
        >>> x_eval, y_eval = held_out_split(load_mnist("/work/shared/data/mnist.npz"))  # doctest: +SKIP
        >>> x_eval.shape  # doctest: +SKIP
        (10000, 784)
    """
    if isinstance(data, LearnOptData):
        return data.x_eval, data.y_eval
    if not 0 < held_out < len(data.x_train):
        raise ValueError(f"held_out must be between 1 and {len(data.x_train) - 1}, got {held_out}")
    x_train = np.asarray(data.x_train)
    # The scale is decided on the whole split, as from_mnist decides it.
    scale = 255.0 if x_train.dtype == np.uint8 or x_train.max() > 1.0 else 1.0
    x_eval = (x_train[-held_out:].reshape(held_out, -1) / scale).astype(np.float32)  # (held_out, 784)
    return x_eval, np.asarray(data.y_train[-held_out:], dtype=np.int32)


def as_learnopt_data(data: Any) -> LearnOptData:
    """Pass :class:`LearnOptData` through; split anything MNIST-shaped (``MnistData``) with the default hold-out."""
    return data if isinstance(data, LearnOptData) else LearnOptData.from_mnist(data)
