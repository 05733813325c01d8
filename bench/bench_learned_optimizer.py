"""Learned optimizer benchmark on the MNIST problem of Andrychowicz et al. 2016 (arXiv:1606.04474), 3 seeds.

    python bench/bench_learned_optimizer.py [--mnist PATH] [--trajectories 600] [--seeds 0,1,2] [--inits 20]
        [--method es|backprop] [--checks "paper,200 steps,40 hidden units,two hidden layers,ReLU"]
        [--paper-recipe] [--quick] [--out bench/results/learned_optimizer.json]

1. For every check, tunes SGD, momentum, RMSprop and Adam learning rates on meta-training initialisations and
   minibatches (``tune_baselines``, 10 log-spaced values each, ``--tune-trajectories`` trajectories), then trains
   the base network with each from ``--inits`` held-out initialisations on held-out minibatches. Done once: the
   hand optimizers do not depend on the meta-training seed.
2. For every meta-training seed, meta-trains the optimizer on the paper set-up (MLP 784-20-10, sigmoid, batches
   of 128, 100 steps) for ``--trajectories`` trajectories (a budget in trajectories, so the result is the same on
   any machine; the wall time is reported beside it), with the default design (nominal Adam corrected by a
   per-parameter MLP, antithetic ES) or the paper's LSTM with ``--paper-recipe``, and applies it unchanged to
   every check from the same held-out initialisations and minibatches as the hand optimizers.

Prints, per check, the mean training loss at the last step ± 95% interval and the test accuracy of every
optimizer (the learned one per seed), then per seed and check the paired difference learned - tuned Adam (mean
over inits, 95% interval ``1.96 * std / sqrt(n)`` of the per-init differences), on how many inits the learned
optimizer ends lower, and for "two hidden layers" the difference against the best hand optimizer. Last, whether
each goal of the issue is met. The JSON report holds everything, the trained optimizers sit beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from metalearn_core.data.mnist import load_mnist  # noqa: E402
from metalearn_core.kinds.learned_optimizer.meta_training import (  # noqa: E402
    GENERALISATION_CHECKS,
    evaluate_optimizers,
    interval,
    meta_train,
    tune_baselines,
)
from metalearn_core.kinds.learned_optimizer.presets import (  # noqa: E402
    LEARNED_OPTIMIZER_TRAJECTORIES,
    LSTM_TRAJECTORIES,
)
from metalearn_core.kinds.learned_optimizer.rules import make_hand_optimizer  # noqa: E402
from metalearn_core.kinds.learned_optimizer.specs import (  # noqa: E402
    LearnOptData,
    MetaTrainSpec,
    OptimizeeSpec,
    OptimizerNetSpec,
)

HAND = ("adam", "rmsprop", "momentum", "sgd")
META_LIMIT_SECONDS = 600.0  # the limit per seed on these 2 cores


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST", "/work/shared/data/mnist.npz"))
    parser.add_argument("--trajectories", type=int, default=0,
                        help=f"meta-training trajectories per seed (default {LEARNED_OPTIMIZER_TRAJECTORIES}, "
                             f"{LSTM_TRAJECTORIES} with --paper-recipe)")
    parser.add_argument("--seeds", default="0,1,2", help="meta-training seeds, comma-separated")
    parser.add_argument("--inits", type=int, default=20, help="held-out initialisations per check")
    parser.add_argument("--tune-trajectories", type=int, default=5)
    parser.add_argument("--method", choices=("es", "backprop"), default="",
                        help="meta-gradient (default es; backprop with --paper-recipe)")
    parser.add_argument("--checks", default=",".join(GENERALISATION_CHECKS))
    parser.add_argument("--paper-recipe", action="store_true", help="the paper's LSTM instead of the default design")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 trajectories, 3 inits, seed 0, paper only")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "learned_optimizer.json"))
    return parser.parse_args()


def paired(learned: list, other: list) -> dict:
    """Learned minus other at the last step, init by init (a diverged run counts as a loss for its side)."""
    a = np.array([np.inf if v is None else v for v in learned], dtype=np.float64)
    b = np.array([np.inf if v is None else v for v in other], dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(b)
    mean, ci = interval(a[both] - b[both]) if both.any() else (None, None)
    wins = int(np.sum(np.where(both, a < b, np.isfinite(a))))
    return {"mean": mean, "ci95": ci, "excludes_zero": bool(mean is not None and abs(mean) > ci),
            "learned_wins": wins, "inits": int(a.size), "compared": int(both.sum())}


def cell(score: dict) -> str:
    if score["final_loss_mean"] is None:
        return f"diverged ({score['diverged']})"
    text = f"{score['final_loss_mean']:.3f} ± {score['final_loss_ci95']:.3f} ({100 * score['test_accuracy_mean']:.1f}%)"
    return text + (f", {score['diverged']} diverged" if score["diverged"] else "")


def main() -> None:
    args = parse_args()
    checks = ["paper"] if args.quick else [name.strip() for name in args.checks.split(",") if name.strip()]
    seeds = [0] if args.quick else [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    trajectories = args.trajectories or (LSTM_TRAJECTORIES if args.paper_recipe else LEARNED_OPTIMIZER_TRAJECTORIES)
    trajectories, inits = (20, 3) if args.quick else (trajectories, args.inits)
    method = args.method or ("backprop" if args.paper_recipe else "es")
    net = OptimizerNetSpec.paper() if args.paper_recipe else OptimizerNetSpec.nominal()
    data = LearnOptData.from_mnist(load_mnist(args.mnist, allow_download=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report: dict = {"net": net.to_dict(), "trajectories": trajectories, "method": method, "seeds": seeds,
                    "inits": inits, "load_average_start": os.getloadavg(), "checks": {}, "seeds_results": {}}

    for name in checks:  # the hand optimizers: tuned and evaluated once
        spec = GENERALISATION_CHECKS[name]
        tuning = tune_baselines(data, spec, trajectories=2 if args.quick else args.tune_trajectories, seed=0)
        rules = {rule: make_hand_optimizer(rule, tuning[rule]["learning_rate"]) for rule in HAND}
        evaluation = evaluate_optimizers(data, spec, rules, n_inits=inits, seed=0)
        report["checks"][name] = {"tuning": tuning, "evaluation": evaluation}
        print(f"hand optimizers tuned and evaluated on {name} ({time.perf_counter() - start:.0f} s)", flush=True)

    for seed in seeds:
        meta = MetaTrainSpec(method=method, iterations=trajectories, budget_seconds=86_400.0, seed=seed,
                             loss_clip=4.0)

        def on_iteration(iteration: int, record: dict, seed: int = seed) -> None:
            if iteration % 100 == 0:
                print(f"  seed {seed}, trajectory {iteration}: meta-loss {record['meta_loss']:.3f}, "
                      f"{record['seconds']:.0f} s", flush=True)

        load_before = os.getloadavg()
        optimizer, history = meta_train(data, OptimizeeSpec(), net, meta, on_iteration=on_iteration)
        seconds = history[-1]["seconds"]
        saved = optimizer.save(out.with_name(f"{out.stem}-seed{seed}.npz"))
        result: dict = {"meta": meta.to_dict(), "seconds": seconds, "iterations": len(history),
                        "meta_steps": history[-1]["truncations"], "load_average": [load_before, os.getloadavg()],
                        "saved_optimizer": str(saved), "checks": {}}
        for name in checks:
            spec, check = GENERALISATION_CHECKS[name], report["checks"][name]
            learned = evaluate_optimizers(data, spec, {"learned": optimizer}, n_inits=inits, seed=0)["optimizers"]
            hand = check["evaluation"]["optimizers"]
            best = min((hand[rule]["final_loss_mean"], rule) for rule in HAND if hand[rule]["final_loss_mean"] is not None)
            result["checks"][name] = {
                "learned": {k: v for k, v in learned["learned"].items() if k != "loss_curves"},
                "mean_curve": learned["learned"]["mean_curve"],
                "vs_adam": paired(learned["learned"]["final_losses"], hand["adam"]["final_losses"]),
                "vs_best_hand": {"optimizer": best[1], **paired(learned["learned"]["final_losses"],
                                                                hand[best[1]]["final_losses"])}}
        report["seeds_results"][str(seed)] = result
        print(f"seed {seed}: {len(history)} trajectories in {seconds:.0f} s ({time.perf_counter() - start:.0f} s)",
              flush=True)
        out.write_text(json.dumps(report, allow_nan=False))

    report["total_seconds"] = time.perf_counter() - start
    report["load_average_end"] = os.getloadavg()
    out.write_text(json.dumps(report, allow_nan=False))
    print_tables(report)
    print(f"\ntotal wall time {report['total_seconds']:.0f} s; results in {out}")


def print_tables(report: dict) -> None:
    seeds = list(report["seeds_results"])
    print(f"\nmeta-training: {report['trajectories']} trajectories per seed, {report['method']}, net {report['net']}")
    print("\nloss at the last step, mean ± 95% interval over held-out inits (test accuracy)\n")
    print("| set-up | " + " | ".join(f"learned, seed {s}" for s in seeds) + " | Adam | RMSprop | momentum | SGD |")
    print("|---" * (len(seeds) + 5) + "|")
    for name, check in report["checks"].items():
        hand = check["evaluation"]["optimizers"]
        learned = [cell(report["seeds_results"][s]["checks"][name]["learned"]) for s in seeds]
        rates = [f"{cell(hand[rule])} lr {check['tuning'][rule]['learning_rate']:.3g}" for rule in HAND]
        print(f"| {name} | " + " | ".join(learned + rates) + " |")
    print("\npaired difference learned - tuned Adam at the last step (inits where learned is lower); "
          "for two hidden layers also against the best hand optimizer\n")
    print("| seed | meta-training | " + " | ".join(report["checks"]) + " |")
    print("|---|---" + "|---" * len(report["checks"]) + "|")
    for seed in seeds:
        result = report["seeds_results"][seed]
        cells = []
        for name in report["checks"]:
            entry = result["checks"][name]
            text = _difference(entry["vs_adam"])
            if name == "two hidden layers":
                text += f"; vs {entry['vs_best_hand']['optimizer']} {_difference(entry['vs_best_hand'])}"
            cells.append(text)
        print(f"| {seed} | {result['iterations']} trajectories, {result['seconds']:.0f} s | " + " | ".join(cells) + " |")
    print("\ngoals:")
    results = [report["seeds_results"][s] for s in seeds]

    def every(name: str, test) -> str:
        if name not in report["checks"]:
            return "not measured"
        hits = sum(bool(test(result["checks"][name])) for result in results)
        return f"{hits} of {len(results)} seeds"

    below = lambda entry: entry["vs_adam"]["mean"] is not None and entry["vs_adam"]["mean"] < 0  # noqa: E731
    print(f"- step 100 below tuned Adam, interval excluding 0: "
          f"{every('paper', lambda e: below(e) and e['vs_adam']['excludes_zero'])}; meta-training within "
          f"{META_LIMIT_SECONDS:.0f} s: {sum(r['seconds'] <= META_LIMIT_SECONDS for r in results)} of {len(results)}")
    print(f"- 200 steps below tuned Adam: {every('200 steps', below)}")
    print(f"- 40 hidden units below tuned Adam: {every('40 hidden units', below)}")
    print("- two hidden layers no worse than the best hand optimizer (mean at or below it, or the interval "
          f"holding 0): {every('two hidden layers', _no_worse)}")


def _no_worse(entry: dict) -> bool:
    versus = entry["vs_best_hand"]
    return versus["mean"] is not None and (versus["mean"] <= 0 or not versus["excludes_zero"])


def _difference(entry: dict) -> str:
    if entry["mean"] is None:
        return "n/a"
    return f"{entry['mean']:+.3f} ± {entry['ci95']:.3f} ({entry['learned_wins']}/{entry['inits']})"


if __name__ == "__main__":
    main()
