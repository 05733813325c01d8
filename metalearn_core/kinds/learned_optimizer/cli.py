"""Command-line flags of learned-optimizer runs (``--kind learned_optimizer``, or its presets), and the lines
``runs show`` prints of one."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.kinds.summary_text import count, line, number, percent, seconds, text

FLAGS = ("reuse_optimizer_of", "meta_iterations", "meta_budget", "meta_seed", "meta_method", "design")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("learned-optimizer runs (--preset learned-optimizer)")
    group.add_argument("--reuse-optimizer-of", type=int, metavar="RUN",
                       help="skip meta-training: evaluate that finished run's optimizer on this base network")
    group.add_argument("--meta-iterations", type=int, metavar="TRAJECTORIES",
                       help="meta-training budget in trajectories (the same seed gives the same optimizer)")
    group.add_argument("--meta-budget", type=float, metavar="SECONDS",
                       help="wall-clock safety cap on meta-training (a run it stops is not reproducible)")
    group.add_argument("--meta-seed", type=int, help="seed of meta-training (initialisations, batches, noise)")
    group.add_argument("--meta-method", choices=("backprop", "es"),
                       help="meta-gradient: back-propagation through truncated unrolls or antithetic ES")
    group.add_argument("--design", choices=("nominal", "dense"),
                       help="a dense optimizer's design: nominal Adam term corrected by an MLP, or the earlier MLP")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    flags = {"reuse_optimizer_of": args.reuse_optimizer_of, "iterations": args.meta_iterations,
             "budget_seconds": args.meta_budget, "seed": args.meta_seed, "method": args.meta_method,
             "design": args.design}
    changes = {name: value for name, value in flags.items() if value is not None}
    return config.replace(kind="learned_optimizer", settings=dataclasses.replace(settings, **changes))


OPTIMIZERS = ("learned", "sgd", "momentum", "rmsprop", "adam")  # the order of the final-loss line


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A learned-optimizer run's verdict: every optimizer's mean final training loss on held-out
    initialisations, whether the learned one beats Adam, the test accuracy it reaches, its
    meta-training; what the summary lacks is left out."""
    names = [*OPTIMIZERS, *sorted(key.removeprefix("final_loss_") for key in summary
                                  if key.startswith("final_loss_") and key.removeprefix("final_loss_") not in OPTIMIZERS)]
    lines = line(*((name, number(summary.get(f"final_loss_{name}"))) for name in names),
                 prefix="final training loss (mean over held-out initialisations): ")
    beats = summary.get("learned_beats_adam")
    lines += line(("learned optimizer beats Adam:", {True: "yes", False: "no"}.get(beats) if isinstance(beats, bool)
                   else None), ("best hand-tuned optimizer:", text(summary.get("best_hand_optimizer"))))
    lines += line(("test accuracy (base network trained by the learned optimizer)",
                   percent(summary.get("test_accuracy"))))
    return lines + line(("meta-training trajectories", count(summary.get("iterations"))),
                        ("meta-training time", seconds(summary.get("train_seconds"))))
