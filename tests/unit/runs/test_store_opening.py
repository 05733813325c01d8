"""Opening a run store is safe when many processes do it at the same moment (issue 22, point 9):
a fresh home's database is created, switched to WAL and given its schema once, whoever comes first,
and every process then creates its run. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metalearn_core.runs.store import RunStore

PROCESSES = 8
ROUNDS = 20
ROOT = Path(__file__).resolve().parents[3]

# Each child imports only the store, says it is ready for a round, waits for the round's start file
# (all of them see it within a millisecond or so), opens that round's fresh home and creates one run.
CHILD = r"""
import json, os, sys, time, traceback
from pathlib import Path
from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunStore

folder, index = Path(sys.argv[1]), int(sys.argv[2])
targets = json.loads((folder / "targets.json").read_text())
for number, (home, database) in enumerate(targets):
    (folder / f"ready-{number}-{index}").touch()
    go = folder / f"go-{number}"
    while not go.exists():
        time.sleep(0.0002)
    try:
        store = RunStore(home, database=database)
        store.create_run(RunConfig(name=f"round-{number}-process-{index}"))
        outcome = "ok"
    except BaseException:
        outcome = traceback.format_exc()
    (folder / f"outcome-{number}-{index}").write_text(outcome)
    os.replace(folder / f"outcome-{number}-{index}", folder / f"done-{number}-{index}")  # whole, or not there
"""


def _wait_for_files(folder: Path, pattern: str, count: int, child_processes: list[subprocess.Popen]) -> None:
    """Wait (with no time limit of its own: the test's timeout bounds it) until ``count`` files match,
    failing at once if a child died."""
    while len(list(folder.glob(pattern))) < count:
        dead = [process for process in child_processes if process.poll() not in (None, 0)]
        assert not dead, f"a child process failed: {dead[0].stderr.read() if dead[0].stderr else ''}"
        time.sleep(0.005)


def _open_at_once(tmp_path: Path, targets: list[tuple[str, str]]) -> list[str]:
    """Run ROUNDS rounds of PROCESSES processes opening each target at the same instant; returns the
    failures (empty when every process created its run)."""
    folder = tmp_path / "sync"
    folder.mkdir()
    (folder / "targets.json").write_text(json.dumps(targets))
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(index)], cwd=ROOT,
                                 env=environment, stderr=subprocess.PIPE, text=True)
                for index in range(PROCESSES)]
    failures, finished = [], False
    try:
        for number in range(len(targets)):
            _wait_for_files(folder, f"ready-{number}-*", PROCESSES, children)
            (folder / f"go-{number}").touch()
            _wait_for_files(folder, f"done-{number}-*", PROCESSES, children)
            failures += [f"round {number}: {' / '.join(path.read_text().strip().splitlines()[-2:])}"
                         for path in sorted(folder.glob(f"done-{number}-*")) if path.read_text() != "ok"]
        finished = True
    finally:
        for process in children:
            if not finished and process.poll() is None:  # the test failed midway: the children wait for nothing
                process.kill()
        for process in children:
            process.wait()
    return failures


def _check_every_round(targets: list[tuple[str, str]]) -> None:
    for number, (home, database) in enumerate(targets):
        names = sorted(run.name for run in RunStore(home, database=database).list_runs())
        assert names == sorted(f"round-{number}-process-{index}" for index in range(PROCESSES)), number
        ids = [run.id for run in RunStore(home, database=database).list_runs()]
        assert len(set(ids)) == PROCESSES
        for run_id in ids:  # every run has its own folder with its own config
            config = json.loads((Path(home) / "runs" / str(run_id) / "config.json").read_text())
            assert config["name"] in names


@pytest.mark.slow
def test_eight_processes_open_a_fresh_sqlite_home_at_once(tmp_path):
    targets = [(str(tmp_path / f"home-{number}"), "") for number in range(ROUNDS)]
    failures = _open_at_once(tmp_path, targets)
    assert not failures, "\n".join(failures)
    _check_every_round(targets)


@pytest.mark.slow
def test_eight_processes_open_a_fresh_postgres_database_at_once(tmp_path, postgres_server):
    from tools import services

    targets = [(str(tmp_path / f"home-{number}"),
                services.create_database(postgres_server, f"opening_{os.getpid()}_{number}_{time.time_ns()}"))
               for number in range(ROUNDS)]
    failures = _open_at_once(tmp_path, targets)
    assert not failures, "\n".join(failures)
    _check_every_round(targets)
