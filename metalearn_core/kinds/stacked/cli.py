"""Command-line flags of stacked runs (``--kind stacked``)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.kinds.stacked.config import LEARNER_KINDS, META_INPUTS, LearnerConfig

FLAGS = ("learners", "meta_input", "folds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stacked runs (--kind stacked)")
    group.add_argument("--learners", help=f"base learners, comma-separated from {', '.join(LEARNER_KINDS)}")
    group.add_argument("--meta-input", choices=META_INPUTS)
    group.add_argument("--folds", type=int, help="k-fold cross-fitting instead of a held-out split")


def apply_arguments(config: Any, args: argparse.Namespace, from_file: bool) -> Any:
    stacking = config.stacking
    if args.learners:
        kinds = [kind.strip() for kind in args.learners.split(",") if kind.strip()]
        stacking = dataclasses.replace(stacking, learners=tuple(LearnerConfig(kind) for kind in kinds))
    if args.meta_input:
        stacking = dataclasses.replace(stacking, meta_input=args.meta_input)
    if args.folds:
        stacking = dataclasses.replace(stacking, folds=args.folds)
    return config.replace(stacking=stacking)
