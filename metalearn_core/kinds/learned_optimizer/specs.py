"""The three settings of a learned-optimizer run, and the data split it trains and evaluates on.

* :class:`OptimizeeSpec`: the base network being trained (the paper's MNIST MLP by default).
* :class:`OptimizerNetSpec`: the meta network, i.e. the optimizer.
* :class:`MetaTrainSpec`: how the optimizer itself is trained.
* :class:`LearnOptData`: MNIST scaled to [0, 1], flattened, with the last ``held_out`` training images kept
  apart for the evaluation trajectories' minibatches.

Reference: Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient descent",
arXiv:1606.04474, section 3.2 (MNIST) and appendix A (gradient preprocessing).

Example:
    >>> OptimizeeSpec(hidden=(40,)).num_params
    31810
    >>> MetaTrainSpec.from_dict(MetaTrainSpec(unroll=10).to_dict()).unroll
    10
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

ACTIVATIONS = ("sigmoid", "relu", "tanh")
NET_KINDS = ("lstm", "dense", "nominal")
META_METHODS = ("backprop", "es")
LR_SCHEDULES = ("constant", "cosine", "linear")
LOSS_WEIGHTINGS = ("mean", "log")


def _check_hidden(hidden: Any, what: str, allow_empty: bool) -> tuple[int, ...]:
    if isinstance(hidden, int | str) or not hasattr(hidden, "__iter__"):
        raise ValueError(f"{what}: hidden must be a sequence of layer widths, got {hidden!r}")
    widths = tuple(hidden)
    if not widths and not allow_empty:
        raise ValueError(f"{what}: hidden needs at least one layer")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ValueError(f"{what}: every hidden width must be a positive integer, got {width!r}")
    return tuple(int(width) for width in widths)


def _check_positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_positive_float(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _from_dict(cls: type, data: Any) -> Any:
    """Build a spec from a JSON object, turning lists back into tuples and rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return cls(**values)


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
        object.__setattr__(self, "hidden", _check_hidden(self.hidden, "OptimizeeSpec", allow_empty=True))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"OptimizeeSpec: unknown activation {self.activation!r}; choose one of {ACTIVATIONS}")
        _check_positive_int(self.batch_size, "OptimizeeSpec.batch_size")
        _check_positive_int(self.steps, "OptimizeeSpec.steps")
        _check_positive_int(self.input_size, "OptimizeeSpec.input_size")
        if isinstance(self.classes, bool) or not isinstance(self.classes, int) or self.classes < 2:
            raise ValueError(f"OptimizeeSpec.classes must be an integer >= 2, got {self.classes!r}")
        _check_positive_float(self.init_std, "OptimizeeSpec.init_std")

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
        return _from_dict(cls, data)


