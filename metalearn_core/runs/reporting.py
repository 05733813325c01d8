"""What a run kind reports while it trains and what it returns: plain objects, free of TensorFlow.

Every kind's ``run`` entry receives a :class:`Reporter` (the worker's writes to the store, a
terminal printer or a test's list) and returns a :class:`RunResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _ignore(*_args: Any) -> None:
    return None


@dataclass
class Reporter:
    """Where training reports go: plain functions, so a store, a terminal or a test can listen."""

    on_epoch: Callable[[str, int, dict[str, float]], None] = _ignore
    on_progress: Callable[[dict[str, Any]], None] = _ignore
    # (series, epoch, one dict per weighted layer: layer, weight_norm, gradient_norm, edges, counts);
    # epoch 0 is the network before training. See metalearn_core.models.layer_statistics.
    on_layer_stats: Callable[[str, int, list[dict[str, Any]]], None] = _ignore

    @property
    def wants_layer_stats(self) -> bool:
        """True when someone listens to layer statistics: they are computed only then."""
        return self.on_layer_stats is not _ignore


@dataclass
class RunResult:
    """What a run produced: its final status, a summary for the store and its evaluation."""

    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    evaluation: Any = None  # a metalearn_core.models.evaluation.Evaluation
    message: str = ""
