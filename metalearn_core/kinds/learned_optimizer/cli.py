"""Command-line flags of learned-optimizer runs (``--kind learned_optimizer``, or its presets)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

FLAGS = ("reuse_optimizer_of", "meta_iterations", "meta_budget")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("learned-optimizer runs (--preset learned-optimizer)")
    group.add_argument("--reuse-optimizer-of", type=int, metavar="RUN",
                       help="skip meta-training: evaluate that finished run's optimizer on this base network")
    group.add_argument("--meta-iterations", type=int, help="meta-training trajectories at most")
    group.add_argument("--meta-budget", type=float, help="meta-training seconds at most")


def apply_arguments(config: Any, args: argparse.Namespace, from_file: bool) -> Any:
    flags = {"reuse_optimizer_of": args.reuse_optimizer_of, "iterations": args.meta_iterations,
             "budget_seconds": args.meta_budget}
    changes = {name: value for name, value in flags.items() if value is not None}
    return config.replace(learned_optimizer=dataclasses.replace(config.learned_optimizer, **changes))
