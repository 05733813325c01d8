"""Run configuration: frozen, validated dataclasses with a JSON round trip.

One dataclass per concern: a layer, a network (an ordered list of layers), the training settings
and the run that ties them together. A run holds its own kind's settings (the kind's section, a
dataclass in ``metalearn_core/kinds/<kind>/config.py``) and nothing of the other kinds; the kinds
register themselves here (:func:`register_kind`). Every dataclass validates itself at
construction with the one vocabulary below (:func:`check_int`, :func:`check_range`,
:func:`check_positive`, :func:`check_choice`, :func:`check_bool`, :func:`check_sequence`), as do
the kinds' sections and the learned optimizer's specs, and raises :class:`ConfigError` (a
``ValueError``) with a message a user understands, for example ``"dense layer 2: units must be between 1 and 4096, got 0"``.

Example:
    >>> net = NetworkConfig(layers=(LayerConfig("flatten"), LayerConfig("dense", units=128)))
    >>> RunConfig.from_json(RunConfig(base=net).to_json()).base == net
    True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metalearn_core.safe_input import InputError, has_control_characters, load_json

LAYER_TYPES = ("dense", "conv2d", "max_pool", "dropout", "batch_norm", "flatten", "lstm")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "leaky_relu", "linear")
# sgd_hd / adam_hd: hypergradient descent (Baydin et al. 2018), the learning rate itself learned.
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "rmsprop", "sgd_hd", "adam_hd", "learned")
HYPERGRADIENT_OPTIMIZERS = ("sgd_hd", "adam_hd")
# The data a run learns from: MNIST digits, or Fashion-MNIST clothes (same shapes and splits).
DATASETS = ("mnist", "fashion_mnist")
LR_SCHEDULES = ("constant", "cosine")

MAX_UNITS = 4096
MAX_FILTERS = 512
IMAGE_SIZE = 28
NUM_CLASSES = 10


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message says which and why."""


def check_range(where: str, name: str, value: float, low: float, high: float | None = None) -> None:
    """ConfigError unless ``value`` is a number in ``[low, high]`` (``high`` None: finite and at least ``low``).

    Example:
        >>> check_range("training", "learning rate", 0.0, 1e-7, 100.0)
        Traceback (most recent call last):
        ...
        metalearn_core.config.ConfigError: training: learning rate must be between 1e-07 and 100, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if high is None:
        if not math.isfinite(value) or value < low:
            raise ConfigError(f"{where}: {name} must be a finite number of at least {low:g}, got {value!r}")
    elif not low <= value <= high:
        raise ConfigError(f"{where}: {name} must be between {low:g} and {high:g}, got {value:g}")


def check_int(where: str, name: str, value: int, low: int, high: int | None = None) -> None:
    """ConfigError unless ``value`` is a whole number (not a bool) in ``[low, high]`` (``high`` None: no cap)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {name} must be a whole number, got {value!r}")
    if high is not None:
        check_range(where, name, value, low, high)
    elif value < low:
        raise ConfigError(f"{where}: {name} must be a whole number of at least {low}, got {value}")


def check_positive(where: str, name: str, value: float, below: float | None = None) -> None:
    """ConfigError unless ``value`` is a finite number above 0 (and below ``below`` when given).

    Example:
        >>> check_positive("optimizer", "decay", 1.0, below=1.0)
        Traceback (most recent call last):
        ...
        metalearn_core.config.ConfigError: optimizer: decay must lie strictly between 0 and 1, got 1.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if below is None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where}: {name} must be a positive finite number, got {value!r}")
    if below is not None and not 0 < value < below:
        raise ConfigError(f"{where}: {name} must lie strictly between 0 and {below:g}, got {value!r}")


def check_choice(where: str, name: str, value: str, choices: tuple[str, ...]) -> None:
    """ConfigError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{where}: {name} must be one of {', '.join(choices)}, got {value!r}")