@dataclass(frozen=True)
class OptimizerNetSpec:
    """The optimizer network, applied coordinate-wise (every weight and bias is one batch element).

    * ``kind="lstm"``: the paper's two-layer LSTM (20 units each) reading the (preprocessed)
      gradient and writing the update (section 2.1, figure 3).
    * ``kind="dense"``: a coordinate-wise MLP, cheaper but stateless unless ``momentum_decays``
      gives it running averages of the gradient as extra inputs. With ``hidden=()`` it is a linear
      map, which can express plain SGD (used by the tests). The update is ``output_scale * network_output``.
    * ``kind="nominal"``: the product's default since issue 14, built by :meth:`nominal` (which explains
      it): a per-parameter MLP reading per-tensor-rescaled features that corrects a nominal Adam step.

    The dataclass defaults stay the earlier dense design so that specs saved before still load as what
    they were. Meta-trained with antithetic ES for 200 trajectories, seeds 0, 1, 2, the first nominal
    design (no blend, ES on the last 10 steps) ended at 0.244, 0.260 and 0.239 at step 100 against 0.282
    for tuned Adam (10 held-out inits; paired -0.038 +- 0.013, -0.022 +- 0.019, -0.043 +- 0.020). The
    README's learned-optimizer benchmark has the current design's figures, three seeds of 600 trajectories.

    Earlier dense design (and why): a coordinate-wise MLP (32, 32) that also reads Adam-normalised momenta at
    three timescales (0.5, 0.9, 0.99), output scale 0.01. On 2 CPU cores the paper's LSTM managed
    about 100 trajectories in 5 minutes and reached a mean loss of about 0.52 at step 100 against
    0.31 for tuned Adam; this network is about 5 times cheaper per step, starts from features that
    already express Adam. Two 600 s runs of bench/bench_learned_optimizer.py (20 held-out inits, tuned
    Adam 0.302 +- 0.031 at step 100): 1,385 trajectories gave 0.300 +- 0.042 (paired -0.002 +- 0.028, a
    tie); 1,795 trajectories (less CPU contention) gave 0.250 +- 0.031 (paired -0.052 +- 0.020, lower on
    16 of 20 inits). The constant meta learning rate leaves the result dependent on where the wall
    budget stops it. The paper's recipe is
    :meth:`OptimizerNetSpec.paper`.

    Attributes:
        kind: ``"lstm"``, ``"dense"`` or ``"nominal"``.
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
            normalised momentum and only they feed the output. Other networks ignore it. Default 0: in
            240 s runs, meta-training from Adam at 0.03 ended worse than Adam (0.333 against 0.302 at
            step 100; paired +0.031 +- 0.028), the truncated meta-objective pulls it away from Adam.
        nominal_rate: the nominal kind's starting Adam learning rate (meta-learned from there, in log space).
        magnitude_range: the nominal kind's step multiplier is ``exp(R * tanh(a / R))``, within ``exp(+-R)``.
        rms_decays: the nominal kind's extra RMS timescales (besides ``rms_decay``): per decay three more inputs,
            that RMS and the gradient and Adam's momentum divided by it (RMSprop-like ratios). Default none.
        nominal_mix: the nominal kind's direction is Adam's ``m / rms`` moved by meta-learned scalars
            ``c_k`` towards each other normalised ratio ``r_k`` (``adam + sum c_k (r_k - adam)``; all ``c_k``
            start at 0): meta-training picks the blend of momentum timescales (Adam's beta 1) and of
            RMS timescales instead of keeping Adam's. Default off.
        time_scales: extra inputs ``tanh(t / s)`` per scale ``s``, ``t`` the update count (1 at the first
            update): lets the net learn a schedule; bounded, so longer trajectories saturate rather than
            extrapolate. Default none: with ``(10, 100)`` a 240 s run (260 trajectories, cosine meta
            learning rate) diverged to 0.90 at step 100 against 0.39 without them.

    Example:
        >>> OptimizerNetSpec.paper().input_width
        2
        >>> OptimizerNetSpec().input_width  # log/sign gradient + normalised gradient + 3 momenta
        6
    """

    kind: str = "dense"
    hidden: tuple[int, ...] = (32, 32)
    preprocess: bool = True
    p: float = 10.0
    output_scale: float = 0.01  # Adam-like features are O(1); tuned Adam's step is about 0.02 of them
    momentum_decays: tuple[float, ...] = (0.5, 0.9, 0.99)
    rms_decay: float = 0.999
    warm_start_rate: float = 0.0
    time_scales: tuple[float, ...] = ()
    # Only the "nominal" kind reads these two (see :meth:`nominal`).
    nominal_rate: float = 0.03
    magnitude_range: float = 3.0
    # Nominal kind only, added later; their defaults keep the specs saved before reading as what they were.
    rms_decays: tuple[float, ...] = ()
    nominal_mix: bool = False

    def __post_init__(self) -> None:
        if self.kind not in NET_KINDS:
            raise ValueError(f"OptimizerNetSpec: unknown kind {self.kind!r}; choose one of {NET_KINDS}")
        hidden = _check_hidden(self.hidden, "OptimizerNetSpec", allow_empty=self.kind != "lstm")
        object.__setattr__(self, "hidden", hidden)
        if not isinstance(self.preprocess, bool):
            raise ValueError(f"OptimizerNetSpec.preprocess must be true or false, got {self.preprocess!r}")
        _check_positive_float(self.p, "OptimizerNetSpec.p")
        _check_positive_float(self.output_scale, "OptimizerNetSpec.output_scale")
        decays = tuple(float(decay) for decay in self.momentum_decays)
        if any(not 0.0 < decay < 1.0 for decay in decays):
            raise ValueError(f"OptimizerNetSpec.momentum_decays must lie strictly between 0 and 1, got {decays}")
        object.__setattr__(self, "momentum_decays", decays)
        if isinstance(self.rms_decay, bool) or not isinstance(self.rms_decay, int | float) or not 0 < self.rms_decay < 1:
            raise ValueError(f"OptimizerNetSpec.rms_decay must lie strictly between 0 and 1, got {self.rms_decay!r}")
        if (isinstance(self.warm_start_rate, bool) or not isinstance(self.warm_start_rate, int | float)
                or not math.isfinite(self.warm_start_rate) or self.warm_start_rate < 0):
            raise ValueError(f"OptimizerNetSpec.warm_start_rate must be >= 0 (0 = no warm start), "
                             f"got {self.warm_start_rate!r}")
        if isinstance(self.time_scales, int | float | str) or not hasattr(self.time_scales, "__iter__"):
            raise ValueError(f"OptimizerNetSpec.time_scales must be a sequence of step counts, got {self.time_scales!r}")
        scales = tuple(self.time_scales)
        for scale in scales:
            if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"OptimizerNetSpec.time_scales must be positive numbers, got {scales}")
        object.__setattr__(self, "time_scales", tuple(float(scale) for scale in scales))
        _check_positive_float(self.nominal_rate, "OptimizerNetSpec.nominal_rate")
        _check_positive_float(self.magnitude_range, "OptimizerNetSpec.magnitude_range")
        rms_decays = tuple(float(decay) for decay in self.rms_decays) if hasattr(self.rms_decays, "__iter__") else None
        if rms_decays is None or any(not 0.0 < decay < 1.0 for decay in rms_decays):
            raise ValueError(f"OptimizerNetSpec.rms_decays must be decays strictly between 0 and 1, got {self.rms_decays!r}")
        object.__setattr__(self, "rms_decays", rms_decays)
        if not isinstance(self.nominal_mix, bool):
            raise ValueError(f"OptimizerNetSpec.nominal_mix must be true or false, got {self.nominal_mix!r}")
        if self.kind == "nominal" and not any(abs(decay - 0.9) < 1e-12 for decay in decays):
            raise ValueError("OptimizerNetSpec: the nominal kind's Adam term needs 0.9 among momentum_decays")

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
        per-coordinate, time-dependent step size and direction.
        """
        return cls(kind="nominal", hidden=tuple(hidden), preprocess=False, p=10.0, output_scale=1.0,
                   momentum_decays=(0.5, 0.9, 0.99, 0.999), rms_decay=0.999, warm_start_rate=0.0,
                   time_scales=(3.0, 10.0, 30.0, 100.0, 300.0), nominal_rate=0.03, magnitude_range=3.0,
                   rms_decays=(0.9,), nominal_mix=True)

    @classmethod
    def paper(cls) -> OptimizerNetSpec:
        """The paper's optimizer: two-layer LSTM (20, 20) on the preprocessed gradient only, output scale 0.1."""
        return cls(kind="lstm", hidden=(20, 20), preprocess=True, p=10.0, output_scale=0.1, momentum_decays=(),
                   warm_start_rate=0.0, time_scales=())

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
        return _from_dict(cls, data)


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

    Measured on the paper's problem with the nominal design (200 trajectories, 10 held-out inits, tuned Adam
    0.282 at step 100): back-propagation through 20-step truncations moved the optimizer away from Adam
    (0.627 with meta learning rate 0.003, 0.473 with 0.001: each truncation rewards greedy steps that cost
    later), antithetic ES on whole trajectories improved on it (0.244). The spec's default stays
    ``"backprop"`` so that specs saved before still read as what they were; the run kind's default is ES.

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
            trajectory (0 = every step). Default 50, the second half of the paper's 100 steps: with 10 (the
            window the baselines are tuned on, the default before) the optimizer was tuned to the end of a
            100-step run only and generalised worst to the two-hidden-layer net, still far from its end at
            step 100 (0.89-0.92 against RMSprop's 0.73); over the second half it also learns to get there
            fast (0.60-0.73), and step 100 on the paper's problem stays below Adam.

    Example:
        >>> MetaTrainSpec(unroll=20).unroll
        20
    """

    unroll: int = 20  # the paper's truncation
    meta_learning_rate: float = 0.003  # 0.001 (DeepMind's code) learned too slowly for a 10-minute budget
    iterations: int = 100_000
    budget_seconds: float = 600.0
    seed: int = 0
    clip_norm: float = 1.0  # guards Adam against the rare exploding truncation
    second_order: bool = False
    lr_schedule: str = "constant"
    loss_weighting: str = "mean"
    loss_clip: float = 0.0
    method: str = "backprop"
    es_pairs: int = 2
    es_sigma: float = 0.01
    es_tail: int = 50

    def __post_init__(self) -> None:
        _check_positive_int(self.unroll, "MetaTrainSpec.unroll")
        _check_positive_float(self.meta_learning_rate, "MetaTrainSpec.meta_learning_rate")
        _check_positive_int(self.iterations, "MetaTrainSpec.iterations")
        _check_positive_float(self.budget_seconds, "MetaTrainSpec.budget_seconds")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 1000:
            raise ValueError(f"MetaTrainSpec.seed must be an integer in 0..999, got {self.seed!r}")
        if not isinstance(self.clip_norm, int | float) or not math.isfinite(self.clip_norm) or self.clip_norm < 0:
            raise ValueError(f"MetaTrainSpec.clip_norm must be >= 0 (0 = no clipping), got {self.clip_norm!r}")
        if not isinstance(self.second_order, bool):
            raise ValueError(f"MetaTrainSpec.second_order must be true or false, got {self.second_order!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"MetaTrainSpec.lr_schedule: unknown schedule {self.lr_schedule!r}; choose one of {LR_SCHEDULES}")
        if self.loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"MetaTrainSpec.loss_weighting: unknown weighting {self.loss_weighting!r}; "
                             f"choose one of {LOSS_WEIGHTINGS}")
        if (isinstance(self.loss_clip, bool) or not isinstance(self.loss_clip, int | float)
                or not math.isfinite(self.loss_clip) or self.loss_clip < 0):
            raise ValueError(f"MetaTrainSpec.loss_clip must be >= 0 (0 = no clipping), got {self.loss_clip!r}")
        if self.method not in META_METHODS:
            raise ValueError(f"MetaTrainSpec.method: unknown method {self.method!r}; choose one of {META_METHODS}")
        _check_positive_int(self.es_pairs, "MetaTrainSpec.es_pairs")
        _check_positive_float(self.es_sigma, "MetaTrainSpec.es_sigma")
        if isinstance(self.es_tail, bool) or not isinstance(self.es_tail, int) or self.es_tail < 0:
            raise ValueError(f"MetaTrainSpec.es_tail must be an integer >= 0, got {self.es_tail!r}")

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
        """Raise ValueError if a truncation is longer than the trajectory it cuts."""
        if self.method == "backprop" and self.unroll > optimizee.steps:
            raise ValueError(
                f"MetaTrainSpec.unroll ({self.unroll}) must not exceed OptimizeeSpec.steps ({optimizee.steps})"
            )

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaTrainSpec:
        return _from_dict(cls, data)


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
