"""Command-line flags of learned-optimizer runs (``--kind learned_optimizer``, or its presets)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

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


def apply_arguments(config: Any, args: argparse.Namespace, from_file: bool) -> Any:
    flags = {"reuse_optimizer_of": args.reuse_optimizer_of, "iterations": args.meta_iterations,
             "budget_seconds": args.meta_budget, "seed": args.meta_seed, "method": args.meta_method,
             "design": args.design}
    changes = {name: value for name, value in flags.items() if value is not None}
    return config.replace(learned_optimizer=dataclasses.replace(config.learned_optimizer, **changes))
