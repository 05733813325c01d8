"""A sweep's search space: which settings of a run it varies, over what ranges, and how a sampled
point becomes a run config.

The settings a sweep of a kind can vary are those its ``RunKind.sweep`` hooks name (:func:`settings_of`):
the shared network and training ones, and the kind's own. A space maps their names to a dimension: a
range ``{"low": 32, "high": 512}``
(with ``"log": true`` to sample on a log scale, ``"step"`` for a grid of whole steps) or a list of
choices ``{"choices": ["adam", "sgd"]}`` (a bare list means the same). Every setting not in the
space keeps the value of the sweep's base config, the one the Train page or ``--config`` gives.

The network settings act on the base network's dense hidden layers: ``hidden_layers`` rebuilds
them (the layers before the first dense one, convolutions say, are kept), ``units`` sizes each of
them (``units_1``, ``units_2``... one sampled value per layer; one shared ``units`` in a grid),
``activation`` sets theirs and ``dropout`` the rate of every dropout layer, adding one after each
dense hidden layer when the network has none.

Example:
    >>> space = SearchSpace.from_dict({"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}})
    >>> space.apply(RunConfig(), {"learning_rate": 3e-3}).training.learning_rate
    0.003
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from metalearn_core import kinds
from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.sweep_hooks import NETWORK, TRAINING, Setting, SweepHooks

GRID_POINTS = 3  # values a grid takes of a range with no step: low, middle, high
MAX_STEPS = 10_000  # values one dimension may list or step through (units 1..4096 by 1 and batch sizes fit)
SHARED: dict[str, Setting] = {**NETWORK, **TRAINING}


def sweep_kinds() -> tuple[str, ...]:
    """The kinds a sweep can vary, in registry order: those with sweep hooks (their runs report a
    validation score per epoch or interval)."""
    return tuple(kind.name for kind in kinds.all_kinds() if kind.sweep is not None)


def hooks_of(kind: str) -> SweepHooks:
    """The sweep hooks of ``kind``; ConfigError when its runs cannot be swept."""
    hooks = kinds.get(kind).sweep if kind in kinds.names() else None
    if hooks is None:
        raise ConfigError(f"sweep: {kind} runs cannot be swept; a sweep searches "
                          f"{' or '.join(sweep_kinds())} runs, whose validation score it reads each epoch")
    return hooks


def settings_of(kind: str) -> dict[str, Setting]:
    """Every setting a sweep of ``kind`` can vary, by name, in the order a space lists them: the shared
    ones its runs use, then its own.

    Example:
        >>> list(settings_of("fewshot"))[-1]
        'meta_learning_rate'
    """
    hooks = hooks_of(kind)
    unknown = [name for name in hooks.shared if name not in SHARED]
    if unknown:
        raise ConfigError(f"sweep: the {kind} kind names shared settings there are none of: {', '.join(unknown)}")
    return {**{name: setting for name, setting in SHARED.items() if name in hooks.shared}, **hooks.settings}


@dataclass(frozen=True)
class Dimension:
    """The values one setting takes in a sweep: a range (``low``..``high``) or ``choices``."""

    name: str
    setting: Setting
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def is_range(self) -> bool:
        return not self.choices

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log, **({"step": self.step} if self.step else {})}

    def grid_values(self) -> list[Any]:
        """The values a grid sampler tries: the choices, every step, or low / middle / high."""
        if self.choices:
            return list(self.choices)
        low, high = float(self.low), float(self.high)
        if self.step:
            count = int(math.floor((high - low) / self.step + 1e-9)) + 1
            values = [low + index * self.step for index in range(count)]
        elif self.log:
            values = [low * (high / low) ** (index / (GRID_POINTS - 1)) for index in range(GRID_POINTS)]
        else:
            values = [low + (high - low) * index / (GRID_POINTS - 1) for index in range(GRID_POINTS)]
        if self.setting.type == "int":
            return sorted({int(round(value)) for value in values})
        return [float(f"{value:.6g}") for value in values]

    def values(self) -> list[Any] | None:
        """Every value a sampler can draw (choices, whole numbers, steps); None for a float range
        without a step, which has no end of them."""
        if self.choices:
            return list(self.choices)
        if self.setting.type == "float" and not self.step:
            return None
        step = self.step or 1
        count = int(math.floor((float(self.high) - float(self.low)) / step + 1e-9)) + 1
        return [self.low + index * step for index in range(count)]

    def describe(self) -> str:
        if self.choices:
            return ", ".join(map(str, self.choices))
        return f"{self.low:g} to {self.high:g}{' (log scale)' if self.log else ''}"


def _error(name: str, message: str) -> ConfigError:
    return ConfigError(f"sweep space: {name}: {message}")


def _unknown_setting(name: Any, kind: str) -> ConfigError:
    known = list(settings_of(kind))
    every = dict.fromkeys(setting for other in sweep_kinds() for setting in settings_of(other))
    close = difflib.get_close_matches(str(name), list(every), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"sweep space: unknown setting {_shown(name)}{hint}; a {kind} sweep can search "
                       f"{', '.join(known)}")


def _shown(value: Any, limit: int = 40) -> str:
    """``value``'s repr on one line, cut short: a message quotes what it refuses, never all of it."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, not NaN or infinite, not an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range
        return False


