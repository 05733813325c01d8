"""Command-line flags of stacked runs (``--kind stacked``), and the lines ``runs show`` prints of one."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.kinds.stacked.config import LEARNER_KINDS, META_INPUTS, LearnerConfig
from metalearn_core.kinds.summary_text import count, line, number, percent, text

FLAGS = ("learners", "meta_input", "folds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stacked runs (--kind stacked)")
    group.add_argument("--learners", help=f"base learners, comma-separated from {', '.join(LEARNER_KINDS)}")
    group.add_argument("--meta-input", choices=META_INPUTS)
    group.add_argument("--folds", type=int, help="k-fold cross-fitting instead of a held-out split")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    stacking = settings
    if args.learners:
        kinds = [kind.strip() for kind in args.learners.split(",") if kind.strip()]
        stacking = dataclasses.replace(stacking, learners=tuple(LearnerConfig(kind) for kind in kinds))
    if args.meta_input:
        stacking = dataclasses.replace(stacking, meta_input=args.meta_input)
    if args.folds:
        stacking = dataclasses.replace(stacking, folds=args.folds)
    return config.replace(kind="stacked", settings=stacking)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A stacked run's meta network on the test set, what stacking gained over the best base learner,
    and each base learner's test accuracy; what the summary lacks is left out."""
    lines = line(("test accuracy", percent(summary.get("test_accuracy"))),
                 ("test loss", number(summary.get("test_loss"))), ("meta epochs", count(summary.get("epochs_done"))),
                 prefix="meta network: ")
    lines += line(("best base learner", percent(summary.get("best_base_accuracy"))),
                  ("stacking gain", number(summary.get("stacking_gain"), "+.2%")))
    learners = summary.get("learners")
    for position, learner in enumerate(learners if isinstance(learners, list) else [], start=1):
        if isinstance(learner, dict):
            label = text(learner.get("label")) or f"base {position}"
            lines += line((f"{label}: test accuracy", percent(learner.get("test_accuracy"))), prefix="  ")
    return lines