def check_bool(where: str, name: str, value: bool) -> None:
    """ConfigError unless ``value`` is True or False (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {name} must be true or false, got {value!r}")


def check_sequence(where: str, name: str, value: Any) -> tuple[Any, ...]:
    """The items of a list or tuple as a tuple; ConfigError for anything else (a number, text, a mapping).

    Example:
        >>> check_sequence("optimizer", "time scales", [10, 100])
        (10, 100)
    """
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: {name} must be a list, got {value!r}")
    return tuple(value)


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
        check_choice(where, "type", self.type, LAYER_TYPES)
        if self.type in ("dense", "lstm"):
            check_int(where, "units", self.units, 1, MAX_UNITS)
        if self.type == "conv2d":
            check_int(where, "filters", self.filters, 1, MAX_FILTERS)
            check_int(where, "kernel size", self.kernel_size, 1, IMAGE_SIZE)
            check_choice(where, "padding", self.padding, ("valid", "same"))
        if self.type in ("dense", "conv2d"):
            check_choice(where, "activation", self.activation, ACTIVATIONS)
        if self.type == "max_pool":
            check_int(where, "pool size", self.pool_size, 1, IMAGE_SIZE)
        if self.type == "dropout":
            check_range(where, "rate", self.rate, 0.0, 0.95)

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
    # The domain the network learns and is tested on (DATASETS).
    dataset: str = "mnist"
    # With a hypergradient optimizer: beta, the learning rate of the learning rate; 0 = the paper's
    # default for that optimizer (1e-3 for SGD-HD, 1e-7 for Adam-HD).
    hypergradient_rate: float = 0.0

    def __post_init__(self) -> None:
        where = "training"
        check_choice(where, "dataset", self.dataset, DATASETS)
        check_range(where, "hypergradient rate", self.hypergradient_rate, 0.0, 1.0)
        check_int(where, "learned optimizer run", self.learned_optimizer_run, 0, 2**31 - 1)
        if self.optimizer == "learned" and not self.learned_optimizer_run:
            raise ConfigError(f"{where}: the learned optimizer needs a finished learned-optimizer run to take "
                              "it from; train one with run kind 'learned optimizer' first")
        if not isinstance(self.jit_compile, bool):
            raise ConfigError(f"{where}: jit compile must be true or false")
        check_int(where, "epochs", self.epochs, 1, 500)
        check_int(where, "batch size", self.batch_size, 1, 8192)
        check_choice(where, "optimizer", self.optimizer, OPTIMIZERS)
        check_range(where, "learning rate", self.learning_rate, 1e-7, 100.0)
        check_choice(where, "learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        check_range(where, "validation split", self.validation_split, 0.0, 0.5)
        check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.scale_pixels, bool):
            raise ConfigError(f"{where}: scale pixels must be true or false")
        check_int(where, "train limit", self.train_limit, 0, 10_000_000)
        check_int(where, "test limit", self.test_limit, 0, 10_000_000)
        if 0 < self.train_limit < 20:
            raise ConfigError(f"{where}: train limit must be 0 (all) or at least 20, got {self.train_limit}")


def seed_network() -> NetworkConfig:
    """The seed's network: Flatten, Dense(128, relu) (the builder adds Dense(10, softmax))."""
    return NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=128)))


def _nothing(config: Any) -> None:
    return None


