"""Executors: the same 24-trial sweep of small runs through the local executor and through Dask.

    python bench/bench_executors.py [--mnist PATH] [--trials 24] [--train-limit 3000] [--workers 2]
        [--out bench/results/executors.json]

Each arm launches one sweep as a user would (a controller process, every trial an ordinary run of
the default dense network for 1 epoch on the first ``--train-limit`` training images, random
sampler over learning rate, dropout and activation, no pruning) on its own fresh data home, and
waits for its last trial:

1. ``local, 1 slot``: the default (``METALEARN_MAX_RUNS`` unset: one run at a time);
2. ``local, 2 slots``: ``METALEARN_MAX_RUNS=2``;
3. ``dask, N workers``: ``METALEARN_DASK`` pointing at a scheduler and ``--workers`` worker
   processes started here on 127.0.0.1 (one thread and one ``runs`` slot each, as documented).

Prints a markdown table (trials completed, wall time from launch to the last trial's end, trials
per minute, the median run's time from queued to ended) and the throughput ratio of Dask against
each local arm. On two cores expect Dask about equal to local: the point is the same code path.
The three arms run one after the other, in one go; nothing else heavy should run beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from metalearn_core.presets import preset_config
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.runner import launch_sweep
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore, sweep_tag
from tools import services

ROOT = Path(__file__).resolve().parent.parent

SPACE = {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}, "dropout": {"low": 0.0, "high": 0.4},
         "activation": ["relu", "gelu", "tanh"]}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST", "/work/shared/data/mnist.npz"))
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--train-limit", type=int, default=3000, help="first N training images of each trial")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "executors.json"))
    return parser.parse_args()


def run_arm(label: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    """One sweep on a fresh data home with ``env`` set for its controller (and so its runs)."""
    base = preset_config("dense")
    training = dataclasses.replace(base.training, epochs=1, train_limit=args.train_limit, test_limit=2000)
    config = SweepConfig(space=SearchSpace.from_dict(SPACE), base=base.replace(training=training), name=label,
                         sampler="random", pruner="none", trials=args.trials, seed=0)
    saved = {name: os.environ.get(name) for name in ("METALEARN_DASK", "METALEARN_MAX_RUNS")}
    for name in saved:
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-executors-") as home:
            runs, sweeps = RunStore(home), SweepStore(home)
            started = time.time()
            sweep_id = launch_sweep(sweeps, config, args.mnist)
            done = -1
            while sweeps.get(sweep_id).is_active:
                finished = sum(sweeps.get(sweep_id).state.get("trials", {}).get(state, 0)
                               for state in ("complete", "pruned", "fail"))
                if finished != done:
                    done = finished
                    print(f"  {label}: {finished}/{args.trials} trials, {time.time() - started:.0f} s", flush=True)
                time.sleep(1)
            sweep = sweeps.get(sweep_id)
            trials = [run for run in runs.list_runs() if sweep_tag(sweep_id) in run.tags]
            ended = [run.ended_at for run in trials if run.ended_at]
            wall = max(ended) - started if ended else float("nan")
            completed = sum(run.status == "completed" for run in trials)
            turnaround = [run.ended_at - run.created_at for run in trials if run.ended_at]
            training_time = [run.ended_at - run.started_at for run in trials if run.ended_at and run.started_at]
            executors = sorted({run.executor for run in trials})
            return {"arm": label, "env": env, "status": sweep.status, "trials": len(trials), "completed": completed,
                    "executors": executors, "wall_seconds": wall, "trials_per_minute": 60 * completed / wall,
                    "median_turnaround_s": statistics.median(turnaround) if turnaround else None,
                    "median_run_s": statistics.median(training_time) if training_time else None}
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def main() -> int:
    args = parse_args()
    results = [run_arm("local, 1 slot", {}, args), run_arm("local, 2 slots", {"METALEARN_MAX_RUNS": "2"}, args)]
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        address = services.start_dask(Path(folder), workers=args.workers)
        try:
            results.append(run_arm(f"dask, {args.workers} workers", {"METALEARN_DASK": address}, args))
        finally:
            services.stop_dask(Path(folder))
    dask = results[-1]
    summary = {"trials": args.trials, "train_limit": args.train_limit, "workers": args.workers, "arms": results,
               "ratios": {arm["arm"]: dask["trials_per_minute"] / arm["trials_per_minute"] for arm in results[:-1]}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(f"\n{args.trials} trials, 1 epoch on {args.train_limit:,} images each\n")
    print("| executor | trials completed | wall time | trials / min | median run, queued to ended | median training |")
    print("|---|---|---|---|---|---|")
    for arm in results:
        print(f"| {arm['arm']} | {arm['completed']} / {arm['trials']} | {arm['wall_seconds']:.0f} s | "
              f"{arm['trials_per_minute']:.1f} | {arm['median_turnaround_s']:.1f} s | {arm['median_run_s']:.1f} s |")
    for label, ratio in summary["ratios"].items():
        print(f"throughput, Dask / {label}: {ratio:.2f}")
    return 0 if all(arm["completed"] == arm["trials"] for arm in results) else 1


if __name__ == "__main__":
    sys.exit(main())
