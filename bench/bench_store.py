"""The run store's write latency per metric row, SQLite against PostgreSQL, in one go.

A worker writes one metric row per epoch and metric (``RunStore.log_metrics``) and a progress
update (``RunStore.set_progress``, with an in-epoch point) up to four times a second; this bench
times each call as a worker makes it, from a fresh store, alternating the two backends in blocks
so that the machine's load falls on both alike:

    python bench/bench_store.py                    # starts a throw-away PostgreSQL cluster itself
    python bench/bench_store.py --pg postgresql://postgres@127.0.0.1:5432/postgres   # or uses one

SQLite is the embedded default: a file in WAL mode, a connection per call, every commit synced.
PostgreSQL here is the local throw-away cluster of ``tools/services.py`` (``fsync=off``,
``synchronous_commit=off``, as a test cluster is; a production server syncs, which adds its
disk's flush time), reached over TCP on 127.0.0.1 through the store's connection pool. Prints a
markdown table (median and 95th percentile per call, in milliseconds) and writes
``bench/results/store.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunStore
from tools import services

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def time_block(store: RunStore, run_id: int, start_epoch: int, rows: int) -> dict[str, list[float]]:
    """``rows`` metric rows and as many progress updates, each call timed alone (milliseconds)."""
    times: dict[str, list[float]] = {"metric row": [], "progress update": []}
    for k in range(rows):
        epoch = start_epoch + k
        began = time.perf_counter()
        store.log_metrics(run_id, "train", epoch, {"val_accuracy": 0.5 + k * 1e-6})
        times["metric row"].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        store.set_progress(run_id, {"x": epoch + 0.5, "loss": 1.0 / (k + 1), "accuracy": 0.9, "batch": k})
        times["progress update"].append((time.perf_counter() - began) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="a PostgreSQL server URL (default: start a throw-away cluster)")
    parser.add_argument("--rows", type=int, default=2000, help="metric rows per backend")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks the rows are split into")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "store.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        folder_path = Path(folder)
        folder_path.chmod(0o755)
        server = args.pg or services.start_postgres(folder_path / "services")
        try:
            url = services.create_database(server, "bench_store")
            stores = {"SQLite (embedded, WAL)": RunStore(folder_path / "sqlite-home", database=""),
                      "PostgreSQL (127.0.0.1)": RunStore(folder_path / "pg-home", database=url)}
            runs = {name: store.create_run(RunConfig(name="bench")) for name, store in stores.items()}
            results: dict[str, dict[str, list[float]]] = {name: {"metric row": [], "progress update": []}
                                                          for name in stores}
            per_block = args.rows // args.blocks
            for block in range(args.blocks):
                for name, store in stores.items():
                    for call, values in time_block(store, runs[name], block * per_block, per_block).items():
                        results[name][call].extend(values)
            for store in stores.values():
                store.db.close()
        finally:
            if not args.pg:
                services.stop_postgres(folder_path / "services")
    summary = {name: {call: {"median_ms": statistics.median(values), "p95_ms": percentile(values, 0.95),
                             "calls": len(values)} for call, values in calls.items()}
               for name, calls in results.items()}
    sqlite_name, pg_name = list(summary)
    ratio = summary[pg_name]["metric row"]["median_ms"] / summary[sqlite_name]["metric row"]["median_ms"]
    print("| backend | metric row, median | p95 | progress update, median | p95 |")
    print("|---|---|---|---|---|")
    for name, calls in summary.items():
        row, progress = calls["metric row"], calls["progress update"]
        print(f"| {name} | {row['median_ms']:.2f} ms | {row['p95_ms']:.2f} ms | "
              f"{progress['median_ms']:.2f} ms | {progress['p95_ms']:.2f} ms |")
    print(f"\nPostgreSQL / SQLite, median metric row: {ratio:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"backends": summary, "ratio_pg_to_sqlite": ratio, "rows": args.rows},
                                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
