"""Where things live: the data home (run store) and the data files, from arguments or environment.

``METALEARN_HOME`` overrides the data home (default ``~/.metalearn``), ``METALEARN_MNIST`` points
the loader at an ``mnist.npz`` file, ``METALEARN_FASHION_MNIST`` at Fashion-MNIST (a folder with
its four IDX ``.gz`` files, or an ``.npz``), ``METALEARN_MAX_RUNS`` sets how many runs train at once
(default 1, so two cores are never oversubscribed) and ``METALEARN_DASK`` names a Dask scheduler
(``tcp://scheduler:8786``) that trains the runs instead of local processes (see
:mod:`metalearn_core.executors`).
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
    dask_address: str | None = None  # METALEARN_DASK: runs become tasks on this Dask scheduler
    max_runs_set: bool = False  # METALEARN_MAX_RUNS was given (a Dask sweep then keeps to it)

    @property
    def executor(self) -> str:
        """The executor that new runs go to: ``dask`` when a scheduler is named, else ``local``."""
        return "dask" if self.dask_address else "local"


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
    dask_address = os.environ.get("METALEARN_DASK", "").strip() or None
    if dask_address and "://" not in dask_address:
        dask_address = f"tcp://{dask_address}"  # host:port, as `dask scheduler` prints it without the scheme
    return Settings(
        home=Path(home_value).expanduser(),
        mnist_path=Path(mnist_value).expanduser() if mnist_value else None,
        fashion_path=Path(fashion_value).expanduser() if fashion_value else None,
        max_concurrent_runs=max_runs,
        dask_address=dask_address,
        max_runs_set=bool(os.environ.get("METALEARN_MAX_RUNS")),
    )
