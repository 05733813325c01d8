"""Classroom mode's scoped stores expose only what a page may do (issue 22, point 12): reading, launching,
renaming, tagging, deleting and cancelling the viewer's own runs and sweeps. A worker's writes are absent,
every method by id answers for someone else's run as for a missing one, and the executors' launch and cancel
still work through them (a stand-in process and a stand-in Dask client: nothing trains here)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import distributed
import pytest

from metalearn_core import runner
from metalearn_core.classroom import ScopedRunStore, ScopedSweepStore, Viewer
from metalearn_core.config import RunConfig
from metalearn_core.executors import dask as dask_executor
from metalearn_core.executors import local as local_executor
from metalearn_core.runs.store import RunNotFound, RunStore
from metalearn_core.sweeps import runner as sweep_runner
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepNotFound, SweepStore

ADA, BOB = "ada@school.org", "bob@school.org"
WORKER_WRITES = ("log_metrics", "log_layer_stats", "set_progress", "mark_running", "heartbeat", "set_lock_path",
                 "take_claim", "register_spare", "unregister_spare", "mark_spare_ready", "reconcile",
                 "queue_position", "spare_state", "db", "db_path")


def public(obj) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


@pytest.fixture
def stores(tmp_path):
    store = RunStore(tmp_path / "home")
    return store, ScopedRunStore(store, Viewer(ADA)), ScopedRunStore(store, Viewer(BOB))


def test_the_scoped_run_store_has_the_page_methods_and_nothing_else(stores):
    store, ada, _ = stores
    allowed = set(ScopedRunStore.PAGE_METHODS) | set(ScopedRunStore.PAGE_ATTRIBUTES)
    assert public(ada) == allowed | {"store", "viewer", "PAGE_METHODS", "PAGE_ATTRIBUTES"}
    for name in public(store) - allowed:  # the worker's writes and the warm worker's bookkeeping
        with pytest.raises(AttributeError):
            getattr(ada, name)
    for name in WORKER_WRITES:
        assert not hasattr(ada, name), name
    assert ada.home == store.home and ada.spare_lock_path == store.spare_lock_path


def _by_id_calls(run_id: int) -> dict[str, tuple]:
    """Every method of the scoped store that takes a run id, with arguments a page might pass."""
    return {"get": (run_id,), "metrics": (run_id,), "points": (run_id,), "layer_stats": (run_id,),
            "run_folder": (run_id,), "rename": (run_id, "mine now"), "set_tags": (run_id, ["mine"]),
            "delete": (run_id,), "request_cancel": (run_id, "no"), "worker_lock_path": (run_id,),
            "worker_alive": (run_id,), "claim_spare": (run_id, "mnist"), "release_claim": (run_id,),
            "set_pid": (run_id, 1), "set_executor": (run_id, "dask", "key"), "update_summary": (run_id,),
            "finish": (run_id, "cancelled")}


def test_every_method_by_id_answers_for_someone_elses_run_as_for_a_missing_one(stores):
    store, ada, bob = stores
    bobs = bob.create_run(RunConfig(name="b1"), tags=["x"])
    store.log_metrics(bobs, "train", 1, {"val_accuracy": 0.5})
    before = store.get(bobs)
    calls = _by_id_calls(bobs)
    by_id = {name for name in ScopedRunStore.PAGE_METHODS if name not in ("list_runs", "describe", "create_run")}
    assert set(calls) == by_id  # no method by id is left out of this test
    for name, arguments in calls.items():
        keywords = {"note": "mine"} if name == "update_summary" else {}
        with pytest.raises(RunNotFound):
            getattr(ada, name)(*arguments, **keywords)
    after = store.get(bobs)
    assert (after.name, after.tags, after.status, after.pid, after.summary, after.executor, after.cancel_requested) \
        == (before.name, before.tags, before.status, before.pid, before.summary, before.executor, False)
    assert len(store.metrics(bobs)) == 1 and ada.list_runs() == []
    bob.rename(bobs, "b2")  # his own: allowed
    assert store.get(bobs).name == "b2"


def test_a_page_can_only_end_its_own_run_before_it_starts(stores):
    store, ada, _ = stores
    queued = ada.create_run(RunConfig(name="q"))
    with pytest.raises(ValueError, match="never started"):
        ada.finish(queued, "completed")  # a result is a worker's to record
    with pytest.raises(ValueError, match="never started"):
        ada.finish(queued, "failed", summary={"test_accuracy": 1.0})
    ada.update_summary(queued, note="handed over")
    ada.finish(queued, "failed", error="could not be handed over")
    assert (store.get(queued).status, store.get(queued).summary) == ("failed", {"note": "handed over"})
    running = ada.create_run(RunConfig(name="r"))
    store.mark_running(running)
    ada.finish(running, "cancelled")  # left to its worker, which ends it
    assert store.get(running).status == "running"
    with pytest.raises(ValueError, match="has started"):
        ada.update_summary(running, test_accuracy=1.0)
    assert "test_accuracy" not in store.get(running).summary


def _stand_in_worker(command, log_path, pass_fds=()):
    """A process that holds the worker lock it is handed, as a worker does, and trains nothing."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], pass_fds=pass_fds,
                            start_new_session=True)


