"""The background runner with real worker processes (each starts TensorFlow: a few seconds)."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from run_helpers import (
    home_progress,
    launch_at_once,
    long_run,
    scaled,
    tiny,
    training_position,
    wait_for,
    wait_until_done,
)

from metalearn_core.runner import cancel, ensure_spare, launch
from metalearn_core.runs.store import RunStore, lock_held

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_launched_run_completes_in_its_own_process(home, mnist_path, store_backend):
    store = RunStore(home)
    run_id = launch(store, tiny(), mnist_path)
    run = store.get(run_id)
    assert run.pid and run.pid != os.getpid()
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.summary["test_accuracy"] > 0.5 and run.summary["startup_seconds"] > 0
    assert {row["name"] for row in store.metrics(run_id)} >= {"loss", "val_accuracy", "learning_rate"}
    assert (run.folder / "model.keras").exists() and (run.folder / "evaluation.json").exists()
    assert "run 1: completed" in (run.folder / "worker.log").read_text()


def first_epoch_logged(store, run_id):
    """The run once it has logged an epoch's metrics; waits while its home makes progress."""
    return wait_for(lambda: store.get(run_id) if store.metrics(run_id) else None, timeout=900,
                    progress=lambda: home_progress(store), stall=90, what=f"run {run_id}'s first epoch")


def test_cancel_stops_quickly_and_keeps_metrics(home, mnist_path, store_backend):
    store = RunStore(home)
    run_id = launch(store, long_run(), mnist_path)
    asked_at = training_position(first_epoch_logged(store, run_id))
    cancel(store, run_id)
    run = wait_until_done(store, run_id)
    assert run.status == "cancelled" and "cancelled" in run.error
    assert store.metrics(run_id), "metrics recorded before the cancel are kept"
    # "quickly" in training done rather than in seconds, which a busy machine stretches (the
    # wall-clock latency on a quiet machine is bench/bench_core.py's to measure): the run stops
    # before it has trained another epoch's worth of batches
    batches = run.progress.get("batches") or 0
    assert batches and training_position(run) - asked_at < batches, (asked_at, run.progress)
    assert cancel(store, run_id) == "cancelled"  # cancelling an ended run changes nothing


