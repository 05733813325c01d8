"""Command-line flags of few-shot runs (``--kind fewshot``), and the lines ``runs show`` prints of one."""

from __future__ import annotations

import argparse
from typing import Any

from metalearn_core.config import DATASETS
from metalearn_core.kinds.fewshot.config import FEWSHOT_ALGORITHMS, FewShotConfig
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings
from metalearn_core.kinds.summary_text import count, line, percent, seconds, text

FLAGS = ("algorithm", "network", "shots", "iterations", "budget", "episodes", "train_domain", "eval_domain")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("few-shot runs (--kind fewshot)")
    group.add_argument("--algorithm", choices=FEWSHOT_ALGORITHMS, help="default protonet, with its recommended settings")
    group.add_argument("--network", choices=("conv", "dense"), help="the learner network preset (default conv)")
    group.add_argument("--shots", type=int, help="training shots (evaluation always scores 1 and 5)")
    group.add_argument("--iterations", type=int, help="meta-iterations at most")
    group.add_argument("--budget", type=float, help="meta-training seconds at most (0 = no limit)")
    group.add_argument("--episodes", type=int, help="evaluation episodes per setting")
    group.add_argument("--train-domain", choices=DATASETS, help="meta-train on classes 0-4 of this domain "
                       "(default mnist)")
    group.add_argument("--eval-domain", choices=DATASETS, help="evaluate on classes 5-9 of this domain (default "
                       "mnist); another domain than --train-domain makes a cross-domain run")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    """The chosen algorithm with its recommended settings, then the flags on top.

    ``--dataset`` sets both domains unless ``--train-domain`` / ``--eval-domain`` name them.
    """
    if args.algorithm or not from_file:
        algorithm = args.algorithm or settings.algorithm
        settings = FewShotConfig(**{**settings.to_dict(), "algorithm": algorithm, **recommended_settings(algorithm)})
    flags = {"shots": args.shots, "iterations": args.iterations, "time_budget": args.budget,
             "evaluation_episodes": args.episodes, "seed": args.seed,
             "train_domain": args.train_domain, "eval_domain": args.eval_domain}
    if getattr(args, "dataset", None):  # --dataset alone: an in-domain run of that domain
        flags["train_domain"] = flags["train_domain"] or args.dataset
        flags["eval_domain"] = flags["eval_domain"] or args.dataset
    settings = FewShotConfig(**{**settings.to_dict(), **{k: v for k, v in flags.items() if v is not None}})
    base = fewshot_network(args.network or "conv") if (args.network or not from_file) else config.base
    return config.replace(kind="fewshot", base=base, settings=settings)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A few-shot run's accuracy on held-out classes (1-shot and 5-shot, 5-way), its algorithm,
    meta-training and domains; what the summary lacks is left out."""
    shots = [("1-shot", percent(summary.get("fewshot_1shot"))), ("5-shot", percent(summary.get("fewshot_5shot")))]
    if all(value is None for _, value in shots):  # an older run: only its own shot count's accuracy
        shots = [("test accuracy", percent(summary.get("test_accuracy")))]
    lines = line(*shots, prefix="few-shot accuracy on held-out classes: ")
    lines += line(("algorithm", text(summary.get("algorithm"))), ("meta-iterations", count(summary.get("iterations"))),
                  ("meta-training time", seconds(summary.get("train_seconds"))))
    train, evaluate = text(summary.get("train_domain")), text(summary.get("eval_domain"))
    return lines + line(("domains", f"meta-trained on {train}, evaluated on {evaluate}" if train and evaluate else None))