@dataclass(frozen=True)
class KindSchema:
    """What a run config knows of a run kind: its own section and its checks.

    Every run kind (:class:`metalearn_core.kinds.kind.RunKind` extends this) registers itself with
    :func:`register_kind`; a :class:`RunConfig` looks its kind up here. The kinds sit above this
    module, so they hand themselves down rather than being imported from here.

    Args:
        name: the kind's name, stored with every run ("base").
        section: the key of the kind's own settings in the JSON ("fewshot"); "" for none.
        section_class: the frozen dataclass of those settings (``RunConfig.settings``).
        uses: the parts of a run config the kind reads ("base", "meta", "training", its section);
            the others do not tell two of its runs apart and are not saved while at their defaults.
        check: raises ConfigError for a whole run config this kind cannot run.
        accepts_learned_optimizer: its network may be trained by a learned optimizer.
        meta_reads_base_outputs: its meta network reads the base learners' outputs (a flat input).
    """

    name: str
    section: str = ""
    section_class: type | None = None
    uses: tuple[str, ...] = ("base", "training")
    check: Callable[[Any], None] = _nothing
    accepts_learned_optimizer: bool = False
    meta_reads_base_outputs: bool = False


_KINDS: dict[str, KindSchema] = {}


def register_kind(kind: KindSchema) -> None:
    """Make ``kind`` known to run configs (its name must be new, or the same object again)."""
    if _KINDS.get(kind.name, kind) is not kind:
        raise ValueError(f"a run kind called {kind.name!r} is already registered")
    _KINDS[kind.name] = kind


def unregister_kind(name: str) -> None:
    """Forget a kind (tests that register a toy kind clean up with this)."""
    _KINDS.pop(name, None)


def kind_schema(name: Any) -> KindSchema:
    """The registered kind called ``name``, or ConfigError listing the kinds."""
    if not isinstance(name, str) or name not in _KINDS:
        raise ConfigError(f"run: kind must be one of {', '.join(_KINDS)}, got {name!r}")
    return _KINDS[name]


# Version 1 (no "version" key) stored every kind's section in every run; version 2 stores the run's
# own section only, and the common parts its kind does not use only where they differ from their defaults.
CONFIG_VERSION = 2
_COMMON = ("base", "meta", "training")


