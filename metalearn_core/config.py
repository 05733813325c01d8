"""Run configuration: frozen, validated dataclasses with a JSON round trip.

One dataclass per concern: a layer, a network (an ordered list of layers), the training settings
and the run that ties them together; each run kind adds its own section
(``metalearn_core/kinds/<kind>/config.py``), found through the registry. Every dataclass validates itself at
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
    # The domain the network learns and is tested on (DATASETS).
    dataset: str = "mnist"
    # With a hypergradient optimizer: beta, the learning rate of the learning rate; 0 = the paper's
    # default for that optimizer (1e-3 for SGD-HD, 1e-7 for Adam-HD).
    hypergradient_rate: float = 0.0

    def __post_init__(self) -> None:
        where = "training"
        _check_choice(where, "dataset", self.dataset, DATASETS)
        _check_range(where, "hypergradient rate", self.hypergradient_rate, 0.0, 1.0)
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


def seed_network() -> NetworkConfig:
    """The seed's network: Flatten, Dense(128, relu) (the builder adds Dense(10, softmax))."""
    return NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=128)))


def _run_kind(name: Any):
    """The registered kind called ``name``, or ConfigError listing the kinds."""
    from metalearn_core import kinds  # the registry table; it imports a kind only when asked

    try:
        return kinds.get(name)
    except (kinds.UnknownKind, TypeError):
        raise ConfigError(f"run: kind must be one of {', '.join(kinds.names())}, got {name!r}") from None


def _section_from_dict(section_class: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"run config: a section must be an object, got {data!r}")
    from_dict = getattr(section_class, "from_dict", None)
    return from_dict(data) if from_dict else section_class(**data)


def _section_to_dict(section: Any) -> dict[str, Any]:
    return section.to_dict() if hasattr(section, "to_dict") else dataclasses.asdict(section)


class RunConfig:
    """Everything needed to reproduce a run; stored as JSON with the run.

    Every run has a kind, a name, a base network, a meta network and training settings; each
    registered kind (:mod:`metalearn_core.kinds`) adds its own section, read as an attribute
    (``config.fewshot``, ``config.stacking``) and stored under its name in the JSON. A run config
    carries every kind's section (the defaults where none is given), so switching kinds in the
    editor loses nothing and runs of different kinds compare setting by setting. Immutable:
    :meth:`replace` returns a changed copy.

    Example:
        >>> from metalearn_core.kinds.fewshot.config import FewShotConfig
        >>> RunConfig(kind="fewshot", fewshot=FewShotConfig(algorithm="maml")).fewshot.algorithm
        'maml'
    """

    __slots__ = ("kind", "name", "base", "meta", "training", "_sections")

    def __init__(self, kind: str = "base", name: str = "", base: NetworkConfig | None = None,
                 meta: NetworkConfig | None = None, training: TrainingConfig | None = None,
                 **sections: Any) -> None:
        spec = _run_kind(kind)
        known = _kind_sections()
        unknown = sorted(set(sections) - set(known))
        if unknown:
            raise ConfigError(f"run config: unknown section(s) {', '.join(unknown)}; "
                              f"the sections are {', '.join(known)}")
        values = {section: sections.get(section) or section_class() for section, section_class in known.items()}
        for section, value in values.items():
            if not isinstance(value, known[section]):
                raise ConfigError(f"run config: {section} must be a {known[section].__name__}, got {value!r}")
        for attribute, value in (("kind", kind), ("name", name), ("base", base or seed_network()),
                                 ("meta", meta or NetworkConfig()), ("training", training or TrainingConfig()),
                                 ("_sections", values)):
            object.__setattr__(self, attribute, value)
        self._validate(spec)

    def _validate(self, spec: Any) -> None:
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

    def __getattr__(self, name: str) -> Any:
        try:
            return object.__getattribute__(self, "_sections")[name]
        except (KeyError, AttributeError):
            raise AttributeError(f"RunConfig has no attribute or section {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def _key(self) -> tuple:
        return (self.kind, self.name, self.base, self.meta, self.training, tuple(self._sections.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunConfig) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        sections = ", ".join(f"{name}={value!r}" for name, value in self._sections.items())
        return (f"RunConfig(kind={self.kind!r}, name={self.name!r}, base={self.base!r}, meta={self.meta!r}, "
                f"training={self.training!r}, {sections})")

    def __reduce__(self):  # pickle and copy.deepcopy go through the JSON form (__setattr__ refuses)
        return (RunConfig.from_dict, (self.to_dict(),))

    @property
    def sections(self) -> dict[str, Any]:
        """Each kind's section by name (a copy)."""
        return dict(self._sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "base": self.base.to_dict(),
            "meta": self.meta.to_dict(),
            "training": dataclasses.asdict(self.training),
            **{name: _section_to_dict(value) for name, value in self._sections.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """Build a config from parsed JSON; unknown or wrongly typed fields raise ConfigError.

        A JSON without some kind's section (written before that kind existed) gets its defaults."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, got {type(data).__name__}")
        known = {"kind", "name", "base", "meta", "training", *_kind_sections()}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"run config: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(
                kind=data.get("kind", "base"),
                name=data.get("name", ""),
                base=NetworkConfig.from_dict(data["base"]) if "base" in data else seed_network(),
                meta=NetworkConfig.from_dict(data.get("meta", {})),
                training=TrainingConfig(**data.get("training", {})),
                **{name: _section_from_dict(section_class, data[name])
                   for name, section_class in _kind_sections().items() if name in data},
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
        """A copy with some parts changed: ``config.replace(name="x", fewshot=FewShotConfig())``."""
        values = {"kind": self.kind, "name": self.name, "base": self.base, "meta": self.meta,
                  "training": self.training, **self._sections}
        unknown = sorted(set(changes) - set(values))
        if unknown:
            raise ConfigError(f"run config: unknown field(s) {', '.join(unknown)}")
        return RunConfig(**{**values, **changes})


def _kind_sections() -> dict[str, type]:
    from metalearn_core import kinds

    return kinds.sections()
