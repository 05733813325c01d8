"""The Dask executor against a real scheduler and two worker processes on 127.0.0.1 (started by
.ci/run, or by the ``dask_scheduler`` fixture): runs complete as tasks and report to the store's
database, cancel reaches running and queued tasks, a worker killed with SIGKILL leaves its run
interrupted (and not trained again), two processes launching at once both get runs that train side
by side, and a six-trial sweep spreads over both workers. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run_helpers import long_run, tiny, wait_for, wait_until_done

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs import runner
from metalearn_core.runs.executors import get_executor
from metalearn_core.runs.executors.dask import DaskUnavailable
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]




def two_workers(address: str, timeout: float = 120.0) -> None:
    """Wait until both worker processes are back (a nanny restarts a killed one)."""
    executor = get_executor(get_settings())
    wait_for(lambda: executor.slots() >= 2, timeout=timeout, poll=0.5)


@pytest.fixture()
def on_dask(dask_scheduler, monkeypatch, store_backend):
    monkeypatch.setenv("METALEARN_DASK", dask_scheduler)
    monkeypatch.delenv("METALEARN_MAX_RUNS", raising=False)
    two_workers(dask_scheduler)
    return store_backend


def test_a_run_is_a_task_that_reports_to_the_database(home, mnist_path, on_dask):
    store = RunStore(home)
    run_id = runner.launch(store, tiny(), mnist_path)
    queued = store.get(run_id)
    assert queued.executor == "dask" and queued.executor_handle.startswith(f"metalearn-run-{run_id}-")
    assert queued.pid is None, "no local process"
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.summary["test_accuracy"] > 0.5
    assert run.summary["dask"]["worker"].startswith("tcp://127.0.0.1:") and run.summary["dask"]["pid"] != os.getpid()
    assert run.heartbeat_at and run.heartbeat_at >= run.started_at
    assert {row["name"] for row in store.metrics(run_id)} >= {"loss", "val_accuracy"}
    assert (run.folder / "model.keras").exists() and (run.folder / "evaluation.json").exists()
    assert runner.capacity(store) == 2


def test_cancel_reaches_a_running_task_and_keeps_its_metrics(home, mnist_path, on_dask):
    store = RunStore(home)
    run_id = runner.launch(store, long_run(), mnist_path)
    wait_for(lambda: len(store.metrics(run_id)) > 0, timeout=120)
    asked = time.monotonic()
    assert runner.cancel(store, run_id, reason="stopped by the test") in ("running", "cancelled")
    run = wait_until_done(store, run_id, timeout=30)
    assert run.status == "cancelled" and "stopped by the test" in run.error
    assert store.metrics(run_id), "metrics recorded before the cancel are kept"
    assert time.monotonic() - asked < 15


def test_cancel_of_a_queued_task_ends_it_before_it_starts(home, mnist_path, on_dask):
    store = RunStore(home)
    busy = [runner.launch(store, long_run(f"busy{k}"), mnist_path) for k in range(2)]
    wait_for(lambda: all(store.get(run_id).status == "running" for run_id in busy), timeout=120)
    waiting = runner.launch(store, tiny("waiting"), mnist_path)
    time.sleep(1.0)
    assert store.get(waiting).status == "queued", "both workers are busy: the third run waits"
    assert runner.cancel(store, waiting) == "cancelled"
    for run_id in busy:
        runner.cancel(store, run_id)
    for run_id in busy:
        assert wait_until_done(store, run_id, timeout=30).status == "cancelled"
    time.sleep(2.0)  # a worker is free now: a task that escaped the cancel would start here
    run = store.get(waiting)
    assert run.status == "cancelled" and run.started_at is None and not store.metrics(waiting)


def test_a_worker_killed_with_sigkill_leaves_its_run_interrupted_and_not_retrained(home, mnist_path, on_dask,
                                                                                  dask_scheduler):
    store = RunStore(home)
    victim = runner.launch(store, long_run("victim"), mnist_path)
    wait_for(lambda: len(store.metrics(victim)) > 0, timeout=120)
    os.kill(store.get(victim).summary["dask"]["pid"], signal.SIGKILL)
    run = wait_for(lambda: (lambda r: r if r.status == "interrupted" else None)(store.get(victim)), timeout=60)
    assert "stopped" in run.error and "kept" in run.error
    kept = len(store.metrics(victim))
    assert kept > 0, "metrics up to the kill are kept"
    time.sleep(3.0)
    assert len(store.metrics(victim)) == kept and store.get(victim).status == "interrupted", "not trained again"
    two_workers(dask_scheduler)
    after = runner.launch(store, tiny("after"), mnist_path)  # the cluster goes on
    assert wait_until_done(store, after).status == "completed"


def test_two_processes_launching_at_once_both_train_side_by_side(home, mnist_path, on_dask):
    start_at = time.time() + 4.0
    script = (
        "import sys, time; from metalearn_core.runs.runner import launch; from metalearn_core.runs.store import RunStore;"
        "from metalearn_core.config import RunConfig, TrainingConfig;"
        "store = RunStore(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - time.time()));"
        "print(launch(store, RunConfig(name=sys.argv[3], training=TrainingConfig(epochs=20, train_limit=6000,"
        " test_limit=200)), sys.argv[4]))"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(home), str(start_at), f"p{k}", mnist_path],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True) for k in range(2)]
    ids = sorted(int(p.communicate(timeout=90)[0].strip()) for p in processes)
    assert all(p.returncode == 0 for p in processes) and len(set(ids)) == 2
    store = RunStore(home)
    runs = [wait_until_done(store, run_id) for run_id in ids]
    assert [run.status for run in runs] == ["completed", "completed"]
    assert len({run.summary["dask"]["worker"] for run in runs}) == 2, "one run per worker"
    first, second = sorted(runs, key=lambda r: r.started_at)
    assert second.started_at < first.ended_at, "the two workers train at the same time"


def test_a_six_trial_sweep_spreads_over_both_workers(tmp_path, mnist_path, on_dask, monkeypatch):
    from metalearn_core.sweeps.config import SweepConfig
    from metalearn_core.sweeps.controller import Controller, trial_runs
    from metalearn_core.sweeps.space import SearchSpace
    from metalearn_core.sweeps.store import SweepStore

    runs, sweeps = RunStore(tmp_path), SweepStore(tmp_path)
    base = RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                     training=TrainingConfig(epochs=1, batch_size=64, train_limit=1000, test_limit=300,
                                             validation_split=0.2))
    space = SearchSpace.from_dict({"units": {"low": 8, "high": 48}, "learning_rate": {"low": 1e-3, "high": 1e-2}})
    sweep_id = sweeps.create(SweepConfig(space=space, base=base, trials=6, sampler="random"))
    controller = Controller(runs, sweeps, sweep_id, mnist_path, poll=0.2)
    assert controller.parallel == 2, "as many trials in flight as the cluster has runs slots"
    assert controller.run() == "completed"
    trials = list(trial_runs(runs, sweep_id).values())
    assert len(trials) == 6 and all(run.status == "completed" and run.executor == "dask" for run in trials)
    assert len({run.summary["dask"]["worker"] for run in trials}) == 2
    ordered = sorted(trials, key=lambda r: r.started_at)
    assert any(b.started_at < a.ended_at for a, b in zip(ordered, ordered[1:])), "trials overlap in time"


def test_an_unreachable_scheduler_is_one_clear_error_and_stores_nothing(home, mnist_path, monkeypatch):
    monkeypatch.setenv("METALEARN_DASK", "127.0.0.1:9")  # host:port without the scheme, as dask prints it
    assert get_settings().dask_address == "tcp://127.0.0.1:9"
    store = RunStore(home)
    with pytest.raises(DaskUnavailable, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        runner.launch(store, tiny(), mnist_path)
    assert store.list_runs() == []
