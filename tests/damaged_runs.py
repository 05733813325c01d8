"""A data home whose runs are damaged as a full disk, a cut copy or a hand edit leaves them
(issue 22, point 6), for the unit and page tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore

OLD_HOME = Path(__file__).resolve().parent / "fixtures" / "home-v1"  # runs written by an earlier version


def damaged_home(home: Path) -> RunStore:
    """Run 1 with a damaged evaluation.json; run 2 with a text value in the metrics table; run 3 (a
    stacked run) with texts where its summary has numbers and in an in-epoch point's x. The damage
    is written behind the store's back, as a full disk, a cut copy or a hand edit leaves it."""
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8)))
    evaluation = json.loads((OLD_HOME / "runs" / "1" / "evaluation.json").read_text())
    for name in ("broken-evaluation", "text-metric", "text-summary"):
        kind = "stacked" if name == "text-summary" else "base"
        run_id = store.create_run(RunConfig(kind=kind, name=name, base=tiny, training=TrainingConfig(epochs=2)))
        store.mark_running(run_id)
        for epoch in (1, 2):
            store.log_metrics(run_id, "train", epoch, {"loss": 1.0 / epoch, "accuracy": 0.4 * epoch,
                                                       "val_loss": 1.1 / epoch, "val_accuracy": 0.35 * epoch,
                                                       "elapsed": 2.0 * epoch})
        store.finish(run_id, "completed", {"test_accuracy": 0.8, "test_loss": 0.6, "epochs_done": 2})
        (store.run_folder(run_id) / "evaluation.json").write_text(json.dumps(evaluation))
    (store.run_folder(1) / "evaluation.json").write_text(json.dumps(evaluation)[:300])
    store.update_summary(3, test_accuracy="abc", test_loss=[1], epochs_done="two",
                         learners=["x", {"label": "base 1 (network)", "test_accuracy": "high"}])
    with sqlite3.connect(home / "runs.sqlite") as connection:
        connection.execute("UPDATE metrics SET value = 'abc' WHERE run_id = 2 AND epoch = 2 AND name = 'loss'")
        connection.executemany("INSERT INTO points (run_id, series, x, loss, accuracy) VALUES (3, 'train', ?, ?, ?)",
                               [(0.5, 1.2, 0.3), ("half", 1.1, 0.35)])
    return store