def _parse_number(name: str, which: str, value: Any, setting: Setting) -> float:
    if not _is_number(value):
        raise _error(name, f"{which} must be a number, got {_shown(value)}")
    if setting.type == "int" and value != int(value):
        raise _error(name, f"{which} must be a whole number, got {value!r}")
    if not setting.low <= value <= setting.high:
        raise _error(name, f"{which} must be between {setting.low:g} and {setting.high:g}, got {value:g}")
    return int(value) if setting.type == "int" else float(value)


def parse_dimension(name: str, spec: Any, kind: str = "base") -> Dimension:
    """One setting's dimension from its JSON form; ConfigError with a plain message when it is not one."""
    settings = settings_of(kind)
    if name not in settings:
        users = [other for other in sweep_kinds() if name in settings_of(other)]
        if users:
            raise _error(name, f"{kind} runs do not use this setting; it belongs to {' and '.join(users)} runs")
        raise _unknown_setting(name, kind)
    setting = settings[name]
    if isinstance(spec, (list, tuple)):
        spec = {"choices": list(spec)}
    if not isinstance(spec, Mapping):
        raise _error(name, f"give a range {{\"low\": .., \"high\": ..}} or {{\"choices\": [..]}}, "
                           f"got {_shown(spec)}")
    unknown = sorted(_shown(key) if not isinstance(key, str) else key
                     for key in spec if key not in ("low", "high", "log", "step", "choices"))
    if unknown:
        raise _error(name, f"unknown key(s) {', '.join(unknown)}; use low, high, log, step or choices")
    if "choices" in spec:
        return _parse_choices(name, spec["choices"], setting)
    if setting.type == "choice":
        raise _error(name, f"give a list of choices among {', '.join(map(str, setting.choices))}")
    if "low" not in spec or "high" not in spec:
        raise _error(name, "a range needs both low and high")
    low = _parse_number(name, "low", spec["low"], setting)
    high = _parse_number(name, "high", spec["high"], setting)
    if low > high:
        raise _error(name, f"empty range: low {low:g} is above high {high:g}")
    if low == high:
        raise _error(name, f"the range {low:g} to {high:g} holds one value: set it on the Train page "
                           "instead, or widen the range")
    log = spec.get("log", setting.log)
    if not isinstance(log, bool):
        raise _error(name, f"log must be true or false, got {_shown(log)}")
    if log and low <= 0:
        raise _error(name, f"a log-scale range must start above 0, got low {low:g} (set \"log\": false)")
    step = spec.get("step")
    if step is not None:
        if not _is_number(step) or step <= 0 or step > high - low:
            raise _error(name, f"step must be a number above 0 and at most high - low, got {_shown(step)}")
        if log:
            raise _error(name, "a range has either a step or a log scale, not both")
        if setting.type == "int" and step != int(step):
            raise _error(name, f"step must be a whole number, got {step!r}")
        if (high - low) / step + 1 > MAX_STEPS:
            raise _error(name, f"a step of {step:g} from {low:g} to {high:g} makes more than {MAX_STEPS:,} "
                               "values: take a larger step")
    return Dimension(name, setting, low, high, log, step)


