"""Learned optimizer benchmark (Andrychowicz et al. 2016, arXiv:1606.04474) on the paper's MNIST problem.

    python bench/bench_learned_optimizer.py [--mnist PATH] [--budget 600] [--inits 20] [--quick]
        [--checks "paper,200 steps,40 hidden units,two hidden layers,ReLU"] [--paper-recipe]
        [--out bench/results/learned_optimizer.json]

1. Meta-trains the optimizer on the paper set-up (MLP 784-20-10, sigmoid, batches of 128, 100 steps) for at
   most ``--budget`` seconds of wall time (graph tracing included), with the default specs (or the paper's
   LSTM with ``--paper-recipe``), and saves it next to the JSON (``learned_optimizer.npz``).
2. For every check, tunes SGD, momentum, RMSprop and Adam learning rates on meta-training initialisations and
   minibatches (``tune_baselines``, 10 log-spaced values each, 5 trajectories).
3. Evaluates all five on ``--inits`` held-out initialisations with held-out minibatches (the same ones for every
   optimizer); the learned optimizer is applied unchanged to every check.

Prints a markdown table: mean training loss at the last step with its 95% interval, and test accuracy; then, per
check, the paired difference learned - best-tuned Adam at the last step (mean over inits, 95% interval
``1.96 * std / sqrt(n)`` of the per-init differences) and on how many inits the learned optimizer ends lower. The
JSON report holds the same under ``report["paired"][check]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from metalearn_core.data.mnist import load_mnist  # noqa: E402
from metalearn_core.kinds.learned_optimizer.meta_training import (  # noqa: E402
    GENERALISATION_CHECKS,
    interval,
    run_learned_optimizer,
)
from metalearn_core.kinds.learned_optimizer.specs import (  # noqa: E402
    LearnOptData,
    MetaTrainSpec,
    OptimizeeSpec,
    OptimizerNetSpec,
)

OPTIMIZERS = ("learned", "adam", "rmsprop", "momentum", "sgd")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST", "/work/shared/data/mnist.npz"))
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of meta-training")
    parser.add_argument("--inits", type=int, default=20, help="held-out initialisations per check")
    parser.add_argument("--tune-trajectories", type=int, default=5)
    parser.add_argument("--checks", default=",".join(GENERALISATION_CHECKS))
    parser.add_argument("--paper-recipe", action="store_true", help="the paper's LSTM instead of the defaults")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 s budget, 3 inits, paper check only")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "learned_optimizer.json"))
    return parser.parse_args()


def table(report: dict) -> str:
    """Markdown: one row per check, one column per optimizer (loss at the last step ± 95%, test accuracy)."""
    lines = ["| check | " + " | ".join(OPTIMIZERS) + " |", "|---" * (len(OPTIMIZERS) + 1) + "|"]
    for name, check in report["checks"].items():
        cells = []
        for optimizer in OPTIMIZERS:
            result = check["evaluation"]["optimizers"][optimizer]
            if result["final_loss_mean"] is None:
                cells.append(f"diverged ({result['diverged']})")
                continue
            text = f"{result['final_loss_mean']:.3f} ± {result['final_loss_ci95']:.3f} ({result['test_accuracy_mean']:.3f})"
            if optimizer != "learned":
                text += f" lr {check['tuning'][optimizer]['learning_rate']:.3g}"
            cells.append(text + (f", {result['diverged']} diverged" if result["diverged"] else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_difference(check: dict, baseline: str = "adam") -> dict:
    """Learned minus ``baseline`` at the last step, init by init (a diverged run counts as a loss for its side)."""
    optimizers = check["evaluation"]["optimizers"]
    learned = np.array([np.inf if v is None else v for v in optimizers["learned"]["final_losses"]], dtype=np.float64)
    other = np.array([np.inf if v is None else v for v in optimizers[baseline]["final_losses"]], dtype=np.float64)
    both = np.isfinite(learned) & np.isfinite(other)
    mean, ci = interval(learned[both] - other[both]) if both.any() else (None, None)
    wins = int(np.sum(np.where(both, learned < other, np.isfinite(learned))))
    return {"baseline": baseline, "learning_rate": check["tuning"][baseline]["learning_rate"],
            "mean": mean, "ci95": ci, "excludes_zero": bool(mean is not None and abs(mean) > ci),
            "learned_wins": wins, "inits": int(learned.size), "compared": int(both.sum())}


def paired_lines(report: dict) -> str:
    lines = ["| check | learned - adam (95%) | learned lower on |", "|---|---|---|"]
    for name, paired in report["paired"].items():
        difference = "n/a" if paired["mean"] is None else f"{paired['mean']:+.4f} ± {paired['ci95']:.4f}"
        if paired["excludes_zero"]:
            difference += " (excludes 0)"
        lines.append(f"| {name} | {difference} | {paired['learned_wins']}/{paired['inits']} |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    checks = ["paper"] if args.quick else [name.strip() for name in args.checks.split(",") if name.strip()]
    budget, inits = (20.0, 3) if args.quick else (args.budget, args.inits)
    data = LearnOptData.from_mnist(load_mnist(args.mnist, allow_download=False))
    net = OptimizerNetSpec.paper() if args.paper_recipe else OptimizerNetSpec()
    meta = MetaTrainSpec(budget_seconds=budget)

    def on_iteration(iteration: int, record: dict) -> None:
        if iteration % 50 == 0:
            print(f"  trajectory {iteration}: meta-loss {record['meta_loss']:.3f}, final loss {record['final_loss']:.3f},"
                  f" {record['seconds']:.0f} s", flush=True)

    start = time.perf_counter()
    optimizer, report = run_learned_optimizer(
        data, OptimizeeSpec(), net, meta, checks=checks, n_inits=inits,
        tune_trajectories=2 if args.quick else args.tune_trajectories, on_iteration=on_iteration,
        on_progress=lambda message: print(f"{message} ({time.perf_counter() - start:.0f} s)", flush=True))
    out = Path(args.out)
    report["saved_optimizer"] = str(optimizer.save(out.with_suffix(".npz")))
    report["paired"] = {name: paired_difference(check) for name, check in report["checks"].items()}
    report["total_seconds"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, allow_nan=False))
    training = report["meta_training"]
    print(f"\nmeta-training: {training['seconds']:.0f} s, {training['iterations']} trajectories "
          f"({training['truncations']} truncations), net {net.to_dict()}, meta {meta.to_dict()}")
    print("loss at the last step: mean ± 95% interval over held-out inits (test accuracy); baselines' tuned lr\n")
    print(table(report))
    print("\npaired difference of the loss at the last step, learned - best-tuned Adam, over the same held-out inits\n")
    print(paired_lines(report))
    print(f"\ntotal wall time {report['total_seconds']:.0f} s; results in {out}")


if __name__ == "__main__":
    main()
