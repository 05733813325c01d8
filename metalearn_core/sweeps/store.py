"""Where sweeps live: a folder per sweep under ``<home>/sweeps/<id>/``, beside the runs.

Each folder holds the definition (``sweep.json``), the controller's state (``state.json``: status,
times, the trials' count, written atomically), the Optuna study (``study.journal``, Optuna's
journal file storage, never our runs database), the controller's log and its lock. A controller
holds an exclusive ``flock`` on ``controller.lock`` while it lives, so a sweep whose controller
died, however it died, reads as ``interrupted`` and can be resumed. The trials themselves are
ordinary runs in the run store, tagged ``sweep:<id>`` and ``trial:<number>``.

Example:
    >>> sweeps = SweepStore("/tmp/metalearn-demo")  # doctest: +SKIP
    >>> [sweep.status for sweep in sweeps.list()]  # doctest: +SKIP
    ['running', 'completed']
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metalearn_core.config import ConfigError
from metalearn_core.runs.store import lock_held
from metalearn_core.safe_input import InputError, read_json_file
from metalearn_core.sweeps.config import SweepConfig

SWEEP_STATUSES = ("queued", "running", "completed", "cancelled", "failed", "interrupted")
SWEEP_ACTIVE = ("queued", "running")
START_GRACE_SECONDS = 60.0  # a queued sweep whose controller never took its lock after this long is interrupted


class SweepNotFound(KeyError):
    """No sweep has that id."""

    def __str__(self) -> str:
        return f"no sweep with id {self.args[0]}"


def sweep_tag(sweep_id: int) -> str:
    return f"sweep:{sweep_id}"


def trial_tag(number: int) -> str:
    return f"trial:{number}"


@dataclass
class Sweep:
    """One sweep as read from its folder."""

    id: int
    folder: Path
    config_json: str
    state: dict[str, Any]

    @property
    def config(self) -> SweepConfig:
        return SweepConfig.from_json(self.config_json, source=f"sweep {self.id}")

    @property
    def status(self) -> str:
        return self.state.get("status", "queued")

    @property
    def is_active(self) -> bool:
        return self.status in SWEEP_ACTIVE

    @property
    def name(self) -> str:
        return self.state.get("name") or f"sweep-{self.id}"

    @property
    def owner(self) -> str:
        """Who launched it in classroom mode (empty otherwise); its trials are that person's runs."""
        return self.state.get("owner", "")

    @property
    def journal_path(self) -> Path:
        return self.folder / "study.journal"

    @property
    def lock_path(self) -> Path:
        return self.folder / "controller.lock"


class SweepStore:
    """Sweeps under ``<home>/sweeps``; any number of processes may read while one controller writes each."""

    def __init__(self, home: str | os.PathLike) -> None:
        self.home = Path(home).expanduser()
        self.root = self.home / "sweeps"
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, sweep_id: int) -> Path:
        return self.root / str(sweep_id)

    def create(self, config: SweepConfig, owner: str = "") -> int:
        """Store a new queued sweep (of ``owner``, the signed-in person in classroom mode) and return
        its id (the next free number, taken atomically)."""
        existing = [int(path.name) for path in self.root.iterdir() if path.name.isdigit()]
        sweep_id = max(existing, default=0) + 1
        while True:
            try:
                self.folder(sweep_id).mkdir()
                break
            except FileExistsError:  # another process took that number meanwhile
                sweep_id += 1
        folder = self.folder(sweep_id)
        (folder / "sweep.json").write_text(config.to_json())
        self._write_state(sweep_id, {"status": "queued", "name": config.name or f"sweep-{sweep_id}",
                                     "created_at": time.time(), "kind": config.base.kind, "owner": owner or ""})
        return sweep_id

    def _write_state(self, sweep_id: int, state: dict[str, Any]) -> None:
        path = self.folder(sweep_id) / "state.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, path)  # readers see the old state or the new one, never half of one

    def update_state(self, sweep_id: int, **items: Any) -> dict[str, Any]:
        """Merge items into the state (only the sweep's controller, or a cleanup of a dead one, writes)."""
        state = {**self._read_state(sweep_id), **items}
        self._write_state(sweep_id, state)
        return state

    def _read_state(self, sweep_id: int) -> dict[str, Any]:
        path = self.folder(sweep_id) / "state.json"
        for _ in range(5):
            if not path.exists():
                raise SweepNotFound(sweep_id)
            try:
                state = read_json_file(path, f"sweep {sweep_id}: state.json")
            except InputError:
                time.sleep(0.05)
                continue
            if isinstance(state, dict):
                return state
            break
        raise ConfigError(f"sweep {sweep_id}: its state.json is corrupted ({path})")

    def get(self, sweep_id: int) -> Sweep:
        """One sweep; a running sweep whose controller is gone reads as interrupted."""
        folder = self.folder(sweep_id)
        if not (folder / "sweep.json").exists():
            raise SweepNotFound(sweep_id)
        sweep = Sweep(sweep_id, folder, (folder / "sweep.json").read_text(), self._read_state(sweep_id))
        if sweep.is_active and not lock_held(sweep.lock_path):
            queued_at = sweep.state.get("queued_at") or sweep.state.get("created_at", 0)
            grace = sweep.status == "queued" and time.time() - queued_at < START_GRACE_SECONDS
            if not grace:
                sweep.state = self.update_state(sweep_id, status="interrupted")
        return sweep

    def list(self) -> list[Sweep]:
        """Every sweep, newest first (a folder that cannot be read is skipped)."""
        ids = sorted((int(path.name) for path in self.root.iterdir() if path.name.isdigit()), reverse=True)
        sweeps = []
        for sweep_id in ids:
            try:
                sweeps.append(self.get(sweep_id))
            except (SweepNotFound, ConfigError):
                continue
        return sweeps

    # -- cancelling ---------------------------------------------------------------------------
    def cancel_path(self, sweep_id: int) -> Path:
        return self.folder(sweep_id) / "cancel.request"

    def request_cancel(self, sweep_id: int) -> None:
        self.get(sweep_id)  # raises SweepNotFound
        self.cancel_path(sweep_id).write_text(str(time.time()))

    def cancel_requested(self, sweep_id: int) -> bool:
        return self.cancel_path(sweep_id).exists()

    def clear_cancel(self, sweep_id: int) -> None:
        self.cancel_path(sweep_id).unlink(missing_ok=True)
