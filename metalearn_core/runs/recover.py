"""Rebuild the run index from the run folders: ``python -m metalearn_core store recover``.

The database is an index over ``<home>/runs/<id>/``; when it is lost (deleted, emptied) or damaged,
everything a run left in its folder can be brought back:

- its config (``config.json``): name, kind and every setting;
- its record (``record.json``, written by :meth:`RunStore.finish`): status, tags, times, summary,
  note and owner; a folder without one gets its status from the files it
  holds (a results file such as ``evaluation.json`` means the run completed; without one it ended
  early: ``failed`` when its worker log shows a traceback, else ``interrupted``) and its test
  accuracy from ``evaluation.json``;
- its metric history (``metrics.json``, likewise): the curves, in-epoch points and layer statistics.

Rows that exist are never changed: a folder whose run is in the index is left alone. A damaged SQLite
file is first moved aside (``runs.sqlite.damaged-<time>``), never deleted. A folder whose worker is
still training is skipped (recover again once it has ended).

Example:
    >>> recover_runs("~/.metalearn", kinds.results_files()).describe()  # doctest: +SKIP
    'recovered 3 runs (3 with their curves) into SQLite file ...'
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metalearn_core.runs.database import Connection, CorruptDatabase, ReadOnlyDatabase
from metalearn_core.runs.store import ACTIVE, HISTORY_FILE, RECORD_FILE, STATUSES, RunStore, lock_held
from metalearn_core.safe_input import InputError, load_json, read_json_file, read_text, try_parse_id

MAX_HISTORY_BYTES = 64_000_000  # a long run's metrics, points and histograms: a few MB
MAX_EVALUATION_BYTES = 16_000_000  # evaluation.json holds every test prediction


@dataclass
class Recovery:
    """What :func:`recover_runs` did."""

    where: str
    recovered: list[int] = field(default_factory=list)
    with_history: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    moved_aside: Path | None = None

    def describe(self) -> str:
        """A few lines for the command line."""
        lines = []
        if self.moved_aside is not None:
            lines.append(f"the damaged database was moved aside to {self.moved_aside}")
        curves = f" ({len(self.with_history)} with their curves)" if self.recovered else ""
        ids = f": {_ids(self.recovered)}" if self.recovered else ""
        lines.append(f"recovered {len(self.recovered)} runs{curves} into {self.where}{ids}")
        if self.kept:
            lines.append(f"{len(self.kept)} runs already in the index were left as they were: {_ids(self.kept)}")
        for run_id, why in sorted(self.skipped.items()):
            lines.append(f"folder runs/{run_id} not recovered: {why}")
        return "\n".join(lines)


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, sorted(ids)))


def open_for_recovery(home: str | os.PathLike, database: str | None = None) -> tuple[RunStore, Path | None]:
    """The store of ``home``; a damaged SQLite database is moved aside first (returned) and a new one made."""
    try:
        store = RunStore(home, database=database)
    except CorruptDatabase as error:
        path = error.path
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):  # a damaged file's journal belongs to it, not to the new one
            journal = path.with_name(path.name + suffix)
            if journal.exists():
                os.replace(journal, aside.with_name(aside.name + suffix))
        return RunStore(home, database=database), aside
    return store, None


def recover_runs(home: str | os.PathLike, finished_files: Iterable[str], database: str | None = None) -> Recovery:
    """Put every run folder of ``home`` whose run is missing from the database back into it.

    Args:
        home: the data home.
        finished_files: the files a run writes only once it has finished (each kind's
            ``results_file``): a folder holding one is recovered as a completed run.
        database: the database, if not the home's own.
    """
    finished_files = tuple(finished_files)
    store, aside = open_for_recovery(home, database)
    if store.read_only:
        raise ReadOnlyDatabase(store.read_only_reason)
    report = Recovery(where=store.db.describe(), moved_aside=aside)
    with store.db.connection() as conn:
        known = {row["id"] for row in conn.execute("SELECT id FROM runs").fetchall()}
    root = store.home / "runs"
    folders = sorted((run_id, path) for path in (root.iterdir() if root.is_dir() else ())
                     if path.is_dir() and (run_id := try_parse_id(path.name)) is not None)
    for run_id, folder in folders:
        if run_id in known:
            report.kept.append(run_id)
            continue
        if lock_held(folder / "worker.lock"):
            report.skipped[run_id] = "its worker is still training; recover again once it has ended"
            continue
        try:
            row = _row(run_id, folder, finished_files)
        except InputError as error:
            report.skipped[run_id] = str(error)
            continue
        history = _history(folder)
        with store.db.transaction() as conn:
            inserted = conn.execute(
                "INSERT INTO runs (id, name, kind, status, config, tags, created_at, started_at, ended_at, summary, "
                "error, owner, executor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
                (run_id, row["name"], row["kind"], row["status"], row["config"], json.dumps(row["tags"]),
                 row["created_at"], row["started_at"], row["ended_at"], json.dumps(row["summary"]), row["error"],
                 row["owner"], row["executor"])).fetchone()
            if inserted is None:  # another process put it back meanwhile: theirs stays
                report.kept.append(run_id)
                continue
            if history is not None:
                _insert_history(conn, run_id, history)
            store.db.advance_ids(conn, "runs", run_id)
        report.recovered.append(run_id)
        if history is not None and history["metrics"]:
            report.with_history.append(run_id)
    return report


def _row(run_id: int, folder: Path, finished_files: tuple[str, ...]) -> dict[str, Any]:
    """The run's row from its folder: config.json, then record.json or what the files say."""
    source = f"runs/{run_id}/config.json"
    config_text = read_text(folder / "config.json", source)
    config = load_json(config_text, source)
    if not isinstance(config, dict):
        raise InputError(f"runs/{run_id}/config.json does not hold a run config")
    kind = config.get("kind") if isinstance(config.get("kind"), str) else "base"
    name = config.get("name") if isinstance(config.get("name"), str) and config.get("name") else f"{kind}-{run_id}"
    created = (folder / "config.json").stat().st_mtime
    row: dict[str, Any] = {"name": name, "kind": kind, "config": config_text, "tags": [], "created_at": created,
                           "started_at": created, "ended_at": _last_change(folder), "summary": {}, "error": "",
                           "owner": "", "executor": "local"}
    record = _record(folder)
    if record is not None:
        row.update(record)
    else:
        row.update(_from_files(folder, finished_files))
    if row["status"] in ACTIVE:  # it never finished, and nothing trains it now
        row["status"], row["error"] = "interrupted", row["error"] or "recovered from its folder; it never finished"
    return row


