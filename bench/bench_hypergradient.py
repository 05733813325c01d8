"""Hypergradient descent (Baydin et al. 2018) against tuned fixed and scheduled learning rates.

    python bench/bench_hypergradient.py [--mnist PATH] [--epochs 3] [--train-limit 0] [--seeds 1] [--quick]
        [--out bench/results/hypergradient.json]

Every optimizer trains the product's default network (preset "dense": two hidden layers of 384,
batches of 384, 10% of the training images held out for validation) for the same number of epochs:

- SGD and Adam at fixed rates, a grid of four each, and the cosine schedule of each from the rate
  that grid picked: rates are chosen on the **validation** accuracy of the last epoch, never on the test set;
- SGD-HD and Adam-HD started deliberately at 0.001 (the paper's start; too low for SGD here) with the
  paper's hypergradient rates (beta 1e-3 and 1e-7), and not tuned at all.

Prints a markdown table per optimizer: final validation and test accuracy (mean over seeds), wall
time of training, and the learning rate at the start and at the end. ``--quick`` is a smoke run
(2,000 images, 1 epoch, two grid rates). The full run (60,000 images, 3 epochs, 1 seed: 14 trainings)
takes about 3-5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # fourteen models: retracing warnings are expected

from metalearn_core.config import TrainingConfig  # noqa: E402
from metalearn_core.data.mnist import load_mnist  # noqa: E402
from metalearn_core.presets import preset_config  # noqa: E402

SGD_GRID = (0.03, 0.1, 0.3, 1.0)
ADAM_GRID = (3e-4, 1e-3, 3e-3, 1e-2)
HD_START = 1e-3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST", "/work/shared/data/mnist.npz"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=0, help="first N training images (0: all 60,000)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per optimizer (the mean is reported)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 images, 1 epoch, two grid rates")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "hypergradient.json"))
    return parser.parse_args()


def train_once(data, training: TrainingConfig) -> dict:
    """One training of the default network: validation and test accuracy, wall time, learning rates."""
    import keras

    from metalearn_core.models.evaluation import evaluate_probabilities
    from metalearn_core.models.networks import build_network
    from metalearn_core.models.training import fit_network, predict, prepared_splits
    from metalearn_core.runs.reporting import Reporter

    keras.utils.set_random_seed(training.seed)
    x_train, y_train, x_test, y_test = prepared_splits(data, training)
    model = build_network(preset_config("dense").base, name="base")
    epochs: list[dict] = []
    outcome = fit_network(model, x_train, y_train, training,
                          Reporter(on_epoch=lambda series, epoch, metrics: epochs.append(metrics)))
    last = epochs[-1] if epochs else {}
    diverged = outcome.status != "completed"
    test = None if diverged else evaluate_probabilities(predict(model, x_test), y_test).accuracy
    return {"val_accuracy": None if diverged else last.get("val_accuracy"), "test_accuracy": test,
            "seconds": outcome.ended_at - outcome.started_at, "status": outcome.status,
            "rate_start": training.learning_rate, "rate_end": last.get("learning_rate"),
            "rates": [metrics.get("learning_rate") for metrics in epochs]}


def train(data, training: TrainingConfig, seeds: int) -> dict:
    """``train_once`` over ``seeds`` seeds, averaged (a diverged seed makes the accuracy None)."""
    runs = [train_once(data, dataclasses.replace(training, seed=seed)) for seed in range(seeds)]

    def mean(key):
        values = [run[key] for run in runs]
        return None if any(value is None for value in values) else float(np.mean(values))

    return {"optimizer": training.optimizer, "schedule": training.lr_schedule, "learning_rate": training.learning_rate,
            "hypergradient_rate": training.hypergradient_rate, "val_accuracy": mean("val_accuracy"),
            "test_accuracy": mean("test_accuracy"), "seconds": mean("seconds"), "rate_end": mean("rate_end"),
            "seeds": runs}


def _tuned(results: list[dict]) -> dict:
    """The entry with the best validation accuracy (a diverged one never wins)."""
    return max(results, key=lambda result: result["val_accuracy"] if result["val_accuracy"] is not None else -1.0)


def run_bench(data, base: TrainingConfig, seeds: int, sgd_grid, adam_grid) -> dict:
    grids = {}
    for name, grid in (("sgd", sgd_grid), ("adam", adam_grid)):
        grids[name] = [train(data, dataclasses.replace(base, optimizer=name, learning_rate=rate), seeds)
                       for rate in grid]
        print(f"{name} grid (validation accuracy): "
              + ", ".join(f"{r['learning_rate']:g} -> {r['val_accuracy']}" for r in grids[name]), flush=True)
    rows = {}
    for name, label in (("sgd", "SGD"), ("adam", "Adam")):
        best = _tuned(grids[name])
        rows[f"{label}, tuned fixed rate"] = best
        rows[f"{label}, cosine from the tuned rate"] = train(data, dataclasses.replace(
            base, optimizer=name, learning_rate=best["learning_rate"], lr_schedule="cosine"), seeds)
    for name, label in (("sgd_hd", "SGD-HD"), ("adam_hd", "Adam-HD")):
        rows[f"{label}, from {HD_START:g} (untuned)"] = train(data, dataclasses.replace(
            base, optimizer=name, learning_rate=HD_START), seeds)
    return {"rows": rows, "grids": grids}


def _cell(value, digits: int = 4) -> str:
    return "diverged" if value is None else f"{value:.{digits}f}"


def table(report: dict) -> str:
    """Markdown: one row per optimizer."""
    lines = ["| optimizer | validation accuracy | test accuracy | training time (s) | learning rate start -> end |",
             "|---|---|---|---|---|"]
    for label, row in report["rows"].items():
        end = "" if row["rate_end"] is None else f"{row['rate_end']:.3g}"
        lines.append(f"| {label} | {_cell(row['val_accuracy'])} | {_cell(row['test_accuracy'])} | "
                     f"{row['seconds']:.1f} | {row['learning_rate']:.3g} -> {end} |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    data = load_mnist(args.mnist, allow_download=False)
    epochs, train_limit = (1, 2000) if args.quick else (args.epochs, args.train_limit)
    sgd_grid, adam_grid = (SGD_GRID[1:3], ADAM_GRID[1:3]) if args.quick else (SGD_GRID, ADAM_GRID)
    base = dataclasses.replace(preset_config("dense").training, epochs=epochs, train_limit=train_limit,
                               lr_schedule="constant")
    started = time.perf_counter()
    report = run_bench(data, base, args.seeds, sgd_grid, adam_grid)
    report.update(epochs=epochs, train_limit=train_limit, seeds=args.seeds, batch_size=base.batch_size,
                  validation_split=base.validation_split, total_seconds=time.perf_counter() - started)
    print(f"\n{epochs} epochs, {train_limit or 'all'} training images, batch {base.batch_size}, "
          f"{args.seeds} seed(s); rates tuned on validation accuracy\n")
    print(table(report))
    print(f"\ntotal {report['total_seconds']:.0f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
