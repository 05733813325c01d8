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


@dataclass
class RunResult:
    """What a run produced: its final status, a summary for the store and its evaluation."""

    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    evaluation: Any = None  # a metalearn_core.models.evaluation.Evaluation
    message: str = ""