def _record(folder: Path) -> dict[str, Any] | None:
    """The fields of record.json that have the right types; None when there is none or it is unreadable."""
    try:
        record = read_json_file(folder / RECORD_FILE)
    except InputError:
        return None
    if not isinstance(record, dict) or record.get("status") not in STATUSES:
        return None
    types = {"name": str, "kind": str, "status": str, "tags": list, "created_at": (int, float),
             "started_at": (int, float), "ended_at": (int, float), "summary": dict, "error": str, "owner": str,
             "executor": str}
    fields = {key: record[key] for key, kind in types.items() if isinstance(record.get(key), kind)}
    fields["tags"] = [tag for tag in fields.get("tags", []) if isinstance(tag, str)]
    return fields


def _from_files(folder: Path, finished_files: tuple[str, ...]) -> dict[str, Any]:
    """Status, note and summary of a folder without a record, from the files it holds."""
    if any((folder / name).is_file() for name in finished_files):
        summary: dict[str, Any] = {"recovered": "from its folder (no record): times are the files' times"}
        try:
            evaluation = read_json_file(folder / "evaluation.json", max_bytes=MAX_EVALUATION_BYTES)
        except InputError:
            evaluation = None
        if isinstance(evaluation, dict):
            for key, target in (("accuracy", "test_accuracy"), ("loss", "test_loss")):
                if isinstance(evaluation.get(key), (int, float)):
                    summary[target] = evaluation[key]
        return {"status": "completed", "summary": summary}
    try:
        log = read_text(folder / "worker.log", max_bytes=4_000_000)
    except InputError:
        log = ""
    if "Traceback (most recent call last)" in log:
        return {"status": "failed", "error": "recovered from its folder: its worker log (worker.log) shows an error"}
    return {"status": "interrupted", "error": "recovered from its folder: it ended before saving a result"}


def _last_change(folder: Path) -> float:
    times = [path.stat().st_mtime for path in folder.iterdir() if path.is_file()]
    return max(times, default=folder.stat().st_mtime)


def _history(folder: Path) -> dict[str, list] | None:
    """metrics.json's rows that have the right shape; None when there is none or it is unreadable."""
    try:
        history = read_json_file(folder / HISTORY_FILE, max_bytes=MAX_HISTORY_BYTES)
    except InputError:
        return None
    if not isinstance(history, dict):
        return None

    def number(value: Any) -> bool:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))

    metrics = [row for row in history.get("metrics") or [] if isinstance(row, list) and len(row) == 4
               and isinstance(row[0], str) and isinstance(row[1], int) and isinstance(row[2], str) and number(row[3])]
    points = [row for row in history.get("points") or [] if isinstance(row, list) and len(row) == 4
              and isinstance(row[0], str) and number(row[1]) and row[1] is not None and number(row[2])
              and number(row[3])]
    stats = [row for row in history.get("layer_stats") or [] if isinstance(row, dict)
             and isinstance(row.get("series"), str) and isinstance(row.get("epoch"), int)
             and isinstance(row.get("position"), int) and isinstance(row.get("layer"), str)
             and number(row.get("weight_norm")) and number(row.get("gradient_norm"))
             and isinstance(row.get("edges"), list) and isinstance(row.get("counts"), list)]
    return {"metrics": metrics, "points": points, "layer_stats": stats}


def _insert_history(conn: Connection, run_id: int, history: dict[str, list]) -> None:
    conn.executemany("INSERT INTO metrics (run_id, series, epoch, name, value) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (run_id, series, epoch, name) DO NOTHING",
                     [(run_id, *row) for row in history["metrics"]])
    conn.executemany("INSERT INTO points (run_id, series, x, loss, accuracy) VALUES (?, ?, ?, ?, ?)",
                     [(run_id, *row) for row in history["points"]])
    conn.executemany(
        "INSERT INTO layer_stats (run_id, series, epoch, position, layer, weight_norm, gradient_norm, histogram) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, series, epoch, position) DO NOTHING",
        [(run_id, row["series"], row["epoch"], row["position"], row["layer"], row["weight_norm"],
          row["gradient_norm"], json.dumps({"edges": row["edges"], "counts": row["counts"]}))
         for row in history["layer_stats"]])
