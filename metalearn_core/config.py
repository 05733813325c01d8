"""Run configuration: frozen, validated dataclasses with a JSON round trip.

One dataclass per concern: a layer, a network (an ordered list of layers), the training settings,
the stacking settings and the run that ties them together. Every dataclass validates itself at
construction and raises :class:`ConfigError` (a ``ValueError``) with a message a user understands,
for example ``"dense layer 2: units must be between 1 and 4096, got 0"``.

Example:
    >>> net = NetworkConfig(layers=(LayerConfig("flatten"), LayerConfig("dense", units=128)))
    >>> RunConfig.from_json(RunConfig(base=net).to_json()).base == net
    True
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

LAYER_TYPES = ("dense", "conv2d", "max_pool", "dropout", "batch_norm", "flatten", "lstm")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "leaky_relu", "linear")
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "rmsprop", "learned")
LR_SCHEDULES = ("constant", "cosine")
RUN_KINDS = ("base", "stacked", "fewshot", "learned_optimizer")
FEWSHOT_ALGORITHMS = ("protonet", "maml", "fomaml", "metasgd", "reptile")
LEARNER_KINDS = ("network", "random_forest", "svm")
META_INPUTS = ("probabilities", "logits", "logits+features")

MAX_UNITS = 4096
MAX_FILTERS = 512
IMAGE_SIZE = 28
NUM_CLASSES = 10


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message says which and why."""


