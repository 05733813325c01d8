"""A damaged data home loses nothing that is on disk (issue 22, points 7 and 8): a lost or emptied
database never lets a new run write into an existing run folder, ``store recover`` rebuilds the
index from the folders, a read-only home opens read-only, a corrupt database says which file and
what to do, and ``store copy`` refuses a target that is not an SQLite database."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from metalearn_core import kinds
from metalearn_core.cli import main as cli
from metalearn_core.config import RunConfig
from metalearn_core.runs import recover as recover_module
from metalearn_core.runs.database import CorruptDatabase, ReadOnlyDatabase
from metalearn_core.runs.recover import recover_runs
from metalearn_core.runs.store import HISTORY_FILE, RECORD_FILE, RunStore

ROOT = Path(__file__).resolve().parents[3]
GARBAGE = b"this is not a database, it is what a bad disk or a wrong copy leaves behind\n" * 200


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _finished_runs(home: Path, count: int = 3) -> tuple[RunStore, dict[int, str]]:
    """``count`` finished runs with a metric history and a stand-in model; returns the store and
    each run's model digest."""
    store = RunStore(home)
    digests = {}
    for number in range(count):
        run_id = store.create_run(RunConfig(name=f"kept-{number}"), tags=["keep"])
        store.mark_running(run_id)
        for epoch in range(3):
            store.log_metrics(run_id, "train", epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.3 * epoch + number / 10})
        store.set_progress(run_id, {"x": 0.5, "loss": 0.9, "accuracy": 0.4, "series": "train"})
        model = store.run_folder(run_id) / "model.keras"
        model.write_bytes(os.urandom(512))
        (store.run_folder(run_id) / "evaluation.json").write_text(json.dumps({"accuracy": 0.9, "loss": 0.3,
                                                                               "confusion": [[1]]}))
        store.update_summary(run_id, test_accuracy=0.8 + number / 100, test_loss=0.5)
        store.finish(run_id, "completed")
        digests[run_id] = _digest(model)
    return store, digests


