"""Command-line flags of base runs (``--kind base``, the default)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

FLAGS = ("learned_optimizer_run",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("base runs (--kind base)")
    group.add_argument("--learned-optimizer-run", type=int, metavar="RUN",
                       help="with --optimizer learned: the finished learned-optimizer run whose optimizer trains")


def apply_arguments(config: Any, args: argparse.Namespace, from_file: bool) -> Any:
    if args.learned_optimizer_run is None:
        return config
    training = dataclasses.replace(config.training, learned_optimizer_run=args.learned_optimizer_run)
    return config.replace(training=training)