def _parse_choices(name: str, values: Any, setting: Setting) -> Dimension:
    if not isinstance(values, (list, tuple)) or not values:
        raise _error(name, f"choices must be a non-empty list, got {_shown(values)}")
    if len(values) > MAX_STEPS:
        raise _error(name, f"too many choices ({len(values):,}; at most {MAX_STEPS:,})")
    for value in values:  # before they are compared: a list or an object cannot be a choice (nor a dict key)
        if not isinstance(value, (bool, int, float, str)):
            raise _error(name, f"choices must be numbers, strings or booleans, got {_shown(value)}")
    unique = list(dict.fromkeys(values))
    if len(unique) == 1:
        raise _error(name, f"a choice list with one value ({_shown(unique[0])}) is no search: set it on the Train "
                           "page instead, or add another value")
    for value in unique:
        if setting.type == "choice":
            if value not in setting.choices:
                raise _error(name, f"{_shown(value)} is not one of {', '.join(map(str, setting.choices))}")
        else:
            _parse_number(name, "each choice", value, setting)
    return Dimension(name, setting, choices=tuple(unique))


@dataclass(frozen=True)
class SearchSpace:
    """The settings a sweep of ``kind`` varies, by name, in a fixed order (that of :func:`settings_of`)."""

    dimensions: tuple[Dimension, ...]
    kind: str = "base"

    @classmethod
    def from_dict(cls, data: Any, kind: str = "base") -> SearchSpace:
        """Parse and validate a space for runs of ``kind``; ConfigError says what is wrong."""
        order = list(settings_of(kind))  # ConfigError for a kind that cannot be swept
        if not isinstance(data, Mapping):
            raise ConfigError(f"sweep space: must be a JSON object of setting: range or choices, got {_shown(data)}")
        if not data:
            raise ConfigError("sweep space: it is empty; choose at least one setting to search")
        dimensions = [parse_dimension(name, spec, kind) for name, spec in data.items()]
        return cls(tuple(sorted(dimensions, key=lambda dimension: order.index(dimension.name))), kind)

    def to_dict(self) -> dict[str, Any]:
        return {dimension.name: dimension.to_dict() for dimension in self.dimensions}

    def __contains__(self, name: str) -> bool:
        return any(dimension.name == name for dimension in self.dimensions)

    def get(self, name: str) -> Dimension | None:
        return next((dimension for dimension in self.dimensions if dimension.name == name), None)

    # -- sampling -----------------------------------------------------------------------------
    def sample(self, suggest: Callable[[Dimension, str], Any], base: RunConfig, shared_units: bool = False
               ) -> dict[str, Any]:
        """Draw one point: ``suggest(dimension, parameter_name)`` gives each value (an Optuna
        trial's ``suggest_*`` in :func:`optuna_suggest`). Units are drawn per hidden layer
        (``units_1``...), or once (``units``) when ``shared_units``."""
        params: dict[str, Any] = {}
        for dimension in self.dimensions:
            if dimension.name == "units" and not shared_units:
                layers = params.get("hidden_layers", len(_dense_positions(base.base.layers)))
                for index in range(1, int(layers) + 1):
                    params[f"units_{index}"] = suggest(dimension, f"units_{index}")
            else:
                params[dimension.name] = suggest(dimension, dimension.name)
        return params

    def grid(self) -> dict[str, list[Any]]:
        """The grid a grid sampler walks: every dimension's grid values (one shared ``units``)."""
        return {dimension.name: dimension.grid_values() for dimension in self.dimensions}

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def size(self, base: RunConfig, shared_units: bool = False) -> int | None:
        """How many distinct points :meth:`sample` can draw over ``base`` (units drawn per hidden
        layer unless ``shared_units``); None when a float range without a step makes it endless."""
        counts: dict[str, int] = {}
        layer_counts: list[Any] = [len(_dense_positions(base.base.layers))]
        for dimension in self.dimensions:
            values = dimension.values()
            if values is None:
                return None
            if dimension.name == "hidden_layers":
                layer_counts = values
            counts[dimension.name] = len(values)
        if "units" in counts and not shared_units:  # one units value per layer: u ** layers ways
            units = counts.pop("units")
            counts.pop("hidden_layers", None)
            counts["layers"] = sum(units ** int(layers) for layers in layer_counts)
        return math.prod(counts.values())

    # -- applying -----------------------------------------------------------------------------
    def apply(self, base: RunConfig, params: Mapping[str, Any]) -> RunConfig:
        """The run config of one sampled point: ``base`` with the sampled settings put in: the network's
        in its base network, the training loop's in ``config.training``, the kind's own by its hooks'
        ``apply``."""
        config = base.replace(base=_network_with(base.base, params))
        training_changes = {name: params[name] for name in TRAINING if name in params}
        if training_changes:
            config = config.replace(training=dataclasses.replace(config.training, **training_changes))
        hooks = hooks_of(self.kind)
        return hooks.apply(config, {name: params[name] for name in hooks.settings if name in params})

    def corners(self, base: RunConfig) -> list[dict[str, Any]]:
        """Points that together take every end of every range and every choice: applying each
        to the base config checks the whole space against the run's own rules."""
        points = []
        for dimension in self.dimensions:
            values = dimension.choices or (dimension.low, dimension.high)
            for value in values:
                point = {other.name: (other.choices[0] if other.choices else other.low) for other in self.dimensions}
                point[dimension.name] = value
                points.append(_with_layer_units(point, base))
        return points

    def check(self, base: RunConfig) -> None:
        """Raise ConfigError when some point of the space makes an invalid run of ``base``."""
        if base.kind != self.kind:
            raise ConfigError(f"sweep: the space is for {self.kind} runs but the base config is a {base.kind} run")
        if ("units" in self or "activation" in self) and "hidden_layers" not in self \
                and not _dense_positions(base.base.layers):
            raise ConfigError("sweep space: units and activation act on dense hidden layers, and the base "
                              "network has none: add one, or search hidden_layers too")
        for point in self.corners(base):
            try:
                self.apply(base, point)
            except ConfigError as error:
                shown = ", ".join(f"{name}={value}" for name, value in point.items())
                raise ConfigError(f"sweep space: the point {shown} makes an invalid run: {error}") from None