def _lose_database(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (home / f"runs.sqlite{suffix}").unlink(missing_ok=True)


# -- point 7: losing the database -----------------------------------------------------------------

@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_new_run_never_writes_into_the_folder_of_a_run_the_database_lost(home, how):
    _, digests = _finished_runs(home)
    if how == "deleted":
        _lose_database(home)
    else:
        (home / "runs.sqlite").write_bytes(b"")
    store = RunStore(home)
    assert store.list_runs() == []
    new_id = store.create_run(RunConfig(name="after the loss"))
    assert new_id == 4, "ids continue past the highest run folder"
    assert store.create_run(RunConfig(name="and the next")) == 5
    for run_id, digest in digests.items():
        folder = home / "runs" / str(run_id)
        assert _digest(folder / "model.keras") == digest
        assert json.loads((folder / "config.json").read_text())["name"] == f"kept-{run_id - 1}"


def test_a_store_left_open_copes_with_its_database_file_being_deleted(home):
    store, digests = _finished_runs(home)
    _lose_database(home)
    assert store.list_runs() == [], "the open store makes the schema again instead of 'no such table'"
    assert store.create_run(RunConfig(name="new")) == 4
    assert _digest(home / "runs" / "1" / "model.keras") == digests[1]


def test_ids_continue_past_the_folders_on_a_new_postgres_database_too(home, store_backend):
    if store_backend != "postgresql":
        pytest.skip("the SQLite case is above")
    url = os.environ.pop("METALEARN_DB")
    _, digests = _finished_runs(home, count=2)  # on SQLite
    fresh = RunStore(home, database=url)  # the same run folders, indexed by a new, empty database
    assert fresh.list_runs() == []
    first = fresh.create_run(RunConfig(name="first on the new database"))
    assert first == 3 and fresh.create_run(RunConfig(name="second")) == 4
    assert RunStore(home, database=url).create_run(RunConfig(name="third")) == 5
    assert {run_id: _digest(home / "runs" / str(run_id) / "model.keras") for run_id in digests} == digests


def test_a_finished_run_keeps_its_record_and_history_in_its_folder(home):
    store, _ = _finished_runs(home, count=1)
    record = json.loads((store.run_folder(1) / RECORD_FILE).read_text())
    assert (record["name"], record["status"], record["tags"]) == ("kept-0", "completed", ["keep"])
    assert record["summary"]["test_accuracy"] == 0.8
    history = json.loads((store.run_folder(1) / HISTORY_FILE).read_text())
    assert len(history["metrics"]) == 6 and history["points"] == [["train", 0.5, 0.9, 0.4]]


def test_recover_rebuilds_the_index_with_status_summary_and_curves(home, capsys):
    store, digests = _finished_runs(home)
    before = {run.id: (run.name, run.status, run.tags, run.summary, store.metrics(run.id), store.points(run.id))
              for run in store.list_runs()}
    _lose_database(home)
    assert cli(["--home", str(home), "store", "recover"]) == 0
    out = capsys.readouterr().out
    assert "recovered 3 runs (3 with their curves)" in out
    store = RunStore(home)
    after = {run.id: (run.name, run.status, run.tags, run.summary, store.metrics(run.id), store.points(run.id))
             for run in store.list_runs()}
    assert after == before
    assert store.create_run(RunConfig(name="next")) == 4
    assert {run_id: _digest(home / "runs" / str(run_id) / "model.keras") for run_id in digests} == digests


def test_recover_keeps_rows_that_exist_and_reads_folders_without_a_record(home):
    store, _ = _finished_runs(home)
    store.rename(2, "renamed since")  # the row says so; the folder's record does not
    (home / "runs" / "3" / RECORD_FILE).unlink()  # a run from before records were kept
    (home / "runs" / "3" / HISTORY_FILE).unlink()
    (home / "runs" / "7").mkdir()  # a folder without config.json
    (home / "runs" / "8").mkdir()  # a run that died before saving anything, with a traceback in its log
    (home / "runs" / "8" / "config.json").write_text(RunConfig(name="crashed").to_json())
    (home / "runs" / "8" / "worker.log").write_text("Traceback (most recent call last):\n  boom\n")
    with store.db.transaction() as conn:
        conn.execute("DELETE FROM runs WHERE id IN (1, 3)")
    report = recover_runs(home, kinds.results_files())
    assert sorted(report.recovered) == [1, 3, 8] and report.kept == [2]
    assert report.with_history == [1]
    assert "config.json" in report.skipped[7]
    runs = {run.id: run for run in RunStore(home).list_runs()}
    assert runs[2].name == "renamed since", "a row that exists is never overwritten"
    assert runs[1].status == "completed" and runs[1].tags == ["keep"]
    assert runs[3].status == "completed" and runs[3].summary["test_accuracy"] == 0.9  # from evaluation.json
    assert runs[8].status == "failed" and "worker.log" in runs[8].error
    assert recover_runs(home, kinds.results_files()).recovered == [], "a second recovery finds nothing missing"


def test_recover_skips_a_folder_whose_worker_still_trains(home, monkeypatch):
    _finished_runs(home, count=1)
    _lose_database(home)
    monkeypatch.setattr(recover_module, "lock_held", lambda path: True)
    report = recover_runs(home, kinds.results_files())
    assert report.recovered == [] and "still training" in report.skipped[1]


# -- point 8: corrupt and read-only databases -------------------------------------------------------

def test_a_corrupt_database_gives_one_line_naming_the_file_and_the_recover_command(home, capsys):
    _finished_runs(home)
    (home / "runs.sqlite").write_bytes(GARBAGE)
    assert cli(["--home", str(home), "runs", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(home / "runs.sqlite") in err and "python -m metalearn_core store recover" in err
    with pytest.raises(CorruptDatabase):
        RunStore(home)


def test_a_database_damaged_inside_says_so_too(home):
    store, _ = _finished_runs(home)
    data = bytearray((home / "runs.sqlite").read_bytes())
    data[100:4096] = os.urandom(3996)  # a good header over a garbled first page
    (home / "runs.sqlite").write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase, match="store recover"):
        store.list_runs()


def test_recover_moves_a_corrupt_database_aside_and_brings_every_run_back(home, capsys):
    _finished_runs(home)
    (home / "runs.sqlite").write_bytes(GARBAGE)
    assert cli(["--home", str(home), "store", "recover"]) == 0
    out = capsys.readouterr().out
    assert "moved aside" in out and "recovered 3 runs" in out
    aside = [path for path in home.iterdir() if path.name.startswith("runs.sqlite.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes() == GARBAGE, "the damaged file is kept, never deleted"
    assert [run.name for run in RunStore(home).list_runs()] == ["kept-2", "kept-1", "kept-0"]


def test_store_copy_refuses_a_target_that_is_not_an_sqlite_database(home, tmp_path, capsys):
    RunStore(home).create_run(RunConfig(name="one"))
    RunStore(home).finish(1, "completed")
    text_file = tmp_path / "passwd"
    text_file.write_text("root:x:0:0:root:/root:/bin/bash\n")
    for target in (text_file, tmp_path):
        assert cli(["--home", str(home), "store", "copy", "--to", str(target)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err and str(target) in err
    assert text_file.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    assert cli(["--home", str(home), "store", "copy", "--to", "/etc/passwd"]) == 2
    assert "not an SQLite database" in capsys.readouterr().err


@pytest.fixture()
def shared_home():
    """A home outside pytest's private temporary folder, so another user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="metalearn-readonly-"))
    folder.chmod(0o755)
    yield folder / "home"
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _as_another_user(*arguments: str, home: Path) -> subprocess.CompletedProcess:
    """The CLI as a user who may not write ``home``: ``nobody`` (through util-linux's setpriv) when
    the tests run as root, who writes anything; else the current user once the home is read-only."""
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no user here to whom a folder is read-only")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    environment = {key: value for key, value in os.environ.items() if key != "METALEARN_DB"}
    environment.update(PYTHONPATH=str(ROOT), HOME=str(home.parent), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([*prefix, sys.executable, "-m", "metalearn_core", "--home", str(home), *arguments],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def _make_read_only(home: Path) -> None:
    for path in [home, *home.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


@pytest.mark.slow
def test_a_read_only_home_lists_and_shows_runs_and_refuses_changes_in_one_line(shared_home, monkeypatch):
    monkeypatch.delenv("METALEARN_DB", raising=False)
    _finished_runs(shared_home)
    _make_read_only(shared_home)
    listed = _as_another_user("runs", "list", home=shared_home)
    assert listed.returncode == 0, listed.stderr
    assert all(f"kept-{number}" in listed.stdout for number in range(3))
    shown = _as_another_user("runs", "show", "2", home=shared_home)
    assert shown.returncode == 0 and "kept-1" in shown.stdout, shown.stderr
    info = _as_another_user("store", "info", home=shared_home)
    assert info.returncode == 0 and "read-only" in info.stdout
    for change in (("runs", "delete", "1"), ("runs", "rename", "1", "new"), ("runs", "tag", "1", "x"),
                   ("train", "--detach", "--epochs", "1"), ("store", "recover")):
        refused = _as_another_user(*change, home=shared_home)
        assert refused.returncode == 2, (change, refused.stdout, refused.stderr)
        assert "read-only" in refused.stderr and "Traceback" not in refused.stderr, (change, refused.stderr)
    assert sorted(path.name for path in shared_home.iterdir()) == ["runs", "runs.sqlite"], "nothing was written"
    assert [run.name for run in RunStore(shared_home).list_runs()] == ["kept-2", "kept-1", "kept-0"]


@pytest.mark.slow
def test_a_read_only_file_in_a_writable_folder_opens_read_only(shared_home, monkeypatch):
    monkeypatch.delenv("METALEARN_DB", raising=False)
    _finished_runs(shared_home, count=1)
    shared_home.chmod(0o777)
    (shared_home / "runs.sqlite").chmod(0o444)
    listed = _as_another_user("runs", "list", home=shared_home)
    assert listed.returncode == 0 and "kept-0" in listed.stdout, listed.stderr
    refused = _as_another_user("runs", "delete", "1", home=shared_home)
    assert refused.returncode == 2 and "read-only" in refused.stderr, refused.stderr


def test_a_read_only_store_refuses_writes_with_a_value_error(home, monkeypatch):
    _finished_runs(home, count=1)
    monkeypatch.setattr("metalearn_core.runs.database.writable", lambda path: False)
    store = RunStore(home)
    assert store.read_only and "read-only" in store.read_only_reason
    assert [run.name for run in store.list_runs()] == ["kept-0"]
    assert len(store.metrics(1)) == 6
    with pytest.raises(ReadOnlyDatabase):
        store.create_run(RunConfig())
    with pytest.raises(ValueError, match="read-only"):  # pages show ValueErrors as messages
        store.rename(1, "x")


def test_the_server_still_starts_on_a_corrupt_or_read_only_home(home, monkeypatch, capsys):
    from dashboard import serve

    RunStore(home)
    (home / "runs.sqlite").write_bytes(GARBAGE)
    started = []
    monkeypatch.setattr(serve.os, "execv", lambda program, arguments: started.append(arguments))
    monkeypatch.setattr(serve.runner, "ensure_spare", lambda *args, **kwargs: started.append("spare"))
    serve.main([])
    assert started and started[0][2:4] == ["streamlit", "run"], "the server starts"
    assert "store recover" in capsys.readouterr().err
    (home / "runs.sqlite").unlink()
    RunStore(home)
    monkeypatch.setattr("metalearn_core.runs.database.writable", lambda path: False)
    started.clear()
    serve.main([])
    assert started[-1][2:4] == ["streamlit", "run"] and "spare" not in started, "no warm worker in a read-only home"
    assert "read-only" in capsys.readouterr().err
