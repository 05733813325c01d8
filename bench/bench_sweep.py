"""Sweeps: a TPE sweep with ASHA pruning against random search without pruning, same space, same
number of trials, each as a user launches it (a controller process, every trial a run of its own).

    python bench/bench_sweep.py [--mnist PATH] [--trials 30] [--epochs 8] [--train-limit 0] [--quick]
        [--out bench/results/sweep.json]

The base run is the product's default network (preset "dense": two hidden layers of 384, batches of
384, 10% of the training images held out for validation) trained for at most ``--epochs`` epochs;
``--space recipe`` (the default) keeps that network and searches its training recipe (activation,
dropout, optimizer, learning rate and schedule); ``--space architecture`` searches the hidden layers,
their units and the batch size too (:data:`SPACES`). Trials are chosen on **validation** accuracy;
the best trial's test accuracy is reported beside it and never used to choose.

Prints a markdown table per arm: best validation accuracy, its test accuracy, wall time from
launch to the end of the last trial, trials complete / pruned / failed and epochs trained, then the
goal: the pruned TPE sweep finds a configuration at least as good in at most half the wall time.
The two arms run one after the other in one go, on a fresh data home. ``--quick`` is a smoke run
(4 trials of 2 epochs on 2,000 images). The full run takes about 20 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from metalearn_core.presets import preset_config
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.analysis import best_trial, param_columns, trials_frame
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.runner import launch_sweep
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore

ROOT = Path(__file__).resolve().parent.parent

# Two spaces. "recipe" (the default): the default dense network as it is, its training recipe
# searched; a trial's epoch costs about the same whatever is sampled. "architecture": the network's
# shape and the batch size searched too, where the sampler's choices change what an epoch costs.
SPACES = {
    "recipe": {
        "activation": ["relu", "gelu", "tanh"],
        "dropout": {"low": 0.0, "high": 0.4},
        "optimizer": ["adam", "rmsprop", "momentum"],
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "lr_schedule": ["constant", "cosine"],
    },
    "architecture": {
        "hidden_layers": {"low": 1, "high": 3},
        "units": {"low": 64, "high": 1024, "log": True},
        "activation": ["relu", "gelu", "tanh"],
        "dropout": {"low": 0.0, "high": 0.4},
        "batch_size": [128, 256, 384, 512],
        "optimizer": ["adam", "rmsprop", "momentum"],
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "lr_schedule": ["constant", "cosine"],
    },
}
ARMS = (("TPE + ASHA pruning", "tpe", "asha"), ("random, no pruning", "random", "none"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST", "/work/shared/data/mnist.npz"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=8, help="epochs of a trial that is not pruned")
    parser.add_argument("--train-limit", type=int, default=0, help="first N training images (0: all 60,000)")
    parser.add_argument("--seed", type=int, default=0, help="the samplers' seed")
    parser.add_argument("--space", choices=sorted(SPACES), default="recipe", help="what the sweeps search")
    parser.add_argument("--quick", action="store_true", help="smoke run: 4 trials of 2 epochs on 2,000 images")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sweep.json"))
    return parser.parse_args()


def run_arm(home: Path, label: str, sampler: str, pruner: str, args: argparse.Namespace) -> dict:
    """Launch one sweep as a user would and wait for it; its figures."""
    base = preset_config("dense")
    training = dataclasses.replace(base.training, epochs=args.epochs, train_limit=args.train_limit)
    config = SweepConfig(space=SearchSpace.from_dict(SPACES[args.space]), base=base.replace(training=training), name=label,
                         sampler=sampler, pruner=pruner, trials=args.trials, seed=args.seed)
    runs, sweeps = RunStore(home), SweepStore(home)
    started = time.time()
    sweep_id = launch_sweep(sweeps, config, args.mnist)
    done = -1
    while sweeps.get(sweep_id).is_active:
        counts = sweeps.get(sweep_id).state.get("trials", {})
        finished = sum(counts.get(state, 0) for state in ("complete", "pruned", "fail"))
        if finished != done:
            done = finished
            print(f"  {label}: {finished}/{args.trials} trials done, {time.time() - started:.0f} s", flush=True)
        time.sleep(2)
    sweep = sweeps.get(sweep_id)
    wall = sweep.state["ended_at"] - started
    frame = trials_frame(runs, sweep)
    best = best_trial(frame, config.direction)
    return {
        "arm": label, "sampler": sampler, "pruner": pruner, "status": sweep.status, "wall_seconds": wall,
        "best_val_accuracy": best["objective"] if best else None,
        "best_test_accuracy": best["test_accuracy"] if best else None,
        "best_trial": int(best["trial"]) if best else None,
        "best_settings": {key: value for key, value in best.items() if key in param_columns(frame)} if best else {},
        "complete": int((frame["state"] == "complete").sum()), "pruned": int((frame["state"] == "pruned").sum()),
        "failed": int((frame["state"] == "failed").sum()), "epochs_trained": int(frame["steps"].sum()),
        "trials": [_trial_record(runs, row) for row in frame.to_dict("records")],
    }


def _trial_record(runs: RunStore, row: dict) -> dict:
    """One trial for later analysis: its state, settings, validation curve and epoch times."""
    metrics = runs.metrics(int(row["run"])) if row.get("run") == row.get("run") else []
    curve = {m["epoch"]: m["value"] for m in metrics if m["series"] == "train" and m["name"] == "val_accuracy"}
    times = [m["value"] for m in metrics if m["series"] == "train" and m["name"] == "epoch_time"]
    return {**{key: value for key, value in row.items() if key != "outcome"}, "curve": curve, "epoch_times": times}


def main() -> int:
    args = parse_args()
    if args.quick:
        args.trials, args.epochs, args.train_limit = 4, 2, 2000
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as home:
        for label, sampler, pruner in ARMS:
            print(f"{label}: {args.trials} trials of at most {args.epochs} epochs", flush=True)
            results.append(run_arm(Path(home), label, sampler, pruner, args))
    tpe, random = results
    ratio = tpe["wall_seconds"] / random["wall_seconds"]
    as_good = (tpe["best_val_accuracy"] or 0) >= (random["best_val_accuracy"] or 0)
    summary = {"trials": args.trials, "epochs": args.epochs, "train_limit": args.train_limit, "space_name": args.space, "space": SPACES[args.space],
               "arms": results, "wall_ratio": ratio, "as_good": as_good, "goal_met": as_good and ratio <= 0.5}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2, default=str))
    print("\n| sweep | best val acc | its test acc | wall time | trials complete / pruned / failed | epochs trained |")
    print("|---|---|---|---|---|---|")
    for arm in results:
        print(f"| {arm['arm']} | {100 * arm['best_val_accuracy']:.2f}% | {100 * arm['best_test_accuracy']:.2f}% | "
              f"{arm['wall_seconds'] / 60:.1f} min | {arm['complete']} / {arm['pruned']} / {arm['failed']} | "
              f"{arm['epochs_trained']} |")
    print(f"\nwall-time ratio (TPE+ASHA / random): {ratio:.2f}; at least as good: {as_good}; "
          f"goal (as good in at most half the time) met: {summary['goal_met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
