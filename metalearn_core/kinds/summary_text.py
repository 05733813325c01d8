"""Formatting a run's summary for the command line, whatever the summary holds.

Each kind's ``cli.py`` has ``summary_lines(summary) -> list[str]``: the lines ``runs show`` and
``train`` print for one of its runs. A summary comes from the run store and may be an interrupted
run's (empty), an older version's (keys missing) or a damaged store's (a text where a number
should be): these helpers give None for a value they cannot show, and :func:`line` leaves it out,
so a line only ever holds what the summary really says.

Example:
    >>> line(("test accuracy", percent(0.9712)), ("test loss", number("abc")))
    ['test accuracy 97.12%']
    >>> line(("test loss", number(None)))
    []
"""

from __future__ import annotations

import math
from typing import Any


def _real(value: Any) -> float | None:
    """``value`` when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def percent(value: Any) -> str | None:
    """A fraction as a percentage, "97.12%"."""
    real = _real(value)
    return None if real is None else f"{100 * real:.2f}%"


def number(value: Any, spec: str = ".4f") -> str | None:
    """A number in ``spec`` ("0.2556")."""
    real = _real(value)
    return None if real is None else format(real, spec)


def count(value: Any) -> str | None:
    """A whole number with thousands separators ("1,200")."""
    real = _real(value)
    return None if real is None or not real.is_integer() else f"{int(real):,}"


def seconds(value: Any) -> str | None:
    """A duration, "12.3 s"."""
    real = _real(value)
    return None if real is None or real < 0 else f"{real:.1f} s"


def text(value: Any) -> str | None:
    """A short text (a name or a label); numbers are shown too, anything else is not."""
    if isinstance(value, str) and value:
        return value
    return None if _real(value) is None else str(value)


def line(*parts: tuple[str, str | None], prefix: str = "") -> list[str]:
    """``["label value  label value"]`` for the parts whose value is not None; ``[]`` when none is."""
    shown = [f"{label} {value}".strip() for label, value in parts if value is not None]
    return [prefix + "  ".join(shown)] if shown else []


def generic_lines(summary: Any) -> list[str]:
    """For a kind that says nothing of its summary (an unknown kind's run): its numbers and texts, one
    ``key: value`` each, in the summary's order."""
    if not isinstance(summary, dict):
        return []
    lines = []
    for key, value in summary.items():
        shown = number(value, ".6g") if not isinstance(value, str) else text(value)
        if shown is not None and key not in ("data", "timing"):
            lines.append(f"{key}: {shown}")
    return lines