def _common_defaults() -> dict[str, Any]:
    return {"base": seed_network(), "meta": NetworkConfig(), "training": TrainingConfig()}


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to reproduce a run: its kind, name, networks, training and the kind's own
    settings; stored as JSON with the run.

    Args:
        kind: a registered run kind's name (:mod:`metalearn_core.kinds`).
        name: the run's name, text of at most 200 characters.
        base: the base network f_θ.
        meta: the meta network m_φ (kinds that have one).
        training: how the network is trained.
        settings: the kind's own section (its ``section_class``); None gives its defaults, and a kind
            without a section has None.

    Example:
        >>> from metalearn_core.kinds.fewshot.config import FewShotConfig
        >>> RunConfig(kind="fewshot", settings=FewShotConfig(algorithm="maml")).settings.algorithm
        'maml'
        >>> sorted(RunConfig().to_dict())
        ['base', 'kind', 'name', 'training', 'version']
    """

    kind: str = "base"
    name: str = ""
    base: NetworkConfig = dataclasses.field(default_factory=seed_network)
    meta: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    settings: Any = None

    def __post_init__(self) -> None:
        spec = kind_schema(self.kind)
        for part, expected in (("base", NetworkConfig), ("meta", NetworkConfig), ("training", TrainingConfig)):
            if not isinstance(getattr(self, part), expected):
                raise ConfigError(f"run config: {part} must be a {expected.__name__}, got {getattr(self, part)!r}")
        if spec.section_class is None:
            if self.settings is not None:
                raise ConfigError(f"run config: a {self.kind} run has no settings of its own, got {self.settings!r}")
        elif self.settings is None:
            object.__setattr__(self, "settings", spec.section_class())
        elif not isinstance(self.settings, spec.section_class):
            raise ConfigError(f"run config: a {self.kind} run's {spec.section} settings must be a "
                              f"{spec.section_class.__name__}, got {type(self.settings).__name__}")
        self._validate(spec)

    def _validate(self, spec: KindSchema) -> None:
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError("run: name must be text of at most 200 characters")
        if has_control_characters(self.name):
            raise ConfigError("run: name cannot hold control characters (newlines, tabs, terminal escape codes)")
        self.base.validate("base network")
        if self.training.optimizer == "learned" and not spec.accepts_learned_optimizer:
            raise ConfigError("training: a learned optimizer trains base runs only")
        spec.check(self)
        lstm_meta = any(layer.type == "lstm" for layer in self.meta.layers)
        if self.training.optimizer != "learned" and (spec.meta_reads_base_outputs or not lstm_meta):
            self.meta.validate("meta network", image_input=False)

    @property
    def section(self) -> str:
        """The JSON key of this kind's own settings ("" for a kind without any)."""
        return kind_schema(self.kind).section

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the parts its kind uses, the others only where they are not the defaults."""
        spec = kind_schema(self.kind)
        defaults = _common_defaults()
        out: dict[str, Any] = {"version": CONFIG_VERSION, "kind": self.kind, "name": self.name}
        for part in _COMMON:
            value = getattr(self, part)
            if part in spec.uses or value != defaults[part]:
                out[part] = dataclasses.asdict(value) if part == "training" else value.to_dict()
        if spec.section:
            out[spec.section] = _section_to_dict(self.settings)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Build a config from parsed JSON of any version; unknown or wrongly typed fields raise ConfigError.

        A version-1 JSON (every kind's section in every run) gives its own kind's section and
        leaves the others, which that kind never read."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        version = data.get("version", 1)
        if version not in (1, CONFIG_VERSION):
            raise ConfigError(f"run config: version {version!r} is not one this lab reads (1 or {CONFIG_VERSION}); "
                              "it may come from a newer version of the lab")
        spec = kind_schema(data.get("kind", "base"))
        known = {"version", "kind", "name", *_COMMON, *([spec.section] if spec.section else [])}
        if version == 1:
            known |= {kind.section for kind in _KINDS.values() if kind.section}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"run config: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(
                kind=spec.name,
                name=data.get("name", ""),
                base=NetworkConfig.from_dict(data["base"]) if "base" in data else seed_network(),
                meta=NetworkConfig.from_dict(data.get("meta", {})),
                training=TrainingConfig(**data.get("training", {})),
                settings=_section_from_dict(spec.section_class, data[spec.section], version)
                if spec.section and spec.section in data else None,
            )
        except TypeError as error:  # an unknown keyword or a list where an object belongs
            raise ConfigError(f"run config: {error}") from None
        except AttributeError as error:
            raise ConfigError(f"run config: wrong structure ({error})") from None

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> RunConfig:
        """Parse JSON text; ``source`` (a file name) is named in the error message."""
        try:
            data = load_json(text, source)
        except InputError as error:
            raise ConfigError(str(error)) from None
        try:
            return cls.from_dict(data)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some parts changed: ``config.replace(name="x")``. A new ``kind`` without new
        ``settings`` starts from that kind's default settings."""
        unknown = sorted(set(changes) - {field.name for field in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"run config: unknown field(s) {', '.join(unknown)}")
        if changes.get("kind", self.kind) != self.kind and "settings" not in changes:
            changes["settings"] = None
        return dataclasses.replace(self, **changes)


def _section_from_dict(section_class: type, data: Any, version: int = CONFIG_VERSION) -> Any:
    """A kind's section from its JSON; a section class with ``upgrade(data, version)`` first fills in
    what a save of an older version meant by the fields it lacks."""
    if not isinstance(data, dict):
        raise ConfigError(f"run config: a section must be an object, got {data!r}")
    upgrade = getattr(section_class, "upgrade", None)
    if upgrade is not None and version < CONFIG_VERSION:
        data = upgrade(data, version)
    from_dict = getattr(section_class, "from_dict", None)
    return from_dict(data) if from_dict else section_class(**data)


def _section_to_dict(section: Any) -> dict[str, Any]:
    return section.to_dict() if hasattr(section, "to_dict") else dataclasses.asdict(section)