def test_sigkill_marks_interrupted_and_leaves_others_intact(home, mnist_path, store_backend):
    store = RunStore(home)
    done = launch(store, tiny("done"), mnist_path)
    wait_until_done(store, done)
    victim = launch(store, long_run("victim"), mnist_path)
    os.kill(first_epoch_logged(store, victim).pid, signal.SIGKILL)
    run = wait_for(lambda: (lambda r: r if r.status == "interrupted" else None)(store.get(victim)), timeout=30)
    assert "stopped unexpectedly" in run.error
    assert store.metrics(victim), "metrics up to the kill are kept"
    if store_backend == "sqlite":
        with sqlite3.connect(home / "runs.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.get(done).status == "completed" and store.get(done).summary["test_accuracy"] > 0.5
    after = launch(store, tiny("after"), mnist_path)  # the killed worker's slot is free again
    assert wait_until_done(store, after).status == "completed"


def test_two_processes_launching_at_once_both_get_runs_which_queue(home, mnist_path, store_backend, tmp_path):
    ids = sorted(launch_at_once(home, tmp_path / "gate", mnist_path, ["p0", "p1"], epochs=1, train_limit=600))
    assert len(set(ids)) == 2
    store = RunStore(home)
    runs = [wait_until_done(store, run_id) for run_id in ids]
    assert [run.status for run in runs] == ["completed", "completed"]
    first, second = sorted(runs, key=lambda r: r.started_at)
    assert second.started_at >= first.ended_at - 0.5, "one run at a time by default"


def wait_for_spare(store, predicate, what):
    """A warm worker's start-up imports TensorFlow: wait as long as the home makes progress."""
    return wait_for(predicate, timeout=600, progress=lambda: home_progress(store), stall=90, what=what)


def spare_ready(store):
    with store.db.connection() as conn:
        row = conn.execute("SELECT pid FROM spare WHERE run_id IS NULL AND ready_at > 0").fetchone()
    return (row["pid"],) if row else None


def import_seconds(run) -> float:
    """How long the run's worker spent importing its training code (and TensorFlow) once it ran."""
    return run.summary["timing"]["tensorflow_imported"] - run.summary["timing"]["worker_running"]


def test_warm_worker_takes_the_next_run(home, mnist_path):
    store = RunStore(home)
    assert ensure_spare(store, mnist_path)
    assert not ensure_spare(store, mnist_path)  # one at a time
    (pid,) = wait_for_spare(store, lambda: spare_ready(store), "the warm worker ready")
    run_id = launch(store, tiny("warm"), mnist_path)
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.pid == pid and run.summary.get("warm_start") is True
    assert f"run {run_id}: completed" in (run.folder / "worker.log").read_text()
    warm_import = import_seconds(run)
    other = launch(store, tiny("cold"), mnist_path)  # the spare is used up: a fresh worker
    run = wait_until_done(store, other)
    assert run.status == "completed" and run.pid != pid and not run.summary.get("warm_start")
    # TensorFlow was imported before the launch: next to a cold start's import (measured on the same
    # machine, so a busy machine stretches both), the warm run's start-up has next to no import time
    assert warm_import < import_seconds(run) / 10, (warm_import, import_seconds(run))


def test_a_launch_while_the_warm_worker_warms_up_waits_for_it(home, mnist_path):
    """On a fresh server the page starts a warm worker and a user may click Launch before it has
    imported TensorFlow: the run goes to that worker, not to a second process competing with it."""
    store = RunStore(home)
    assert ensure_spare(store, mnist_path)
    wait_for_spare(store, lambda: store.spare_state() == "starting", "the warm worker starting")
    run_id = launch(store, tiny("early"), mnist_path)
    assert store.spare_state() == "claimed"
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.summary.get("warm_start") is True and f"run {run_id}: completed" in (run.folder / "worker.log").read_text()
    assert not (run.folder / "worker.log").read_text().count("Traceback")


def test_cancelling_a_run_handed_to_a_warming_worker_ends_it_cancelled(home, mnist_path):
    store = RunStore(home)
    ensure_spare(store, mnist_path)
    wait_for_spare(store, lambda: store.spare_state() == "starting", "the warm worker starting")
    run_id = launch(store, tiny("early-cancel"), mnist_path)
    cancel(store, run_id)
    run = wait_until_done(store, run_id)
    assert run.status == "cancelled"


def test_a_killed_warm_worker_is_not_handed_runs(home, mnist_path):
    store = RunStore(home)
    ensure_spare(store, mnist_path)
    (pid,) = wait_for_spare(store, lambda: spare_ready(store), "the warm worker ready")
    os.kill(pid, signal.SIGKILL)
    wait_for_spare(store, lambda: not lock_held(store.spare_lock_path), "the killed warm worker's lock free")
    run_id = launch(store, tiny("after-dead-spare"), mnist_path)
    run = wait_until_done(store, run_id)
    assert run.status == "completed" and run.pid != pid


def test_no_warm_worker_while_a_run_trains(home, mnist_path):
    store = RunStore(home)
    run_id = launch(store, long_run("busy"), mnist_path)
    assert not ensure_spare(store, mnist_path)
    cancel(store, run_id)
    wait_until_done(store, run_id)


def test_warm_worker_leaves_with_the_app_that_started_it(home, mnist_path, tmp_path):
    # A stand-in for the app: a process that starts a warm worker, then exits.
    script = ("import sys; from metalearn_core.runner import ensure_spare; from metalearn_core.runs.store import RunStore;"
              "ensure_spare(RunStore(sys.argv[1]), sys.argv[2])")
    subprocess.run([sys.executable, "-c", script, str(home), mnist_path], cwd=ROOT, check=True, timeout=scaled(120))
    store = RunStore(home)
    # it leaves once its imports are done, which a busy machine makes slow
    wait_for_spare(store, lambda: not lock_held(store.spare_lock_path), "the warm worker gone")
    assert spare_ready(store) is None


def test_warm_workers_can_be_turned_off(home, mnist_path, monkeypatch):
    monkeypatch.setenv("METALEARN_WARM_WORKER", "0")
    store = RunStore(home)
    assert not ensure_spare(store, mnist_path)
    assert not lock_held(store.spare_lock_path)
