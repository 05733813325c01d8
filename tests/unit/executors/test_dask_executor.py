"""The Dask executor against a real scheduler and two worker processes on 127.0.0.1 (started by
.ci/run, or by the ``dask_scheduler`` fixture): runs complete as tasks and report to the store's
database, cancel reaches running and queued tasks, a worker killed with SIGKILL leaves its run
interrupted (and not trained again), two processes launching at once both get runs that train side
by side, and a six-trial sweep spreads over both workers. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from run_helpers import (
    home_progress,
    launch_at_once,
    long_run,
    tiny,
    training_position,
    wait_for,
    wait_until_done,
)

from metalearn_core import runner
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.executors import get_executor
from metalearn_core.executors.dask import DaskUnavailable
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import HEARTBEAT_TIMEOUT, RunStore

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def two_workers(address: str, timeout: float = 120.0) -> None:
    """Wait until both worker processes are back (a nanny restarts a killed one) and neither is
    still busy with a task of an earlier test (a cancelled run ending, say): each test starts on a
    free cluster, which the tests of runs side by side need."""
    executor = get_executor(get_settings())
    wait_for(lambda: executor.slots() >= 2, timeout=timeout, poll=0.5, what="two Dask workers")
    wait_for(lambda: not any(executor.client.processing().values()), timeout=timeout, poll=0.5,
             what="both Dask workers free")


def first_epoch_logged(store, run_id):
    """The run once it has logged an epoch's metrics; waits while its home makes progress."""
    return wait_for(lambda: store.get(run_id) if store.metrics(run_id) else None, timeout=900,
                    progress=lambda: home_progress(store), stall=90, what=f"run {run_id}'s first epoch")


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
    asked_at = training_position(first_epoch_logged(store, run_id))
    assert runner.cancel(store, run_id, reason="stopped by the test") in ("running", "cancelled")
    run = wait_until_done(store, run_id)
    assert run.status == "cancelled" and "stopped by the test" in run.error
    assert store.metrics(run_id), "metrics recorded before the cancel are kept"
    # the task sees the cancel at its next heartbeat (every few seconds of wall-clock time, fewer
    # batches the busier the machine): it stops before it has trained two more epochs' worth
    batches = run.progress.get("batches") or 0
    assert batches and training_position(run) - asked_at < 2 * batches, (asked_at, run.progress)


def test_cancel_of_a_queued_task_ends_it_before_it_starts(home, mnist_path, on_dask):
    store = RunStore(home)
    busy = [runner.launch(store, long_run(f"busy{k}"), mnist_path) for k in range(2)]
    wait_for(lambda: all(store.get(run_id).status == "running" for run_id in busy), timeout=900,
             progress=lambda: home_progress(store), stall=90, what="both runs running")
    waiting = runner.launch(store, tiny("waiting"), mnist_path)
    time.sleep(1.0)  # not a wait for anything: a chance for a wrongly dispatched task to start
    assert store.get(waiting).status == "queued", "both workers are busy: the third run waits"
    assert runner.cancel(store, waiting) == "cancelled"
    for run_id in busy:
        runner.cancel(store, run_id)
    for run_id in busy:
        assert wait_until_done(store, run_id).status == "cancelled"
    # the workers are free now: a task that escaped the cancel, queued before this one, would
    # start before it ends
    assert wait_until_done(store, runner.launch(store, tiny("probe"), mnist_path)).status == "completed"
    run = store.get(waiting)
    assert run.status == "cancelled" and run.started_at is None and not store.metrics(waiting)


def test_a_worker_killed_with_sigkill_leaves_its_run_interrupted_and_not_retrained(home, mnist_path, on_dask,
                                                                                  dask_scheduler):
    store = RunStore(home)
    victim = runner.launch(store, long_run("victim"), mnist_path)
    os.kill(first_epoch_logged(store, victim).summary["dask"]["pid"], signal.SIGKILL)
    # a dead worker is noticed when its run's heartbeat is HEARTBEAT_TIMEOUT old
    run = wait_for(lambda: (lambda r: r if r.status == "interrupted" else None)(store.get(victim)),
                   timeout=HEARTBEAT_TIMEOUT + 60, what="the killed run interrupted")
    assert "stopped" in run.error and "kept" in run.error
    kept = len(store.metrics(victim))
    assert kept > 0, "metrics up to the kill are kept"
    two_workers(dask_scheduler)
    after = runner.launch(store, tiny("after"), mnist_path)  # the cluster goes on
    assert wait_until_done(store, after).status == "completed"
    # a retry of the killed task would have started before the run launched after it ended
    assert len(store.metrics(victim)) == kept and store.get(victim).status == "interrupted", "not trained again"


@pytest.mark.needs_quiet
def test_two_processes_launching_at_once_both_train_side_by_side(home, mnist_path, on_dask, tmp_path):
    ids = sorted(launch_at_once(home, tmp_path / "gate", mnist_path, ["p0", "p1"], epochs=20, train_limit=6000))
    assert len(set(ids)) == 2
    store = RunStore(home)
    runs = [wait_until_done(store, run_id) for run_id in ids]
    assert [run.status for run in runs] == ["completed", "completed"]
    assert len({run.summary["dask"]["worker"] for run in runs}) == 2, "one run per worker"
    first, second = sorted(runs, key=lambda r: r.started_at)
    assert second.started_at < first.ended_at, "the two workers train at the same time"


@pytest.mark.needs_quiet
def test_a_six_trial_sweep_spreads_over_both_workers(tmp_path, mnist_path, on_dask, monkeypatch):
    from metalearn_core.sweeps.config import SweepConfig
    from metalearn_core.sweeps.controller import Controller, trial_runs
    from metalearn_core.sweeps.space import SearchSpace
    from metalearn_core.sweeps.store import SweepStore

    runs, sweeps = RunStore(tmp_path), SweepStore(tmp_path)
    base = RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                     training=TrainingConfig(epochs=2, batch_size=64, train_limit=3000, test_limit=300,
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
