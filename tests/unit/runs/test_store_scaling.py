"""The store beyond one host: PostgreSQL behind the same interface, schema migration, owners,
heartbeats of remote runs, artefacts on an fsspec URL, and the SQLite -> PostgreSQL copy."""

import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from metalearn_core.cli import main as cli
from metalearn_core.config import RunConfig
from metalearn_core.runs import store as store_module
from metalearn_core.runs.copy import CopyError, copy_store
from metalearn_core.runs.database import DatabaseError, redact
from metalearn_core.runs.store import RunStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(autouse=True)
def backend(store_backend):
    return store_backend


def test_owners_scope_the_listing(home):
    store = RunStore(home)
    ada = store.create_run(RunConfig(name="a"), owner="ada@school.org")
    bob = store.create_run(RunConfig(name="b"), owner="bob@school.org")
    nobody = store.create_run(RunConfig(name="c"))
    assert [run.id for run in store.list_runs(owner="ada@school.org")] == [ada]
    assert [run.id for run in store.list_runs(owner="")] == [nobody]
    assert [run.id for run in store.list_runs()] == [nobody, bob, ada]
    assert store.get(bob).owner == "bob@school.org"


def test_a_remote_run_lives_by_its_heartbeat(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    store.set_executor(run_id, "dask", "metalearn-run-1")
    assert store.get(run_id).status == "queued", "a queued remote run waits in its cluster's queue"
    store.mark_running(run_id)
    assert store.heartbeat(run_id) is False
    assert store.get(run_id).status == "running" and store.get(run_id).executor_handle == "metalearn-run-1"
    store.request_cancel(run_id, "stop")
    assert store.heartbeat(run_id) is True, "the heartbeat answers whether a cancel was asked"
    monkeypatch.setattr(store_module, "HEARTBEAT_TIMEOUT", 0.05)
    time.sleep(0.1)
    run = store.get(run_id)
    assert run.status == "interrupted" and "stopped unexpectedly" in run.error


def test_many_threads_create_runs_at_once_with_distinct_ids(home):
    store = RunStore(home)
    ids, errors = [], []

    def create(k):
        try:
            for j in range(5):
                run_id = store.create_run(RunConfig(name=f"t{k}-{j}"))
                store.log_metrics(run_id, "train", 1, {"loss": 1.0 / (k + 1)})
                ids.append(run_id)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(ids)) == 40
    assert all(len(store.metrics(run_id)) == 1 for run_id in ids)


def test_metric_rows_are_replaced_not_duplicated(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig())
    store.log_metrics(run_id, "train", 1, {"loss": 2.0})
    store.log_metrics(run_id, "train", 1, {"loss": 1.0})
    assert [row["value"] for row in store.metrics(run_id)] == [1.0]


def test_artifacts_on_an_fsspec_url_reach_another_host(home, tmp_path):
    shared = tmp_path / "shared-artifacts"
    store = RunStore(home, artifacts=f"file://{shared}")
    run_id = store.create_run(RunConfig(name="remote"))
    (store.run_folder(run_id) / "model.keras").write_bytes(b"weights")
    (store.run_folder(run_id) / "worker.lock").touch()
    assert store.artifacts.push(run_id, store.run_folder(run_id)) == 2  # config.json and the model
    store.finish(run_id, "completed")
    assert (shared / "runs" / str(run_id) / "model.keras").read_bytes() == b"weights"
    assert not (shared / "runs" / str(run_id) / "worker.lock").exists(), "host-local locks stay home"
    shutil.rmtree(store.run_folder(run_id))  # the app's host never had the folder
    run = store.get(run_id)
    assert (run.folder / "model.keras").read_bytes() == b"weights"
    store.delete(run_id)
    assert not (shared / "runs" / str(run_id)).exists()


def test_unknown_database_url_is_a_clear_error(home):
    with pytest.raises(DatabaseError, match="postgresql:// URL or an SQLite file"):
        RunStore(home, database="mysql://root@localhost/lab")
    assert redact("postgresql://me:secret@db:5432/lab") == "postgresql://me:***@db:5432/lab"


def test_an_unreachable_postgres_is_a_clear_error(home):
    with pytest.raises(DatabaseError, match="cannot reach the PostgreSQL database postgresql://u:\\*\\*\\*@127.0.0.1:1/"):
        RunStore(home, database="postgresql://u:pw@127.0.0.1:1/lab")


def test_an_old_sqlite_home_is_migrated_in_place(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("the old home is an SQLite file")
    home = tmp_path / "old"
    shutil.copytree(FIXTURES / "home-v1", home)
    before = sqlite3.connect(home / "runs.sqlite").execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    store = RunStore(home)
    runs = store.list_runs()
    assert len(runs) == before > 0 and all(run.owner == "" and run.executor == "local" for run in runs)
    version = sqlite3.connect(home / "runs.sqlite").execute(
        "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert int(version) == store_module.SCHEMA_VERSION


def test_copy_a_sqlite_home_into_postgres_with_one_command(tmp_path, monkeypatch, capsys, backend):
    if backend != "postgresql":
        pytest.skip("the copy's target is the PostgreSQL database")
    target = os.environ.pop("METALEARN_DB")  # the source is the embedded SQLite home
    monkeypatch.delenv("METALEARN_DB", raising=False)
    home = tmp_path / "home"
    source = RunStore(home)
    first = source.create_run(RunConfig(name="first"), tags=["x"], owner="ada@school.org")
    source.log_metrics(first, "train", 1, {"loss": 0.5, "accuracy": 0.9})
    source.set_progress(first, {"x": 0.5, "loss": 0.7, "accuracy": 0.8})
    source.log_layer_stats(first, "train", 1, [{"layer": "dense", "weight_norm": 1.0, "gradient_norm": 0.1,
                                                "edges": [0, 1], "counts": [3]}])
    source.update_summary(first, test_accuracy=0.91)
    source.finish(first, "completed")
    second = source.create_run(RunConfig(name="second"))
    source.finish(second, "failed", error="boom")
    assert cli(["--home", str(home), "store", "copy", "--to", target]) == 0
    assert "copied 2 runs" in capsys.readouterr().out
    moved = RunStore(home, database=target)
    runs = {run.id: run for run in moved.list_runs()}
    assert sorted(runs) == [first, second]
    assert (runs[first].name, runs[first].tags, runs[first].owner, runs[first].test_accuracy) == (
        "first", ["x"], "ada@school.org", 0.91)
    assert runs[second].error == "boom"
    assert moved.metrics(first) == source.metrics(first) and moved.points(first) == source.points(first)
    assert moved.layer_stats(first) == source.layer_stats(first)
    assert moved.create_run(RunConfig()) == second + 1, "new ids continue after the copied ones"
    assert cli(["--home", str(home), "store", "copy", "--to", target]) == 2  # the target holds runs now
    assert "already holds 3 runs" in capsys.readouterr().err


def test_copy_refuses_active_runs(home, tmp_path):
    store = RunStore(home)
    store.create_run(RunConfig())
    with pytest.raises(CopyError, match="still queued or running"):
        copy_store(store, str(tmp_path / "other.sqlite"))
    assert json.loads((store.run_folder(1) / "config.json").read_text())["kind"] == "base"
