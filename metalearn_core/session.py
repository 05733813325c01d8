"""Pure helpers behind the dashboard's widgets: layer-list editing, configs in URLs, live progress.

They hold no Streamlit code, so the pages stay layout only and these are unit-tested.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import zlib
from dataclasses import dataclass

from metalearn_core import kinds
from metalearn_core.config import (
    LAYER_TYPES,
    ConfigError,
    LayerConfig,
    NetworkConfig,
    RunConfig,
    TrainingConfig,
)
from metalearn_core.runs.store import Run
from metalearn_core.safe_input import InputError, inflate, load_json

URL_KEY = "config"
MAX_TOKEN_LENGTH = 200_000  # a real config's token is under 2,000 characters


# -- layer lists ------------------------------------------------------------------------------
def add_layer(layers: list[LayerConfig], layer_type: str, index: int | None = None) -> list[LayerConfig]:
    """A copy of ``layers`` with a default layer of ``layer_type`` inserted (appended by default)."""
    if layer_type not in LAYER_TYPES:
        raise ConfigError(f"unknown layer type {layer_type!r}; choose one of {', '.join(LAYER_TYPES)}")
    result = list(layers)
    result.insert(len(result) if index is None else index, LayerConfig(layer_type))
    return result


def remove_layer(layers: list[LayerConfig], index: int) -> list[LayerConfig]:
    return [layer for position, layer in enumerate(layers) if position != index]


def move_layer(layers: list[LayerConfig], index: int, offset: int) -> list[LayerConfig]:
    """Move one layer up (offset -1) or down (+1); moves past either end are ignored."""
    target = index + offset
    result = list(layers)
    if 0 <= index < len(result) and 0 <= target < len(result):
        result[index], result[target] = result[target], result[index]
    return result


def replace_layer(layers: list[LayerConfig], index: int, **changes) -> list[LayerConfig]:
    result = list(layers)
    result[index] = dataclasses.replace(result[index], **changes)
    return result


def assemble_config(kind: str, name: str, base: NetworkConfig, meta: NetworkConfig, training: dict,
                    sections: dict[str, dict] | None = None) -> RunConfig:
    """One RunConfig from the Train page's widget values; ``sections`` holds the values of the
    kind's own config section by its name ({"stacking": {...}}). Any problem raises one ConfigError
    whose message starts with the section it concerns ("training: ...", "stacking: ...")."""
    spec = kinds.get(kind)
    values = (sections or {}).get(spec.section) if spec.section else None
    settings = spec.section_class(**values) if values else None
    return RunConfig(kind=kind, name=name.strip(), base=base, meta=meta, training=TrainingConfig(**training),
                     settings=settings)


# -- configs in URLs --------------------------------------------------------------------------
def config_to_token(config: RunConfig) -> str:
    """A compact, URL-safe token of the whole config (deflated JSON in base64url).

    Example:
        >>> token_to_config(config_to_token(RunConfig())) == RunConfig()
        True
    """
    packed = zlib.compress(json.dumps(config.to_dict(), separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def token_to_config(token: str) -> RunConfig:
    """The config behind a URL token; a damaged token raises ConfigError."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise ConfigError(f"the configuration in the link is too long ({len(token):,} characters)")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError as error:
        raise ConfigError(f"the configuration in the link is damaged ({type(error).__name__})") from None
    try:
        data = load_json(inflate(packed, "configuration in the link"), "the configuration in the link")
    except InputError as error:
        raise ConfigError(str(error)) from None
    return RunConfig.from_dict(data)


# -- live progress ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgressView:
    """What a progress bar shows for a run."""

    fraction: float  # 0..1
    label: str
    elapsed: float  # seconds since the run started
    remaining: float | None  # seconds, None while unknown


def _series_plan(config: RunConfig) -> list[tuple[str, int]]:
    """The (series, epochs) a run will go through, in order, for its overall progress."""
    plan = kinds.get(config.kind).series_plan
    return plan(config) if plan else [("train", config.training.epochs)]


def progress_view(run: Run, now: float | None = None) -> ProgressView:
    """Overall progress, a label and an estimate of the time left, from the run's live progress."""
    now = time.time() if now is None else now
    elapsed = now - run.started_at if run.started_at else 0.0
    if run.status == "queued":
        return ProgressView(0.0, "queued: waiting for the run before it to finish", 0.0, None)
    if not run.is_active:
        return ProgressView(1.0 if run.status == "completed" else 0.0, run.status, elapsed, 0.0)
    progress = run.progress
    if not progress:
        return ProgressView(0.0, "starting: loading TensorFlow and MNIST", elapsed, None)
    if "fraction" in progress:  # runs that know their own overall progress (few-shot)
        fraction = min(max(float(progress["fraction"]), 0.0), 0.999)
        remaining = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
        return ProgressView(fraction, str(progress.get("label", "working")), elapsed, remaining)
    try:
        plan = _series_plan(run.config)
    except ConfigError:
        plan = [(progress.get("series", "train"), progress.get("epochs") or 1)]
    names = [name for name, _ in plan]
    series = progress.get("series", names[0])
    position = names.index(series) if series in names else 0
    total = sum(epochs for _, epochs in plan)
    done_before = sum(epochs for _, epochs in plan[:position])
    batches = progress.get("batches") or 0
    within = (max(progress.get("epoch", 1) - 1, 0) + (progress.get("batch", 0) / batches if batches else 0))
    fraction = min(max((done_before + within) / total, 0.0), 0.999)
    if progress.get("batch") is None:
        label = f"{series}: {progress.get('phase', 'working')}"
    else:
        label = f"{series}: epoch {progress.get('epoch')}/{progress.get('epochs')}, batch {progress.get('batch')}/{batches}"
    remaining = elapsed * (1 - fraction) / fraction if fraction > 0.02 else None
    return ProgressView(fraction, label, elapsed, remaining)


def format_seconds(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; None -> ``"estimating…"``."""
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
