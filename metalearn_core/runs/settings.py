"""Where things live: the data home (run store) and the data files, from arguments or environment.

``METALEARN_HOME`` overrides the data home (default ``~/.metalearn``), ``METALEARN_MNIST`` points
the loader at an ``mnist.npz`` file, ``METALEARN_FASHION_MNIST`` at Fashion-MNIST (a folder with
its four IDX ``.gz`` files, or an ``.npz``), and ``METALEARN_MAX_RUNS`` sets how many runs train at once
(default 1, so two cores are never oversubscribed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process."""

    home: Path
    mnist_path: Path | None
    fashion_path: Path | None
    max_concurrent_runs: int


def get_settings(home: str | os.PathLike | None = None, mnist: str | os.PathLike | None = None,
                 fashion: str | os.PathLike | None = None) -> Settings:
    """Resolve settings: explicit arguments first, then environment variables, then defaults.

    Example:
        >>> get_settings(home="/tmp/x").home
        PosixPath('/tmp/x')
    """
    home_value = home or os.environ.get("METALEARN_HOME") or Path.home() / ".metalearn"
    mnist_value = mnist or os.environ.get("METALEARN_MNIST") or None
    fashion_value = fashion or os.environ.get("METALEARN_FASHION_MNIST") or None
    try:
        max_runs = int(os.environ.get("METALEARN_MAX_RUNS", "1"))
    except ValueError:
        raise ValueError(
            f"METALEARN_MAX_RUNS must be a whole number, got {os.environ['METALEARN_MAX_RUNS']!r}"
        ) from None
    if not 1 <= max_runs <= 64:
        raise ValueError(f"METALEARN_MAX_RUNS must be between 1 and 64, got {max_runs}")
    return Settings(
        home=Path(home_value).expanduser(),
        mnist_path=Path(mnist_value).expanduser() if mnist_value else None,
        fashion_path=Path(fashion_value).expanduser() if fashion_value else None,
        max_concurrent_runs=max_runs,
    )