def _check_range(where: str, name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{where}: {name} must be between {low:g} and {high:g}, got {value:g}")


def _check_int(where: str, name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {name} must be a whole number, got {value!r}")
    _check_range(where, name, value, low, high)


def _check_choice(where: str, name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{where}: {name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class LayerConfig:
    """One layer of a network.

    Only the fields that matter for ``type`` are used: ``units`` and ``activation`` for dense,
    ``filters``, ``kernel_size``, ``activation`` and ``padding`` for conv2d, ``pool_size`` for
    max_pool and ``rate`` for dropout. The output layer (one unit per class, softmax) is not part
    of the list: the model builder adds it, so the same network serves 10 digits or a 5-way task.
    """

    type: str
    units: int = 128
    filters: int = 32
    kernel_size: int = 3
    padding: str = "valid"
    pool_size: int = 2
    activation: str = "relu"
    rate: float = 0.2

    def validate(self, where: str) -> None:
        """Check this layer's own fields; ``where`` names it in messages ("dense layer 2")."""
        _check_choice(where, "type", self.type, LAYER_TYPES)
        if self.type in ("dense", "lstm"):
            _check_int(where, "units", self.units, 1, MAX_UNITS)
        if self.type == "conv2d":
            _check_int(where, "filters", self.filters, 1, MAX_FILTERS)
            _check_int(where, "kernel size", self.kernel_size, 1, IMAGE_SIZE)
            _check_choice(where, "padding", self.padding, ("valid", "same"))
        if self.type in ("dense", "conv2d"):
            _check_choice(where, "activation", self.activation, ACTIVATIONS)
        if self.type == "max_pool":
            _check_int(where, "pool size", self.pool_size, 1, IMAGE_SIZE)
        if self.type == "dropout":
            _check_range(where, "rate", self.rate, 0.0, 0.95)

    def to_dict(self) -> dict[str, Any]:
        """The fields that matter for this layer's type, for compact JSON."""
        keep = {
            "dense": ("units", "activation"),
            "lstm": ("units",),
            "conv2d": ("filters", "kernel_size", "padding", "activation"),
            "max_pool": ("pool_size",),
            "dropout": ("rate",),
        }.get(self.type, ())
        return {"type": self.type, **{name: getattr(self, name) for name in keep}}

    def describe(self) -> str:
        """A short human label such as ``Dense(128, relu)``."""
        if self.type == "dense":
            return f"Dense({self.units}, {self.activation})"
        if self.type == "conv2d":
            return f"Conv2D({self.filters}, {self.kernel_size}x{self.kernel_size}, {self.activation})"
        if self.type == "max_pool":
            return f"MaxPool({self.pool_size}x{self.pool_size})"
        if self.type == "dropout":
            return f"Dropout({self.rate:g})"
        if self.type == "lstm":
            return f"LSTM({self.units})"
        return {"batch_norm": "BatchNorm", "flatten": "Flatten"}[self.type]


def _network_shape_walk(layers: tuple[LayerConfig, ...], label: str, image_input: bool) -> None:
    """Follow the tensor shape through the layers and reject impossible combinations early."""
    spatial = IMAGE_SIZE if image_input else None  # side of the square feature map, None once flat
    counts: dict[str, int] = {}
    for layer in layers:
        counts[layer.type] = counts.get(layer.type, 0) + 1
        where = f"{label}{layer.type.replace('_', '-')} layer {counts[layer.type]}"
        if not isinstance(layer, LayerConfig):
            raise ConfigError(f"{label}every layer must be a LayerConfig, got {layer!r}")
        layer.validate(where)
        if layer.type == "lstm":
            raise ConfigError(f"{where}: LSTM layers only belong in the meta network of a "
                              "'learned optimizer' run, where the meta network is the optimizer")
        if layer.type in ("conv2d", "max_pool"):
            if spatial is None:
                raise ConfigError(
                    f"{where} needs an image input but comes after a flatten or dense layer; "
                    "move it before them"
                )
            size = layer.kernel_size if layer.type == "conv2d" else layer.pool_size
            if layer.type == "conv2d" and layer.padding == "same":
                continue
            if size > spatial:
                raise ConfigError(
                    f"{where}: {'kernel' if layer.type == 'conv2d' else 'pool'} size {size} is "
                    f"larger than its {spatial}x{spatial} input"
                )
            spatial = spatial - size + 1 if layer.type == "conv2d" else spatial // size
        elif layer.type == "flatten":
            spatial = None
        elif layer.type == "dense" and spatial is not None and image_input:
            raise ConfigError(f"{where} comes after image layers: put a flatten layer before it")


@dataclass(frozen=True)
class NetworkConfig:
    """An ordered list of hidden layers; the builder adds the softmax output layer."""

    layers: tuple[LayerConfig, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if len(self.layers) > 64:
            raise ConfigError(f"a network may have at most 64 layers, got {len(self.layers)}")

    def validate(self, label: str = "", image_input: bool = True) -> None:
        """Check every layer and the order of layers for an image (or a flat vector) input."""
        _network_shape_walk(self.layers, f"{label}: " if label else "", image_input)

    def to_dict(self) -> dict[str, Any]:
        return {"layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        return cls(layers=tuple(_layer_from_dict(item) for item in data.get("layers", [])))

    def describe(self) -> str:
        """Layers joined by arrows, ending in the automatic output layer."""
        return " → ".join([layer.describe() for layer in self.layers] + ["Dense(classes, softmax)"])


def _layer_from_dict(data: Any) -> LayerConfig:
    if not isinstance(data, dict) or "type" not in data:
        raise ConfigError(f"each layer must be an object with a 'type', got {data!r}")
    known = {f.name for f in dataclasses.fields(LayerConfig)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown layer field(s): {', '.join(sorted(unknown))}")
    return LayerConfig(**data)


@dataclass(frozen=True)
class TrainingConfig:
    """How a network is trained.

    ``train_limit`` and ``test_limit`` use only the first N images of each split (0 means all):
    handy for a quick try and for tests. ``scale_pixels`` divides pixels by 255; the seed forgot it
    and lost 3.5 points of accuracy, so it is on by default.
    """

    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    validation_split: float = 0.2
    seed: int = 0
    scale_pixels: bool = True
    train_limit: int = 0
    test_limit: int = 0
    # XLA fuses the optimizer update and element-wise ops: about 10% more samples per second for
    # wide dense networks here, but compiling costs 2-3 s, more than it saves on short runs.
    jit_compile: bool = False
    # With optimizer "learned": the run (kind learned_optimizer) whose trained optimizer updates the weights.
    learned_optimizer_run: int = 0

    def __post_init__(self) -> None:
        where = "training"
        _check_int(where, "learned optimizer run", self.learned_optimizer_run, 0, 2**31 - 1)
        if self.optimizer == "learned" and not self.learned_optimizer_run:
            raise ConfigError(f"{where}: the learned optimizer needs a finished learned-optimizer run to take "
                              "it from; train one with run kind 'learned optimizer' first")
        if not isinstance(self.jit_compile, bool):
            raise ConfigError(f"{where}: jit compile must be true or false")
        _check_int(where, "epochs", self.epochs, 1, 500)
        _check_int(where, "batch size", self.batch_size, 1, 8192)
        _check_choice(where, "optimizer", self.optimizer, OPTIMIZERS)
        _check_range(where, "learning rate", self.learning_rate, 1e-7, 100.0)
        _check_choice(where, "learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        _check_range(where, "validation split", self.validation_split, 0.0, 0.5)
        _check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.scale_pixels, bool):
            raise ConfigError(f"{where}: scale pixels must be true or false")
        _check_int(where, "train limit", self.train_limit, 0, 10_000_000)
        _check_int(where, "test limit", self.test_limit, 0, 10_000_000)
        if 0 < self.train_limit < 20:
            raise ConfigError(f"{where}: train limit must be 0 (all) or at least 20, got {self.train_limit}")


@dataclass(frozen=True)
class LearnerConfig:
    """One base learner of a stacked run: a neural network or a scikit-learn model.

    A ``network`` learner with ``network=None`` uses the run's base network. ``max_samples`` caps
    the training images of a scikit-learn learner (an RBF SVM is quadratic in them); 0 means all.
    """

    kind: str = "network"
    network: NetworkConfig | None = None
    max_samples: int = 0

    def __post_init__(self) -> None:
        _check_choice("stacking learner", "kind", self.kind, LEARNER_KINDS)
        _check_int("stacking learner", "max samples", self.max_samples, 0, 10_000_000)
        if self.network is not None:
            if self.kind != "network":
                raise ConfigError(f"stacking learner: a {self.kind} learner takes no network")
            self.network.validate("stacking learner")

    def label(self, index: int) -> str:
        return f"base {index + 1} ({self.kind.replace('_', ' ')})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "max_samples": self.max_samples}
        if self.network is not None:
            out["network"] = self.network.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnerConfig:
        network = data.get("network")
        return cls(
            kind=data.get("kind", "network"),
            network=NetworkConfig.from_dict(network) if network is not None else None,
            max_samples=data.get("max_samples", 0),
        )


@dataclass(frozen=True)
class StackingConfig:
    """Stacked generalisation (Wolpert 1992): how the meta network sees the base learners.

    The meta network learns only from base outputs on images the base learners did not train on:
    with ``folds == 1`` a held-out fraction of the training split, otherwise out-of-fold
    predictions from ``folds``-fold cross-fitting (each learner is then trained folds + 1 times).
    """

    learners: tuple[LearnerConfig, ...] = (LearnerConfig("network"), LearnerConfig("random_forest"))
    meta_input: str = "probabilities"
    holdout_fraction: float = 0.2
    folds: int = 1
    meta_epochs: int = 20
    # The meta network is small and its standardised inputs are well conditioned: a larger step
    # and smaller batches than the base network's let it converge in a few seconds.
    meta_learning_rate: float = 1e-2
    meta_batch_size: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "learners", tuple(self.learners))
        where = "stacking"
        if not 1 <= len(self.learners) <= 6:
            raise ConfigError(f"{where}: use between 1 and 6 base learners, got {len(self.learners)}")
        _check_choice(where, "meta input", self.meta_input, META_INPUTS)
        _check_range(where, "held-out fraction", self.holdout_fraction, 0.05, 0.5)
        _check_int(where, "folds", self.folds, 1, 10)
        _check_int(where, "meta epochs", self.meta_epochs, 1, 500)
        _check_range(where, "meta learning rate", self.meta_learning_rate, 1e-7, 10.0)
        _check_int(where, "meta batch size", self.meta_batch_size, 1, 8192)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["learners"] = [learner.to_dict() for learner in self.learners]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackingConfig:
        fields = dict(data)
        fields["learners"] = tuple(LearnerConfig.from_dict(x) for x in data.get("learners", []))
        return cls(**fields)


@dataclass(frozen=True)
class FewShotConfig:
    """A few-shot meta-learning run: which learner, what episodes, how long to meta-train.

    The learner's network is the run's base network. Meta-training uses ``ways``-way
    ``shots``-shot episodes of the training digits (and their rotations, as extra classes);
    at the end the learner is scored on ``evaluation_episodes`` fixed episodes of the test digits
    from the test split, both 1-shot and 5-shot, beside the pixel and pre-train baselines.
    ``time_budget`` (seconds, 0 = none) stops meta-training early, whichever comes first with
    ``iterations``. ``baseline_seconds`` trains the pre-train-then-adapt baseline (0 skips it).
    Per-algorithm recommended values: :func:`metalearn_core.fewshot.recommended_settings`.
    """

    # Defaults: the measured settings of metalearn_core/algorithms/defaults.py (see recommended_settings).
    algorithm: str = "protonet"
    ways: int = 5
    shots: int = 5  # one model is trained on 5-shot episodes and scored 1-shot and 5-shot
    queries: int = 5
    train_ways: int = 20  # ProtoNet trains with more ways than it is tested on (Snell et al. 2017)
    inner_lr: float = 0.05  # 0.4 (the paper's) raises the loss with transductive batch norm here
    inner_steps: int = 1
    eval_inner_steps: int = 10
    meta_learning_rate: float = 1e-3
    meta_batch_size: int = 4
    iterations: int = 100_000
    time_budget: float = 300.0
    rotations: bool = True
    train_digits: tuple[int, ...] = (0, 1, 2, 3, 4)
    test_digits: tuple[int, ...] = (5, 6, 7, 8, 9)
    validation_every: int = 100
    validation_episodes: int = 40
    evaluation_episodes: int = 200
    baseline_seconds: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        where = "few-shot"
        _check_choice(where, "algorithm", self.algorithm, FEWSHOT_ALGORITHMS)
        _check_int(where, "ways", self.ways, 2, 10)
        _check_int(where, "shots", self.shots, 1, 20)
        _check_int(where, "queries", self.queries, 1, 50)
        _check_int(where, "training ways", self.train_ways, 2, 40)
        _check_range(where, "inner learning rate", self.inner_lr, 1e-5, 10.0)
        _check_int(where, "inner steps", self.inner_steps, 1, 20)
        _check_int(where, "evaluation inner steps", self.eval_inner_steps, 1, 50)
        _check_range(where, "meta learning rate", self.meta_learning_rate, 1e-6, 1.0)
        _check_int(where, "meta-batch size", self.meta_batch_size, 1, 64)
        _check_int(where, "iterations", self.iterations, 1, 1_000_000)
        _check_range(where, "time budget", self.time_budget, 0.0, 86_400.0)
        _check_int(where, "validation interval", self.validation_every, 1, 100_000)
        _check_int(where, "validation episodes", self.validation_episodes, 1, 1000)
        _check_int(where, "evaluation episodes", self.evaluation_episodes, 10, 5000)
        _check_range(where, "baseline seconds", self.baseline_seconds, 0.0, 86_400.0)
        _check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.rotations, bool):
            raise ConfigError(f"{where}: rotations must be true or false, got {self.rotations!r}")
        for name in ("train_digits", "test_digits"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.episodes()  # checks the digits, the split and that the ways fit it

    def episodes(self, shots: int | None = None):
        """The :class:`~metalearn_core.episodes.EpisodeConfig` of this run (``shots`` overrides)."""
        from metalearn_core.episodes import EpisodeConfig

        return EpisodeConfig(ways=self.ways, shots=self.shots if shots is None else shots,
                             queries=self.queries, train_digits=self.train_digits,
                             test_digits=self.test_digits, rotations=self.rotations, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["train_digits"], out["test_digits"] = list(self.train_digits), list(self.test_digits)
        return out


OPTIMIZEE_ACTIVATIONS = ("sigmoid", "relu", "tanh")


@dataclass(frozen=True)
class LearnedOptimizerConfig:
    """A learned-optimizer run (Andrychowicz et al. 2016): the meta network learns to train the base network.

    The base network ("optimizee") must be dense layers after a flatten, all with one activation;
    the meta network (the optimizer, applied to every weight separately) must be LSTM layers
    (the paper: two of 20) or dense layers (a cheaper coordinate-wise MLP). Meta-training unrolls
    ``steps`` training steps of the base network on batches of ``batch_size``, back-propagates
    through ``unroll`` of them at a time, each trajectory from a fresh random initialisation, and
    stops at ``budget_seconds`` or ``iterations`` trajectories. The baselines' learning rates are
    tuned on ``tune_trajectories`` meta-training trajectories; everything is then scored on
    ``eval_inits`` held-out initialisations. ``reuse_optimizer_of`` (a run id) skips meta-training
    and evaluates that run's trained optimizer on this run's base network and steps: the
    generalisation checks.
    """

    preprocess: bool = True
    p: float = 10.0
    # The paper's LSTM reads only the gradient and scales its output by 0.1. The default dense
    # optimizer also reads Adam-normalised momenta at three timescales, features of order 1 whose
    # tuned step is about 0.01 (metalearn_core.learnopt.specs.OptimizerNetSpec explains why).
    momentum_inputs: bool = True
    output_scale: float = 0.01
    unroll: int = 20
    steps: int = 100
    batch_size: int = 128
    meta_learning_rate: float = 3e-3
    iterations: int = 100_000
    budget_seconds: float = 600.0
    eval_inits: int = 20
    tune_trajectories: int = 5
    grid_points: int = 10  # learning rates tried per hand-written optimizer, log-spaced
    reuse_optimizer_of: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        where = "learned optimizer"
        for name in ("preprocess", "momentum_inputs"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{where}: {name.replace('_', ' ')} must be true or false")
        _check_range(where, "p", self.p, 1.0, 50.0)
        _check_range(where, "output scale", self.output_scale, 1e-4, 10.0)
        _check_int(where, "unroll", self.unroll, 1, 200)
        _check_int(where, "steps", self.steps, 1, 10_000)
        if self.unroll > self.steps:
            raise ConfigError(f"{where}: the unroll ({self.unroll}) cannot be longer than the trajectory "
                              f"({self.steps} steps)")
        _check_int(where, "batch size", self.batch_size, 1, 8192)
        _check_range(where, "meta learning rate", self.meta_learning_rate, 1e-6, 1.0)
        _check_int(where, "iterations", self.iterations, 1, 10_000_000)
        _check_range(where, "time budget", self.budget_seconds, 1.0, 86_400.0)
        _check_int(where, "evaluation initialisations", self.eval_inits, 2, 1000)
        _check_int(where, "tuning trajectories", self.tune_trajectories, 1, 100)
        _check_int(where, "grid points", self.grid_points, 2, 50)
        _check_int(where, "reused run", self.reuse_optimizer_of, 0, 2**31 - 1)
        _check_int(where, "seed", self.seed, 0, 2**31 - 1)


def optimizee_shape(base: NetworkConfig) -> tuple[tuple[int, ...], str]:
    """(hidden units, activation) of a base network a learned optimizer can train, else ConfigError."""
    kinds = [layer.type for layer in base.layers]
    dense = [layer for layer in base.layers if layer.type == "dense"]
    if kinds != ["flatten"] + ["dense"] * len(dense) or not dense:
        raise ConfigError("base network: a learned optimizer trains a multilayer perceptron: a flatten layer "
                          "then one or more dense layers (the paper: one of 20 sigmoid units)")
    activations = {layer.activation for layer in dense}
    if len(activations) > 1 or not activations <= set(OPTIMIZEE_ACTIVATIONS):
        raise ConfigError(f"base network: give every dense layer the same activation, one of "
                          f"{', '.join(OPTIMIZEE_ACTIVATIONS)} (got {', '.join(sorted(activations))})")
    return tuple(layer.units for layer in dense), activations.pop()


def optimizer_shape(meta: NetworkConfig) -> tuple[str, tuple[int, ...]]:
    """("lstm" or "dense", hidden units) of a meta network usable as a learned optimizer, else ConfigError."""
    kinds = {layer.type for layer in meta.layers}
    if not meta.layers or len(kinds) != 1 or not kinds <= {"lstm", "dense"}:
        raise ConfigError("meta network: a learned optimizer is LSTM layers (the paper: two of 20 units) "
                          "or dense layers (cheaper), not a mix and not empty")
    for index, layer in enumerate(meta.layers, start=1):
        layer.validate(f"meta network: layer {index}")
    return kinds.pop(), tuple(layer.units for layer in meta.layers)


def seed_network() -> NetworkConfig:
    """The seed's network: Flatten, Dense(128, relu) (the builder adds Dense(10, softmax))."""
    return NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=128)))


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to reproduce a run; stored as JSON with the run."""

    kind: str = "base"
    name: str = ""
    base: NetworkConfig = field(default_factory=seed_network)
    meta: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    stacking: StackingConfig = field(default_factory=StackingConfig)
    fewshot: FewShotConfig = field(default_factory=FewShotConfig)
    learned_optimizer: LearnedOptimizerConfig = field(default_factory=LearnedOptimizerConfig)

    def __post_init__(self) -> None:
        _check_choice("run", "kind", self.kind, RUN_KINDS)
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError("run: name must be text of at most 200 characters")
        self.base.validate("base network")
        if self.kind == "learned_optimizer":
            optimizee_shape(self.base)
            optimizer_shape(self.meta)
        if self.training.optimizer == "learned":
            if self.kind != "base":
                raise ConfigError("training: a learned optimizer trains base runs only")
            optimizee_shape(self.base)
        elif self.kind == "stacked" or not any(layer.type == "lstm" for layer in self.meta.layers):
            self.meta.validate("meta network", image_input=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "base": self.base.to_dict(),
            "meta": self.meta.to_dict(),
            "training": dataclasses.asdict(self.training),
            "stacking": self.stacking.to_dict(),
            "fewshot": self.fewshot.to_dict(),
            "learned_optimizer": dataclasses.asdict(self.learned_optimizer),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Build a config from parsed JSON; unknown or wrongly typed fields raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        try:
            return cls(
                kind=data.get("kind", "base"),
                name=data.get("name", ""),
                base=NetworkConfig.from_dict(data["base"]) if "base" in data else seed_network(),
                meta=NetworkConfig.from_dict(data.get("meta", {})),
                training=TrainingConfig(**data.get("training", {})),
                stacking=StackingConfig.from_dict(data.get("stacking", {})),
                fewshot=FewShotConfig(**data.get("fewshot", {})),
                learned_optimizer=LearnedOptimizerConfig(**data.get("learned_optimizer", {})),
            )
        except TypeError as error:  # an unknown keyword or a list where an object belongs
            raise ConfigError(f"run config: {error}") from None
        except AttributeError as error:
            raise ConfigError(f"run config: wrong structure ({error})") from None

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> RunConfig:
        """Parse JSON text; ``source`` (a file name) is named in the error message."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not valid JSON ({error})") from None
        try:
            return cls.from_dict(data)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)