def test_a_local_launch_and_cancel_work_through_the_scoped_store(stores, monkeypatch):
    store, ada, bob = stores
    monkeypatch.setenv("METALEARN_HOME", str(store.home))
    monkeypatch.setattr(local_executor, "spawn_detached", _stand_in_worker)
    run_id = runner.launch(ada, RunConfig(name="launched"), None)
    run = store.get(run_id)
    try:
        assert run.owner == ADA and run.pid and store.worker_alive(run_id)
        with pytest.raises(RunNotFound):
            runner.cancel(bob, run_id)
        assert not store.get(run_id).cancel_requested
        runner.cancel(ada, run_id, reason="enough")
        assert store.get(run_id).cancel_requested
        deadline = time.monotonic() + 30
        while store.worker_alive(run_id) and time.monotonic() < deadline:  # SIGTERM reached the stand-in
            time.sleep(0.05)
        assert not store.worker_alive(run_id)
    finally:
        try:
            os.kill(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_launch_handed_to_the_warm_worker_works_through_the_scoped_store(stores):
    store, ada, _ = stores
    with open(store.spare_lock_path, "a") as lock:  # this process plays the warm worker
        fcntl.flock(lock, fcntl.LOCK_EX)
        store.register_spare(os.getpid(), local_executor.data_key(None))
        run_id = runner.launch(ada, RunConfig(name="warm"), None)
        assert store.get(run_id).pid == os.getpid() and store.take_claim(os.getpid()) == run_id
    assert store.get(run_id).owner == ADA


class StandInClient:
    """A Dask client whose scheduler refuses every task."""

    def submit(self, *args, **kwargs):
        raise OSError("the scheduler is gone")

    def cancel(self, futures, force=False):
        return None


def test_a_dask_launch_that_fails_and_a_dask_cancel_work_through_the_scoped_store(stores, monkeypatch):
    store, ada, bob = stores
    executor = dask_executor.DaskExecutor("tcp://127.0.0.1:1")
    monkeypatch.setattr(dask_executor.DaskExecutor, "client", property(lambda self: StandInClient()))
    monkeypatch.setattr(dask_executor.DaskExecutor, "slots", lambda self: 1)
    monkeypatch.setattr(distributed, "Future", lambda key, client=None: key)
    with pytest.raises(OSError):
        executor.launch(ada, RunConfig(name="refused"))
    (run,) = store.list_runs()
    assert (run.owner, run.status, run.executor) == (ADA, "failed", "dask") and "scheduler is gone" in run.error
    assert run.summary["dask"]["key"] == run.executor_handle
    queued = ada.create_run(RunConfig(name="queued"))
    store.set_executor(queued, "dask", "key-1")
    with pytest.raises(RunNotFound):
        executor.cancel(bob, queued)
    assert executor.cancel(ada, queued, "not now") == "cancelled"
    assert "cancelled before it started" in store.get(queued).error


def test_the_scoped_sweep_store_has_the_page_methods_and_nothing_else(tmp_path, monkeypatch):
    sweeps = SweepStore(tmp_path)
    ada, bob = ScopedSweepStore(sweeps, Viewer(ADA)), ScopedSweepStore(sweeps, Viewer(BOB))
    allowed = set(ScopedSweepStore.PAGE_METHODS) | set(ScopedSweepStore.PAGE_ATTRIBUTES)
    assert public(ada) == allowed | {"sweeps", "viewer", "PAGE_METHODS", "PAGE_ATTRIBUTES"}
    for name in public(sweeps) - allowed:  # cancel_path, folder, root
        with pytest.raises(AttributeError):
            getattr(ada, name)
    started = []
    monkeypatch.setattr(sweep_runner, "start_controller", lambda store, sweep_id, mnist=None: started.append(sweep_id))
    config = SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 3}}), name="ada's")
    mine = sweep_runner.launch_sweep(ada, config)
    assert sweeps.get(mine).owner == ADA and started == [mine]
    for name, arguments in {"get": (), "request_cancel": (), "cancel_requested": (), "clear_cancel": (),
                            "update_state": ()}.items():
        with pytest.raises(SweepNotFound):
            getattr(bob, name)(mine, *arguments)
    with pytest.raises(ValueError, match="may only queue"):
        ada.update_state(mine, best_value=1.0)  # a sweep's results are its controller's to write
    with pytest.raises(ValueError, match="may only queue"):
        ada.update_state(mine, status="completed")
    sweeps.update_state(mine, status="interrupted")
    runs = ScopedRunStore(RunStore(tmp_path), Viewer(ADA))
    assert sweep_runner.cancel_sweep(runs, ada, mine) == "cancelled"  # closed without a controller
    sweep_runner.resume_sweep(ada, mine)
    assert sweeps.get(mine).state["status"] == "queued" and started == [mine, mine]
    with pytest.raises(SweepNotFound):
        sweep_runner.resume_sweep(bob, mine)