def _with_layer_units(point: dict[str, Any], base: RunConfig) -> dict[str, Any]:
    if "units" not in point:
        return point
    units = point.pop("units")
    layers = point.get("hidden_layers", len(_dense_positions(base.base.layers)))
    return {**point, **{f"units_{index}": units for index in range(1, int(layers) + 1)}}


def _dense_positions(layers: tuple[LayerConfig, ...]) -> list[int]:
    return [index for index, layer in enumerate(layers) if layer.type == "dense"]


def _layer_units(params: Mapping[str, Any], index: int, default: int) -> int:
    return int(params.get(f"units_{index}", params.get("units", default)))


def _network_with(network: NetworkConfig, params: Mapping[str, Any]) -> NetworkConfig:
    """The base network with the sampled network settings (see the module's docstring)."""
    layers = list(network.layers)
    dense = _dense_positions(network.layers)
    activation = params.get("activation")
    if "hidden_layers" in params:
        start = dense[0] if dense else len(layers)
        template = layers[start] if dense else LayerConfig("dense")
        prefix = layers[:start]
        if not any(layer.type == "flatten" for layer in prefix):
            prefix.append(LayerConfig("flatten"))
        dropouts = [layer for layer in layers[start:] if layer.type == "dropout"]
        hidden = []
        for index in range(1, int(params["hidden_layers"]) + 1):
            hidden.append(dataclasses.replace(template, units=_layer_units(params, index, template.units)))
            hidden.extend(dropouts[:1])  # the network's dense part had dropout: keep it after each layer
        layers = prefix + hidden
    else:
        for number, position in enumerate(dense, start=1):
            layers[position] = dataclasses.replace(
                layers[position], units=_layer_units(params, number, layers[position].units))
    if activation is not None:
        layers = [dataclasses.replace(layer, activation=activation) if layer.type == "dense" else layer
                  for layer in layers]
    if "dropout" in params:
        layers = _with_dropout(layers, float(params["dropout"]))
    return NetworkConfig(tuple(layers))


def _with_dropout(layers: list[LayerConfig], rate: float) -> list[LayerConfig]:
    """Every dropout layer at ``rate``; a dropout after each dense hidden layer when there is none."""
    if any(layer.type == "dropout" for layer in layers):
        return [dataclasses.replace(layer, rate=rate) if layer.type == "dropout" else layer for layer in layers]
    result = []
    for layer in layers:
        result.append(layer)
        if layer.type == "dense":
            result.append(LayerConfig("dropout", rate=rate))
    return result


def optuna_suggest(trial: Any) -> Callable[[Dimension, str], Any]:
    """A ``suggest`` for :meth:`SearchSpace.sample` over an Optuna trial."""

    def suggest(dimension: Dimension, name: str) -> Any:
        if dimension.choices:
            return trial.suggest_categorical(name, list(dimension.choices))
        if dimension.setting.type == "int":
            return trial.suggest_int(name, int(dimension.low), int(dimension.high), log=dimension.log,
                                     step=int(dimension.step or 1))
        return trial.suggest_float(name, float(dimension.low), float(dimension.high), log=dimension.log,
                                   step=dimension.step)

    return suggest
