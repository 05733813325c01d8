"""Command-line flags of transfer runs (``--kind transfer --source-run ID``), and the lines ``runs show``
prints of one."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.config import DATASETS, ConfigError
from metalearn_core.kinds.summary_text import count, line, percent, seconds, text
from metalearn_core.kinds.transfer.config import TRANSFER_MODES
from metalearn_core.kinds.transfer.source import transfer_config
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import RunStore

# --shots belongs to few-shot runs, hence --transfer-shots.
FLAGS = ("source_run", "target", "transfer_shots", "transfer_modes", "repeats")


def _numbers(text: str) -> tuple[int, ...]:
    try:
        return tuple(0 if part.strip() == "all" else int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of whole numbers or 'all', got {text!r}") from None


def _modes(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transfer runs (--kind transfer)")
    group.add_argument("--source-run", type=int, metavar="RUN", help="the finished base run to transfer")
    group.add_argument("--target", choices=DATASETS, help="the domain to transfer to (default: the other one)")
    group.add_argument("--transfer-shots", type=_numbers, metavar="K,K,...",
                       help="labelled examples per class, 0 or 'all' for the whole split (default 1,5,20,100,all)")
    group.add_argument("--transfer-modes", type=_modes, metavar="MODE,...",
                       help=f"beside scratch: {', '.join(TRANSFER_MODES)} (default both)")
    group.add_argument("--repeats", type=int, help="trainings per point, each on its own sample (default 2)")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    """The source run's network, the target domain, the flags; the training settings as given."""
    flags = {"source_run": args.source_run, "target": args.target, "shots": args.transfer_shots,
             "modes": args.transfer_modes, "repeats": args.repeats}
    settings = dataclasses.replace(settings, **{k: v for k, v in flags.items() if v is not None})
    if not settings.source_run:
        raise ConfigError("transfer: give --source-run, the id of a finished base run")
    store = RunStore(get_settings(home=args.home).home)
    return transfer_config(store, settings, config.training, name=config.name)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A transfer run's source and target, and the mean test accuracy of every mode at every number
    of examples per class ("frozen@10": frozen features, 10 examples per class); what the summary
    lacks is left out."""
    lines = line(("from run", count(summary.get("source_run"))), ("trained on", text(summary.get("source_dataset"))),
                 ("to", text(summary.get("target"))))
    lines += line(("points trained", count(summary.get("points"))), ("time", seconds(summary.get("train_seconds"))))
    accuracy = summary.get("transfer_accuracy")
    if isinstance(accuracy, dict) and accuracy:
        lines.append("test accuracy per mode @ examples per class:")
        for point, value in accuracy.items():
            lines += line((f"{point}:", percent(value)), prefix="  ")
    return lines
