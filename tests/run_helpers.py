"""Run configs and waits shared by the runner tests on both executors (local and Dask).

The waits come from ``tests/busy_machine.py``: a wait for a run lasts as long as its home makes
progress (see there), so that the tests hold on a busy machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from busy_machine import home_progress, processes_progress, scaled, wait_for, wait_until_done, wait_until_idle

from metalearn_core.config import RunConfig, TrainingConfig

__all__ = ["home_progress", "launch_at_once", "long_run", "scaled", "tiny", "training_position", "wait_for",
           "wait_until_done", "wait_until_idle"]
ROOT = Path(__file__).resolve().parents[1]


def tiny(name="tiny", epochs=1, train_limit=600):
    return RunConfig(name=name, training=TrainingConfig(epochs=epochs, batch_size=32, train_limit=train_limit,
                                                        test_limit=200))


def long_run(name="long"):
    return RunConfig(name=name, training=TrainingConfig(epochs=200, batch_size=16, train_limit=20000,
                                                        test_limit=200))


def training_position(run) -> int:
    """Batches a (plain) run has trained so far, from its live progress."""
    progress = run.progress
    return max(int(progress.get("epoch") or 1) - 1, 0) * int(progress.get("batches") or 0) + \
        int(progress.get("batch") or 0)


# Each process opens the store, says it is ready, waits at the gate, then launches its run: the
# launches happen at the same moment however long each process took to start (on a busy machine,
# far longer than any fixed head start).
_LAUNCHER = """
import sys, time
from pathlib import Path
from metalearn_core.config import RunConfig, TrainingConfig
from metalearn_core.runner import launch
from metalearn_core.runs.store import RunStore
home, gate, name, mnist, epochs, train_limit = sys.argv[1:7]
store = RunStore(home)
(Path(gate) / f"ready-{name}").touch()
while not (Path(gate) / "go").exists():
    time.sleep(0.005)
config = RunConfig(name=name, training=TrainingConfig(epochs=int(epochs), train_limit=int(train_limit), test_limit=200))
print(launch(store, config, mnist))
"""


def launch_at_once(home: Path, gate: Path, mnist_path: str, names: list[str], epochs: int,
                   train_limit: int) -> list[int]:
    """Launch one run per name, each from its own process, all at the same moment: the processes
    start, open the store and wait at a gate that opens once every one of them is ready. Returns
    the run ids in the order of ``names``. Every wait lasts as long as the processes make progress."""
    gate.mkdir(parents=True, exist_ok=True)
    processes = [subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(home), str(gate), name, mnist_path,
                                   str(epochs), str(train_limit)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
                 for name in names]
    try:
        def progress():
            return processes_progress(process.pid for process in processes)

        def ready():
            ended = [process for process in processes if process.poll() is not None]
            assert not ended, f"a launcher exited with status {ended[0].returncode} before the gate opened"
            return all((gate / f"ready-{name}").exists() for name in names)

        wait_for(ready, timeout=600, progress=progress, stall=60, what="every launcher at the gate")
        (gate / "go").touch()
        wait_for(lambda: all(process.poll() is not None for process in processes), timeout=600,
                 progress=progress, stall=60, what="every launch")
        outputs = [process.communicate()[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert all(process.returncode == 0 for process in processes), [process.returncode for process in processes]
    return [int(output.strip()) for output in outputs]
