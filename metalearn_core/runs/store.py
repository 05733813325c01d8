"""The run store: a database (embedded SQLite in WAL mode by default, or PostgreSQL) plus a folder
per run.

A run has an id, a name, a kind, a status, its config as JSON, timestamps, summary metrics, error
text, tags, live progress, a metric history (one row per series, epoch and metric) and layer
statistics (one row per series, epoch and weighted layer: weight and gradient norms and a weight
histogram; the table is created when an older home without it is opened). Artifacts
(saved models, the evaluation with its confusion matrix, the worker's log) live in
``<home>/runs/<id>/``.

The database comes from ``METALEARN_DB`` (see :mod:`metalearn_core.runs.database`); the schema is
created and migrated by the store itself, so a home written by an older version opens as it is.
Artifacts can also be kept on a shared folder or any fsspec URL (``METALEARN_ARTIFACTS``, see
:mod:`metalearn_core.runs.artifacts`). A run has an ``owner`` (empty unless classroom sign-in is on)
and an ``executor``: ``local`` (a process on this host) or ``dask`` (a task on a Dask cluster).

Local runs whose worker process has died (killed with SIGKILL, say) are marked ``interrupted`` the next
time anyone reads them: each worker holds an exclusive ``flock`` on ``worker.lock`` in its folder
for as long as it lives, and the operating system drops that lock when the process dies, however
it dies. A run on another host cannot be seen that way: its worker writes a heartbeat to the
database every few seconds, and a running run whose heartbeat is older than
:data:`HEARTBEAT_TIMEOUT` is marked interrupted.

The run folders outlive the database: a new run never takes the id of an existing folder (its id
continues past the highest one), and a finished run leaves its record (:data:`RECORD_FILE`: name,
status, tags, times, summary) and its metric history (:data:`HISTORY_FILE`) in its folder, from
which ``python -m metalearn_core store recover`` (:mod:`metalearn_core.runs.recover`) rebuilds a
lost or damaged database. A home this process cannot write opens read-only (:attr:`RunStore.read_only`):
runs can be listed and viewed; a write raises
:class:`~metalearn_core.runs.database.ReadOnlyDatabase`, a ValueError with the reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.runs.artifacts import Artifacts, open_artifacts
from metalearn_core.runs.database import Connection, Database, ReadOnlyDatabase, open_database
from metalearn_core.safe_input import InputError, check_label, load_json, try_parse_id

STATUSES = ("queued", "running", "completed", "failed", "cancelled", "diverged", "interrupted")
ACTIVE = ("queued", "running")
LAUNCH_GRACE_SECONDS = 60.0  # a queued run with no worker after this long lost its launcher
HEARTBEAT_TIMEOUT = 30.0  # a running run on another host whose heartbeat is older than this is lost
SCHEMA_VERSION = 3  # 1: the first schema; 2: layer_stats and lock_path; 3: owner, executor, heartbeat
RECORD_FILE = "record.json"  # a finished run's row, kept in its folder for `store recover`
HISTORY_FILE = "metrics.json"  # its metrics, in-epoch points and layer statistics, likewise
RECORD_FIELDS = ("name", "kind", "status", "tags", "created_at", "started_at", "ended_at", "summary", "error",
                 "owner", "executor")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id {pk},
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at {real} NOT NULL,
    started_at {real},
    ended_at {real},
    summary TEXT NOT NULL DEFAULT '{{}}',
    error TEXT NOT NULL DEFAULT '',
    progress TEXT NOT NULL DEFAULT '{{}}',
    pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id {bigint} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    name TEXT NOT NULL,
    value {real},
    PRIMARY KEY (run_id, series, epoch, name)
);
CREATE TABLE IF NOT EXISTS points (
    run_id {bigint} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    x {real} NOT NULL,
    loss {real},
    accuracy {real}
);
CREATE INDEX IF NOT EXISTS points_by_run ON points (run_id, series, x);
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id {bigint} NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    position INTEGER NOT NULL,
    layer TEXT NOT NULL,
    weight_norm {real},
    gradient_norm {real},
    histogram TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, series, epoch, position)
);
CREATE TABLE IF NOT EXISTS spare (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    mnist TEXT NOT NULL,
    run_id {bigint},
    ready_at {real} NOT NULL
);
"""
# Columns added since the first schema: a home written before them gains them when opened.
_ADDED_COLUMNS = (
    ("runs", "lock_path", "TEXT"),
    ("runs", "owner", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "executor", "TEXT NOT NULL DEFAULT 'local'"),
    ("runs", "executor_handle", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "heartbeat_at", "{real}"),
)
_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)
"""


class RunNotFound(KeyError):
    """No run has that id."""

    def __str__(self) -> str:
        return f"no run with id {self.args[0]}"


@dataclass
class Run:
    """One run as read from the store."""

    id: int
    name: str
    kind: str
    status: str
    config_json: str
    tags: list[str]
    created_at: float
    started_at: float | None
    ended_at: float | None
    summary: dict[str, Any]
    error: str
    progress: dict[str, Any]
    pid: int | None
    cancel_requested: bool
    folder: Path = field(default=Path("."))
    owner: str = ""
    executor: str = "local"
    executor_handle: str = ""
    heartbeat_at: float | None = None

    @property
    def config(self) -> RunConfig:
        """The parsed config; raises ConfigError (naming the run) when the stored JSON is broken."""
        return RunConfig.from_json(self.config_json, source=f"run {self.id} config")

    @property
    def config_error(self) -> str:
        """Empty when the config parses, else the message."""
        try:
            self.config  # noqa: B018 - parsing is the check
        except ConfigError as error:
            return str(error)
        return ""

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def test_accuracy(self) -> float | None:
        return self.summary.get("test_accuracy")


def _clean_tags(tags: list[str]) -> list[str]:
    return sorted({tag.strip() for tag in tags if tag.strip()})


def _decode(text: str | None, default: Any) -> Any:
    """A JSON column's value, or ``default`` when it is empty, damaged or of another type (a list
    where an object belongs)."""
    try:
        value = load_json(text, "stored value") if text else default
    except InputError:
        return default
    return value if isinstance(value, type(default)) else default


class RunStore:
    """Runs in a database (``<home>/runs.sqlite`` unless ``database`` or ``METALEARN_DB`` names
    another) and ``<home>/runs/<id>/``.

    SQLite gets a short-lived connection per call and PostgreSQL one connection per thread, so one
    store object can be shared by threads (Streamlit sessions) and many processes can use the same
    home at once.

    Example:
        >>> store = RunStore("/tmp/metalearn-demo")  # doctest: +SKIP
        >>> run_id = store.create_run(RunConfig(name="try"))  # doctest: +SKIP
    """

    def __init__(self, home: str | Path, database: str | None = None, artifacts: str | None = None) -> None:
        self.home = Path(home).expanduser()
        try:
            (self.home / "runs").mkdir(parents=True, exist_ok=True)
        except OSError:
            if not self.home.is_dir():
                raise
            # a read-only home: what it holds can still be read (the database says if it cannot)
        self.database_url = database if database is not None else os.environ.get("METALEARN_DB") or None
        self.db: Database = open_database(self.database_url, self.home)
        self.db_path = getattr(self.db, "path", None)  # the SQLite file, None on PostgreSQL
        self.artifacts: Artifacts | None = open_artifacts(
            artifacts if artifacts is not None else os.environ.get("METALEARN_ARTIFACTS") or None)
        self.db.migrate(_SCHEMA, _ADDED_COLUMNS, SCHEMA_VERSION, _INDEXES)

    @property
    def read_only(self) -> bool:
        """True when this process cannot write the database: runs can be viewed, not launched or changed."""
        return self.db.read_only

    @property
    def read_only_reason(self) -> str:
        """Why nothing can be launched or changed here (empty when the store is writable)."""
        if not self.read_only:
            return ""
        where = self.db_path if self.db_path is not None else self.db.describe()
        return (f"this data home is read-only here ({where} cannot be written): runs can be listed and "
                "viewed, not launched, changed or deleted")

    def _connect(self) -> contextlib.AbstractContextManager[Connection]:
        return self.db.connection()

    def _transaction(self) -> contextlib.AbstractContextManager[Connection]:
        return self.db.transaction()

    def check_database(self) -> None:
        """Read the database once, so that a damaged file or an unreachable server raises its
        DatabaseError (with what to do) now, before a page has drawn half of itself."""
        with self._connect() as conn:
            conn.execute("SELECT id FROM runs LIMIT 1").fetchone()

    def describe(self) -> str:
        """Where the runs live, for the CLI and the sidebar."""
        where = f"{self.db.describe()}; run folders in {self.home / 'runs'}"
        return where + (f"; artifacts also at {self.artifacts.describe()}" if self.artifacts else "")

    def run_folder(self, run_id: int) -> Path:
        return self.home / "runs" / str(run_id)

    # -- writing ------------------------------------------------------------------------------
    def create_run(self, config: RunConfig, tags: list[str] | None = None, owner: str = "") -> int:
        """Insert a queued run (with ``tags``, say a sweep's, and the signed-in ``owner``, if any),
        write its config.json and return its id.

        The run's folder is made (never reused) in the same transaction: when a folder with the id
        the database hands out already exists (the database was lost and made again, say, while the
        run folders stayed), the run takes the next id past every folder instead, and later ids
        continue from there. An existing folder is never written into."""
        if self.read_only:
            raise ReadOnlyDatabase(self.read_only_reason)
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO runs (name, kind, status, config, tags, created_at, owner) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?) RETURNING id",
                (config.name, config.kind, config.to_json(), json.dumps(_clean_tags(tags or [])), time.time(),
                 owner or ""),
            ).fetchone()
            run_id = int(row["id"])
            if not self._claim_folder(run_id):
                run_id = self._move_past_folders(conn, run_id)
            try:
                if not config.name:
                    conn.execute("UPDATE runs SET name = ? WHERE id = ?", (f"{config.kind}-{run_id}", run_id))
                (self.run_folder(run_id) / "config.json").write_text(config.to_json())
            except BaseException:
                shutil.rmtree(self.run_folder(run_id), ignore_errors=True)  # ours alone: made just now
                raise
        return run_id

    def _claim_folder(self, run_id: int) -> bool:
        """Make the run's folder; False when it exists already (it belongs to an earlier run)."""
        try:
            self.run_folder(run_id).mkdir(parents=True)
        except FileExistsError:
            return False
        return True

    def _move_past_folders(self, conn: Connection, run_id: int) -> int:
        """Move the new run ``run_id`` to the first free id past every run folder and stored run
        (making its folder), and have the database hand out ids after it from now on."""
        folders = [number for path in (self.home / "runs").iterdir() if (number := try_parse_id(path.name))]
        highest = conn.execute("SELECT MAX(id) AS n FROM runs").fetchone()["n"] or 0
        new_id = max([highest, run_id, *folders]) + 1
        while not self._claim_folder(new_id):  # another process took it meanwhile
            new_id += 1
        conn.execute("UPDATE runs SET id = ? WHERE id = ?", (new_id, run_id))
        self.db.advance_ids(conn, "runs", new_id)
        return new_id

    def _update(self, run_id: int, **values: Any) -> None:
        columns = ", ".join(f"{key} = ?" for key in values)
        with self._transaction() as conn:
            cursor = conn.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))
            if cursor.rowcount == 0:
                raise RunNotFound(run_id)

    def set_pid(self, run_id: int, pid: int) -> None:
        self._update(run_id, pid=pid)

    def mark_running(self, run_id: int) -> None:
        self._update(run_id, status="running", started_at=time.time())

    def finish(self, run_id: int, status: str, summary: dict | None = None, error: str = "") -> None:
        """Record the final status (and summary or error) of a run; its folder gets a copy of its
        record and metric history first (see :meth:`save_to_folder`)."""
        if status not in STATUSES or status in ACTIVE:
            raise ValueError(f"finish needs a final status, got {status!r}")
        values: dict[str, Any] = {"status": status, "ended_at": time.time(), "error": error}
        if summary is not None:
            values["summary"] = json.dumps(summary)
        self.save_to_folder(run_id, {**values, "summary": summary} if summary is not None else values)
        self._update(run_id, **values)

    def save_to_folder(self, run_id: int, changes: dict[str, Any] | None = None) -> bool:
        """Write the run's record (:data:`RECORD_FILE`, with ``changes`` applied) and its metric
        history (:data:`HISTORY_FILE`) into its folder, each replaced whole, so that
        ``store recover`` can bring the run back with its curves if the database is lost.
        Returns False (and leaves the files as they were) when the run or its folder is missing
        or cannot be written: the database stays the record."""
        folder = self.run_folder(run_id)
        if not folder.is_dir():
            return False
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                return False
            run = self._row_to_run(row)
            record = {"format": 1, "id": run_id, **{name: getattr(run, name) for name in RECORD_FIELDS}}
            record.update({key: value for key, value in (changes or {}).items() if key in RECORD_FIELDS})
            history = {"format": 1,
                       "metrics": [[row["series"], row["epoch"], row["name"], row["value"]]
                                   for row in self.metrics(run_id)],
                       "points": [[row["series"], row["x"], row["loss"], row["accuracy"]]
                                  for row in self.points(run_id)],
                       "layer_stats": self.layer_stats(run_id)}
            _write_whole(folder / HISTORY_FILE, json.dumps(history, separators=(",", ":")))
            _write_whole(folder / RECORD_FILE, json.dumps(record, indent=1))
        except OSError:
            return False
        return True

    def update_summary(self, run_id: int, **items: Any) -> None:
        """Merge items into the run's summary."""
        with self._transaction() as conn:
            row = conn.execute("SELECT summary FROM runs WHERE id = ?" + self.db.for_update, (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id)
            summary = _decode(row["summary"], {})
            summary.update(items)
            conn.execute("UPDATE runs SET summary = ? WHERE id = ?", (json.dumps(summary), run_id))

    def set_progress(self, run_id: int, progress: dict[str, Any]) -> None:
        """Replace the live progress and, when it carries running metrics, keep them as a point
        of the in-epoch curve (x in epochs: 0.5 is halfway through the first epoch)."""
        with self._transaction() as conn:
            cursor = conn.execute("UPDATE runs SET progress = ? WHERE id = ?", (json.dumps(progress), run_id))
            if cursor.rowcount == 0:
                raise RunNotFound(run_id)
            if progress.get("x") is not None and progress.get("loss") is not None:
                conn.execute("INSERT INTO points (run_id, series, x, loss, accuracy) VALUES (?, ?, ?, ?, ?)",
                             (run_id, progress.get("series", "train"), progress["x"], progress["loss"],
                              progress.get("accuracy")))

    def log_metrics(self, run_id: int, series: str, epoch: int, values: dict[str, float]) -> None:
        """Store one epoch's metrics for a series ("train" for a base run, one per stacked model)."""
        rows = [(run_id, series, epoch, name, _finite_or_none(value)) for name, value in values.items()]
        with self._transaction() as conn:
            conn.executemany("INSERT INTO metrics (run_id, series, epoch, name, value) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT (run_id, series, epoch, name) DO UPDATE SET value = excluded.value", rows)

    def log_layer_stats(self, run_id: int, series: str, epoch: int, stats: list[dict[str, Any]]) -> None:
        """Store one epoch's layer statistics (see ``metalearn_core.models.layer_statistics``): per layer in
        model order its name, weight and gradient norms (NULL when not finite) and histogram."""
        rows = [(run_id, series, epoch, position, row["layer"], _finite_or_none(row["weight_norm"]),
                 _finite_or_none(row["gradient_norm"]),
                 json.dumps({"edges": row["edges"], "counts": row["counts"]}))
                for position, row in enumerate(stats)]
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO layer_stats (run_id, series, epoch, position, layer, weight_norm, gradient_norm, "
                "histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, series, epoch, position) DO UPDATE "
                "SET layer = excluded.layer, weight_norm = excluded.weight_norm, "
                "gradient_norm = excluded.gradient_norm, histogram = excluded.histogram", rows)

    def rename(self, run_id: int, name: str) -> None:
        """A new name: 1 to 200 characters, no control characters (raises InputError, a ValueError)."""
        self._update(run_id, name=check_label(name, "run name"))

    def set_tags(self, run_id: int, tags: list[str]) -> None:
        """Replace the tags; each up to 100 characters with no control characters."""
        cleaned = _clean_tags(tags)
        for tag in cleaned:
            check_label(tag, "tag", max_length=100)
        self._update(run_id, tags=json.dumps(cleaned))

    def set_executor(self, run_id: int, executor: str, handle: str = "") -> None:
        """Record where the run trains: ``dask`` with its task key, say."""
        self._update(run_id, executor=executor, executor_handle=handle)

    def heartbeat(self, run_id: int) -> bool:
        """A remote worker's sign of life; returns whether a cancel was requested meanwhile."""
        with self._transaction() as conn:
            row = conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ? RETURNING cancel_requested",
                               (time.time(), run_id)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return bool(row["cancel_requested"])

    def request_cancel(self, run_id: int, reason: str = "") -> None:
        """Flag the run for cancelling; ``reason`` (say "pruned by sweep 3") becomes its note."""
        self._update(run_id, cancel_requested=1, **({"error": reason} if reason else {}))

    def delete(self, run_id: int) -> None:
        """Delete a run, its metrics and its folder. An active run must be cancelled first."""
        run = self.get(run_id)
        if run.is_active:
            raise ValueError(f"run {run_id} is {run.status}: cancel it before deleting it")
        with self._transaction() as conn:
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM points WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM layer_stats WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        shutil.rmtree(self.run_folder(run_id), ignore_errors=True)
        if self.artifacts is not None:
            self.artifacts.delete(run_id)

    # -- reading ------------------------------------------------------------------------------
    def _row_to_run(self, row: Any) -> Run:
        return Run(
            id=row["id"], name=row["name"], kind=row["kind"], status=row["status"],
            config_json=row["config"], tags=_decode(row["tags"], []),
            created_at=row["created_at"], started_at=row["started_at"], ended_at=row["ended_at"],
            summary=_decode(row["summary"], {}), error=row["error"],
            progress=_decode(row["progress"], {}), pid=row["pid"],
            cancel_requested=bool(row["cancel_requested"]), folder=self.run_folder(row["id"]),
            owner=row["owner"] or "", executor=row["executor"] or "local",
            executor_handle=row["executor_handle"] or "", heartbeat_at=row["heartbeat_at"],
        )

    def get(self, run_id: int) -> Run:
        """One run, after checking that an active run's worker is still alive."""
        lost = self.reconcile([run_id])
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        run = self._as_lost(self._row_to_run(row), lost)
        if self.artifacts is not None and not run.is_active and not self.read_only:
            self.artifacts.pull(run.id, run.folder)  # a run trained elsewhere: its files come here once
        return run

    def _as_lost(self, run: Run, lost: list[int]) -> Run:
        """A read-only store cannot mark a run whose worker is gone: it shows it interrupted all the same."""
        if self.read_only and run.id in lost and run.is_active:
            run.status = "interrupted"
            run.error = run.error or "the worker process stopped unexpectedly (killed or crashed)"
        return run

    def list_runs(self, statuses: tuple[str, ...] | None = None, owner: str | None = None) -> list[Run]:
        """All runs (only ``owner``'s when given), newest first, after marking runs with dead
        workers as interrupted."""
        lost = self.reconcile()
        with self._connect() as conn:
            if owner is None:
                rows = conn.execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
            else:
                rows = conn.execute("SELECT * FROM runs WHERE owner = ? ORDER BY id DESC", (owner,)).fetchall()
        runs = [self._as_lost(self._row_to_run(row), lost) for row in rows]
        return [run for run in runs if statuses is None or run.status in statuses]

    def metrics(self, run_id: int) -> list[dict[str, Any]]:
        """The metric history as rows of (series, epoch, name, value), in epoch order."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT series, epoch, name, value FROM metrics WHERE run_id = ? ORDER BY series, epoch, name",
                (run_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def points(self, run_id: int) -> list[dict[str, Any]]:
        """In-epoch running loss/accuracy points: rows of (series, x, loss, accuracy) in order."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT series, x, loss, accuracy FROM points WHERE run_id = ? ORDER BY series, x", (run_id,)
            ).fetchall()
        return [dict(row) for row in rows]

    def layer_stats(self, run_id: int) -> list[dict[str, Any]]:
        """Layer statistics as rows of (series, epoch, position, layer, weight_norm, gradient_norm,
        edges, counts), by series, epoch and position; empty for a run that has none.

        Example:
            >>> RunStore("/tmp/metalearn-demo").layer_stats(1)  # doctest: +SKIP
            [{'series': 'train', 'epoch': 0, 'position': 0, 'layer': 'dense_2', ...}]
        """
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT series, epoch, position, layer, weight_norm, gradient_norm, histogram FROM layer_stats "
                "WHERE run_id = ? ORDER BY series, epoch, position", (run_id,),
            ).fetchall()
        stats = []
        for row in rows:
            item = dict(row)
            histogram = _decode(item.pop("histogram"), {})
            stats.append({**item, "edges": histogram.get("edges", []), "counts": histogram.get("counts", [])})
        return stats

    def queue_position(self, run_id: int) -> int:
        """How many queued local runs were created before this one (a Dask cluster keeps its own queue)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) AS n FROM runs WHERE status = 'queued' AND executor = 'local' AND id < ?", (run_id,)
            ).fetchone()
        return int(row["n"])

    # -- liveness -----------------------------------------------------------------------------
    def worker_lock_path(self, run_id: int) -> Path:
        """The lock its worker holds: the run folder's, or the warm worker's when one took it."""
        with self._connect() as conn:
            row = conn.execute("SELECT lock_path FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None and row["lock_path"]:
            return Path(row["lock_path"])
        return self.run_folder(run_id) / "worker.lock"

    def worker_alive(self, run_id: int) -> bool:
        """True while some process holds the run's worker lock."""
        return lock_held(self.worker_lock_path(run_id))

    # -- the warm worker ----------------------------------------------------------------------
    @property
    def spare_lock_path(self) -> Path:
        return self.home / "spare.lock"

    def register_spare(self, pid: int, mnist: str, ready: bool = True) -> None:
        """A warm worker takes the next launched run. It registers as soon as it starts
        (``ready=False``: still importing TensorFlow and loading MNIST, ``ready_at`` 0), so a launch
        in the first seconds of a fresh server is handed to it rather than to a second process
        that would compete with it for the cores; :meth:`mark_spare_ready` follows."""
        with self._transaction() as conn:
            conn.execute("INSERT INTO spare (id, pid, mnist, run_id, ready_at) VALUES (1, ?, ?, NULL, ?) "
                         "ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, mnist = excluded.mnist, "
                         "run_id = NULL, ready_at = excluded.ready_at",
                         (pid, mnist, time.time() if ready else 0.0))

    def mark_spare_ready(self, pid: int) -> None:
        """The warm worker has imported TensorFlow and loaded MNIST."""
        with self._transaction() as conn:
            conn.execute("UPDATE spare SET ready_at = ? WHERE pid = ?", (time.time(), pid))

    def spare_state(self) -> str:
        """"none", "starting", "ready" or "claimed": what the warm worker is doing."""
        with self._connect() as conn:
            row = conn.execute("SELECT run_id, ready_at FROM spare WHERE id = 1").fetchone()
        if row is None:
            return "none"
        if row["run_id"] is not None:
            return "claimed"
        return "ready" if row["ready_at"] > 0 else "starting"

    def unregister_spare(self, pid: int) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM spare WHERE pid = ?", (pid,))

    def claim_spare(self, run_id: int, mnist: str) -> int | None:
        """Hand run ``run_id`` to the ready warm worker for the same data, if there is one; returns
        its pid. The claim and the run's new pid and lock are written in one transaction."""
        with self._transaction() as conn:
            row = conn.execute("SELECT pid, mnist, run_id FROM spare WHERE id = 1" + self.db.for_update).fetchone()
            if row is None or row["run_id"] is not None or row["mnist"] != mnist:
                return None
            conn.execute("UPDATE spare SET run_id = ? WHERE id = 1", (run_id,))
            conn.execute("UPDATE runs SET pid = ?, lock_path = ? WHERE id = ?",
                         (row["pid"], str(self.spare_lock_path), run_id))
            return int(row["pid"])

    def release_claim(self, run_id: int) -> None:
        """Undo a claim whose warm worker turned out to be gone."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM spare WHERE run_id = ?", (run_id,))
            conn.execute("UPDATE runs SET pid = NULL, lock_path = NULL WHERE id = ?", (run_id,))

    def set_lock_path(self, run_id: int, path: Path) -> None:
        """The lock the run's worker holds from now on (a warm worker moving to the run's own lock)."""
        self._update(run_id, lock_path=str(path))

    def take_claim(self, pid: int) -> int | None:
        """For the warm worker: the run handed to it, if any (it then leaves the spare slot)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT run_id FROM spare WHERE pid = ?" + self.db.for_update, (pid,)).fetchone()
            if row is None or row["run_id"] is None:
                return None
            conn.execute("DELETE FROM spare WHERE pid = ?", (pid,))
            return int(row["run_id"])

    def reconcile(self, run_ids: list[int] | None = None) -> list[int]:
        """Mark active runs whose worker is gone as interrupted; return their ids.

        A local run is gone when no process holds its worker lock (or, still without a worker, a
        minute after its launch). A remote run (``executor`` other than ``local``) is gone when it
        is running and its heartbeat is older than :data:`HEARTBEAT_TIMEOUT`; a queued remote run
        waits in its cluster's queue and is left as it is."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, pid, created_at, executor, status, started_at, heartbeat_at FROM runs "
                "WHERE status IN ('queued', 'running')"
            ).fetchall()
        lost = []
        now = time.time()
        for row in rows:
            if run_ids is not None and row["id"] not in run_ids:
                continue
            if row["executor"] != "local":
                last_sign = row["heartbeat_at"] or row["started_at"] or now
                dead = row["status"] == "running" and now - last_sign > HEARTBEAT_TIMEOUT
            elif row["pid"] is None:
                dead = now - row["created_at"] > LAUNCH_GRACE_SECONDS
            else:
                dead = not self.worker_alive(row["id"])
            if dead:
                lost.append(row["id"])
        if self.read_only:  # nothing can be written: readers see them as interrupted (see _as_lost)
            return lost
        for run_id in lost:
            with self._transaction() as conn:
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? "
                    "WHERE id = ? AND status IN ('queued', 'running')",
                    (time.time(), "the worker process stopped unexpectedly (killed or crashed); "
                     "metrics recorded so far are kept", run_id),
                )
        return lost


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def lock_held(path: Path) -> bool:
    """True while some process holds an exclusive ``flock`` on ``path``."""
    try:
        handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "ab")
    except FileNotFoundError:
        return False
    except PermissionError:  # a read-only home: Linux's flock does not need write access
        handle = open(path, "rb")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _write_whole(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file, so a reader sees the old content or the new, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
