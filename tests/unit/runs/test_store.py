import json
import sqlite3
import time

import pytest

from metalearn_core.config import RunConfig, TrainingConfig
from metalearn_core.runs.store import RunNotFound, RunStore


@pytest.fixture(autouse=True)
def backend(store_backend):
    """Every test here runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return store_backend


def test_create_read_update_delete(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig(training=TrainingConfig(epochs=2)))
    run = store.get(run_id)
    assert run.status == "queued" and run.name == f"base-{run_id}" and run.config.training.epochs == 2
    assert (run.folder / "config.json").exists()
    store.log_metrics(run_id, "train", 1, {"loss": 1.5, "accuracy": 0.5, "bad": float("nan")})
    store.log_metrics(run_id, "train", 2, {"loss": 0.9, "accuracy": 0.7})
    rows = store.metrics(run_id)
    assert [(r["epoch"], r["name"], r["value"]) for r in rows if r["name"] == "loss"] == [(1, "loss", 1.5), (2, "loss", 0.9)]
    assert [r["value"] for r in rows if r["name"] == "bad"] == [None]
    store.rename(run_id, "  first  ")
    store.set_tags(run_id, ["b", "a", "a", " "])
    store.update_summary(run_id, test_accuracy=0.9)
    store.update_summary(run_id, test_loss=0.3)
    store.finish(run_id, "completed")
    run = store.get(run_id)
    assert (run.name, run.tags, run.status) == ("first", ["a", "b"], "completed")
    assert run.summary == {"test_accuracy": 0.9, "test_loss": 0.3} and run.test_accuracy == 0.9
    store.delete(run_id)
    assert not run.folder.exists()
    with pytest.raises(RunNotFound, match=f"no run with id {run_id}"):
        store.get(run_id)
    assert store.metrics(run_id) == []


def test_database_survives_reopen_and_sqlite_uses_wal(home, backend):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    again = RunStore(home)
    assert again.get(run_id).id == run_id
    if backend == "sqlite":
        with sqlite3.connect(home / "runs.sqlite") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:
        assert not (home / "runs.sqlite").exists(), "on PostgreSQL no SQLite file is written"


def test_active_run_cannot_be_deleted_and_bad_names_refused(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    with pytest.raises(ValueError, match="cancel it before deleting"):
        store.delete(run_id)
    with pytest.raises(ValueError, match="1 to 200 characters"):
        store.rename(run_id, "   ")


def test_corrupted_config_in_the_store_is_reported_not_fatal(home):
    store = RunStore(home)
    good = store.create_run(RunConfig(name="good"))
    bad = store.create_run(RunConfig(name="bad"))
    store.finish(good, "completed")
    store.finish(bad, "completed")
    with store.db.transaction() as conn:
        conn.execute("UPDATE runs SET config = ? WHERE id = ?", ('{"kind": "base", "training": {', bad))
    runs = {run.id: run for run in store.list_runs()}
    assert runs[good].config_error == ""
    assert f"run {bad} config: not valid JSON" in runs[bad].config_error
    with pytest.raises(ValueError, match="not valid JSON"):
        runs[bad].config  # noqa: B018


def test_queued_run_whose_launcher_died_becomes_interrupted(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    assert store.get(run_id).status == "queued"  # within the launch grace period
    monkeypatch.setattr("metalearn_core.runs.store.LAUNCH_GRACE_SECONDS", -1.0)
    run = store.get(run_id)
    assert run.status == "interrupted" and "stopped unexpectedly" in run.error


def test_running_run_without_a_worker_lock_holder_is_interrupted(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    store.set_pid(run_id, 999999)
    store.mark_running(run_id)
    store.worker_lock_path(run_id).touch()
    assert store.get(run_id).status == "interrupted"
    assert store.reconcile() == []  # already handled, nothing new


def test_finish_needs_a_final_status(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    with pytest.raises(ValueError, match="final status"):
        store.finish(run_id, "running")
    assert json.loads((store.run_folder(run_id) / "config.json").read_text())["kind"] == "base"
    assert time.time() - store.get(run_id).created_at < 60
