"""Copy a data home's runs into another database: the move from SQLite to PostgreSQL, in one command.

``python -m metalearn_core store copy --to postgresql://user@host/db`` copies every run of the
current store (``METALEARN_HOME``, ``METALEARN_DB``) with its id, config, status, summary, tags,
owner, metric history, in-epoch points and layer statistics into the target, which must hold no
runs yet. Run folders stay where they are (``<home>/runs/<id>``), so the app pointed at the same
home and the new database opens every run as before; with ``--artifacts URL`` they are copied to
a shared artefact location too. Active runs are refused: cancel them, or wait for them to end. An
SQLite target must be a new file or an SQLite database: any other existing file (``--to /etc/passwd``)
is refused before it is opened, and nothing is written to it.

Example:
    >>> copy_store(RunStore("~/.metalearn"), "postgresql://postgres@127.0.0.1:5432/lab")  # doctest: +SKIP
    {'runs': 12, 'metrics': 840, 'points': 3100, 'layer_stats': 96}
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from metalearn_core.runs.database import DatabaseError, has_sqlite_header, is_postgres_url, redact
from metalearn_core.runs.store import ACTIVE, RunStore

# The copied tables and their columns, parents first (the children reference runs by id).
TABLES = {
    "runs": ("id", "name", "kind", "status", "config", "tags", "created_at", "started_at", "ended_at", "summary",
             "error", "progress", "pid", "cancel_requested", "lock_path", "owner", "executor", "executor_handle",
             "heartbeat_at"),
    "metrics": ("run_id", "series", "epoch", "name", "value"),
    "points": ("run_id", "series", "x", "loss", "accuracy"),
    "layer_stats": ("run_id", "series", "epoch", "position", "layer", "weight_norm", "gradient_norm", "histogram"),
}
BATCH = 2000


class CopyError(RuntimeError):
    """The copy cannot start; nothing was written."""


def copy_store(source: RunStore, target_url: str, artifacts: str | None = None,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every run of ``source`` into the database at ``target_url`` (created and migrated
    if need be); returns the rows copied per table. All rows go in one transaction: a failure
    leaves the target as it was."""
    active = [run.id for run in source.list_runs() if run.status in ACTIVE]
    if active:
        raise CopyError(f"runs {', '.join(map(str, active))} are still queued or running: cancel them or let "
                        "them end before copying")
    if target_url == source.database_url or (source.db_path is not None and str(source.db_path) == target_url):
        raise CopyError("the target is the store's own database")
    if not is_postgres_url(target_url):
        _check_sqlite_target(target_url, source)
    try:
        target = RunStore(source.home, database=target_url, artifacts=artifacts or "")
    except DatabaseError as error:
        raise CopyError(f"cannot open the target: {error}") from None
    if target.read_only:
        raise CopyError(f"the target {redact(target_url)} is read-only here: copy needs a database it can write")
    with target.db.connection() as conn:
        held = conn.execute("SELECT COUNT(*) AS n FROM runs").fetchone()["n"]
    if held:
        raise CopyError(f"{redact(target_url)} already holds {held} runs; copy needs a database without runs")
    counts = {}
    with source.db.connection() as reader, target.db.transaction() as writer:
        for table, columns in TABLES.items():
            names = ", ".join(columns)
            rows = reader.execute(f"SELECT {names} FROM {table} ORDER BY rowid" if source.db.dialect == "sqlite"
                                  else f"SELECT {names} FROM {table}").fetchall()
            insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            for start in range(0, len(rows), BATCH):
                writer.executemany(insert, [tuple(row[column] for column in columns)
                                            for row in rows[start:start + BATCH]])
            counts[table] = len(rows)
            if progress:
                progress(table, len(rows))
        if target.db.dialect == "postgresql":  # new runs continue after the copied ids
            writer.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                           "COALESCE((SELECT MAX(id) FROM runs), 0) + 1, false)")
    if target.artifacts is not None:
        for run in source.list_runs():
            target.artifacts.push(run.id, run.folder)
    return counts


def _check_sqlite_target(target_url: str, source: RunStore) -> None:
    """Refuse a target path that is a folder, the source's own file, or an existing file that is not
    an SQLite database, before SQLite opens (and could write) it."""
    path = Path(target_url[len("sqlite:///"):] if target_url.startswith("sqlite:///") else target_url).expanduser()
    if source.db_path is not None and path.exists() and path.resolve() == Path(source.db_path).resolve():
        raise CopyError("the target is the store's own database")
    if path.is_dir():
        raise CopyError(f"the target {path} is a folder: give a file path for a new SQLite database")
    try:
        foreign = path.exists() and not has_sqlite_header(path)
    except OSError as error:
        raise CopyError(f"cannot read the target {path}: {error.strerror or error}") from None
    if foreign:
        raise CopyError(f"the target {path} exists and is not an SQLite database: copy writes into a new "
                        "SQLite file (or an empty database), and leaves that file as it is")

