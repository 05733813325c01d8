"""Command-line flags of base runs (``--kind base``, the default), and the lines ``runs show`` prints of one."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.kinds.summary_text import count, line, number, percent, seconds

FLAGS = ("learned_optimizer_run",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("base runs (--kind base)")
    group.add_argument("--learned-optimizer-run", type=int, metavar="RUN",
                       help="with --optimizer learned: the finished learned-optimizer run whose optimizer trains")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    if args.learned_optimizer_run is None:
        return config.replace(kind="base")
    training = dataclasses.replace(config.training, learned_optimizer_run=args.learned_optimizer_run)
    return config.replace(kind="base", training=training)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A base run's test accuracy and loss, its training, and the learned optimizer that trained it
    (if one did); what the summary lacks is left out."""
    lines = line(("test accuracy", percent(summary.get("test_accuracy"))),
                 ("test loss", number(summary.get("test_loss"))))
    lines += line(("epochs", count(summary.get("epochs_done"))), ("training time", seconds(summary.get("train_seconds"))),
                  ("parameters", count(summary.get("parameters"))))
    return lines + line(("trained by the learned optimizer of run", count(summary.get("learned_optimizer_run"))))
