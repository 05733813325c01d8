"""What every executor offers: launch a stored run, cancel it, keep a warm worker, say how many
runs it trains at once. Kept apart from the registry so that executors import it without a cycle."""

from __future__ import annotations

import os

from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunStore


class Executor:
    """Where runs train. A run is stored first (``queued``), then handed to the executor, which
    records itself on the run (``store.set_executor``) so that a cancel from any process reaches
    the run the same way."""

    name = ""

    def launch(self, store: RunStore, config: RunConfig, mnist_path: str | os.PathLike | None = None,
               use_spare: bool = True, tags: list[str] | None = None, owner: str = "") -> int:
        """Queue ``config`` as a new run and start it (or queue it to start); returns the run id."""
        raise NotImplementedError

    def cancel(self, store: RunStore, run_id: int, reason: str = "") -> str:
        """Ask the run to stop, keeping its metrics; returns its status after asking."""
        raise NotImplementedError

    def ensure_spare(self, store: RunStore, mnist_path: str | os.PathLike | None = None,
                     while_training: bool = False) -> bool:
        """Start a warm worker if this executor has such a thing; True if one was started."""
        return False

    def capacity(self, store: RunStore) -> int:
        """How many runs train at once: the number of a sweep's trials worth keeping in flight."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name
