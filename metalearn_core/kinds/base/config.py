"""The ``base`` kind has no section of its own: it reads the base network and the training settings."""

from __future__ import annotations

from typing import Any

from metalearn_core.kinds.learned_optimizer.config import optimizee_shape


def check(config: Any) -> None:
    """With optimizer "learned", the base network must be one a learned optimizer can train."""
    if config.training.optimizer == "learned":
        optimizee_shape(config.base)


def describe(config: Any) -> str:
    return " → ".join(layer.describe() for layer in config.base.layers) or "no hidden layers"
