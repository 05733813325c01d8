"""The background runner with real worker processes (each starts TensorFlow: a few seconds)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run_helpers import long_run, tiny, wait_for, wait_until_done

from metalearn_core.runs.runner import cancel, ensure_spare, launch
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


def test_cancel_stops_quickly_and_keeps_metrics(home, mnist_path, store_backend):
    store = RunStore(home)
    run_id = launch(store, long_run(), mnist_path)
    wait_for(lambda: len(store.metrics(run_id)) > 0, timeout=120)
    asked = time.monotonic()
    cancel(store, run_id)
    run = wait_until_done(store, run_id, timeout=30)
    latency = time.monotonic() - asked
    assert run.status == "cancelled" and "cancelled" in run.error
    assert store.metrics(run_id), "metrics recorded before the cancel are kept"
    assert latency < 10, f"cancel took {latency:.1f}s"  # generous: bench/bench_core.py measures it
    assert cancel(store, run_id) == "cancelled"  # cancelling an ended run changes nothing


def test_sigkill_marks_interrupted_and_leaves_others_intact(home, mnist_path, store_backend):
    store = RunStore(home)
    done = launch(store, tiny("done"), mnist_path)
    wait_until_done(store, done)
    victim = launch(store, long_run("victim"), mnist_path)
    wait_for(lambda: len(store.metrics(victim)) > 0, timeout=120)
    os.kill(store.get(victim).pid, signal.SIGKILL)
    run = wait_for(lambda: (lambda r: r if r.status == "interrupted" else None)(store.get(victim)), timeout=30)
    assert "stopped unexpectedly" in run.error
    assert store.metrics(victim), "metrics up to the kill are kept"
    if store_backend == "sqlite":
        with sqlite3.connect(home / "runs.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.get(done).status == "completed" and store.get(done).summary["test_accuracy"] > 0.5
    after = launch(store, tiny("after"), mnist_path)  # the killed worker's slot is free again
    assert wait_until_done(store, after).status == "completed"


def test_two_processes_launching_at_once_both_get_runs_which_queue(home, mnist_path, store_backend):
    start_at = time.time() + 4.0
    script = (
        "import sys, time; from metalearn_core.runs.runner import launch; from metalearn_core.runs.store import RunStore;"
        "from metalearn_core.config import RunConfig, TrainingConfig;"
        "store = RunStore(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - time.time()));"
        "print(launch(store, RunConfig(name=sys.argv[3], training=TrainingConfig(epochs=1, train_limit=600,"
        " test_limit=200)), sys.argv[4]))"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(home), str(start_at), f"p{k}", mnist_path],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True) for k in range(2)]
    ids = sorted(int(p.communicate(timeout=60)[0].strip()) for p in processes)
    assert all(p.returncode == 0 for p in processes)
    assert len(set(ids)) == 2
    store = RunStore(home)
    runs = [wait_until_done(store, run_id) for run_id in ids]
    assert [run.status for run in runs] == ["completed", "completed"]
    first, second = sorted(runs, key=lambda r: r.started_at)
    assert second.started_at >= first.ended_at - 0.5, "one run at a time by default"


def spare_ready(store):
    with store.db.connection() as conn:
        row = conn.execute("SELECT pid FROM spare WHERE run_id IS NULL AND ready_at > 0").fetchone()
    return (row["pid"],) if row else None


def test_warm_worker_takes_the_next_run(home, mnist_path):
    store = RunStore(home)
    assert ensure_spare(store, mnist_path)
    assert not ensure_spare(store, mnist_path)  # one at a time
    (pid,) = wait_for(lambda: spare_ready(store), timeout=120)
    run_id = launch(store, tiny("warm"), mnist_path)
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.pid == pid and run.summary.get("warm_start") is True
    assert f"run {run_id}: completed" in (run.folder / "worker.log").read_text()
    # TensorFlow was imported before the launch: no import time inside the run's start-up
    assert run.summary["timing"]["tensorflow_imported"] - run.summary["timing"]["worker_running"] < 0.5
    other = launch(store, tiny("cold"), mnist_path)  # the spare is used up: a fresh worker
    run = wait_until_done(store, other)
    assert run.status == "completed" and run.pid != pid and not run.summary.get("warm_start")


def test_a_launch_while_the_warm_worker_warms_up_waits_for_it(home, mnist_path):
    """On a fresh server the page starts a warm worker and a user may click Launch before it has
    imported TensorFlow: the run goes to that worker, not to a second process competing with it."""
    store = RunStore(home)
    assert ensure_spare(store, mnist_path)
    wait_for(lambda: store.spare_state() == "starting", timeout=30)
    run_id = launch(store, tiny("early"), mnist_path)
    assert store.spare_state() == "claimed"
    run = wait_until_done(store, run_id)
    assert run.status == "completed", run.error
    assert run.summary.get("warm_start") is True and f"run {run_id}: completed" in (run.folder / "worker.log").read_text()
    assert not (run.folder / "worker.log").read_text().count("Traceback")


def test_cancelling_a_run_handed_to_a_warming_worker_ends_it_cancelled(home, mnist_path):
    store = RunStore(home)
    ensure_spare(store, mnist_path)
    wait_for(lambda: store.spare_state() == "starting", timeout=30)
    run_id = launch(store, tiny("early-cancel"), mnist_path)
    cancel(store, run_id)
    run = wait_until_done(store, run_id, timeout=60)
    assert run.status == "cancelled"


def test_a_killed_warm_worker_is_not_handed_runs(home, mnist_path):
    store = RunStore(home)
    ensure_spare(store, mnist_path)
    (pid,) = wait_for(lambda: spare_ready(store), timeout=120)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not lock_held(store.spare_lock_path), timeout=10)
    run_id = launch(store, tiny("after-dead-spare"), mnist_path)
    run = wait_until_done(store, run_id)
    assert run.status == "completed" and run.pid != pid


def test_no_warm_worker_while_a_run_trains(home, mnist_path):
    store = RunStore(home)
    run_id = launch(store, long_run("busy"), mnist_path)
    assert not ensure_spare(store, mnist_path)
    cancel(store, run_id)
    wait_until_done(store, run_id, timeout=60)


def test_warm_worker_leaves_with_the_app_that_started_it(home, mnist_path, tmp_path):
    # A stand-in for the app: a process that starts a warm worker, then exits.
    script = ("import sys; from metalearn_core.runs.runner import ensure_spare; from metalearn_core.runs.store import RunStore;"
              "ensure_spare(RunStore(sys.argv[1]), sys.argv[2])")
    subprocess.run([sys.executable, "-c", script, str(home), mnist_path], cwd=ROOT, check=True, timeout=60)
    store = RunStore(home)
    wait_for(lambda: not lock_held(store.spare_lock_path), timeout=60)
    assert spare_ready(store) is None


def test_warm_workers_can_be_turned_off(home, mnist_path, monkeypatch):
    monkeypatch.setenv("METALEARN_WARM_WORKER", "0")
    store = RunStore(home)
    assert not ensure_spare(store, mnist_path)
    assert not lock_held(store.spare_lock_path)
