"""Command-line flags of online runs (``--kind online``), and the lines ``runs show`` prints of one."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from metalearn_core.kinds.online.config import LEARNER_LABELS, LEARNERS, META_STEPS, STREAMS
from metalearn_core.kinds.summary_text import count, line, number, percent, seconds, text

FLAGS = ("stream", "stream_length", "stream_batch", "max_angle", "online_learners", "pretrained_run",
         "fewshot_run", "meta_step")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("online runs (--kind online)")
    group.add_argument("--stream", choices=STREAMS, help="random order, rotating digits, or MNIST then Fashion-MNIST")
    group.add_argument("--stream-length", type=int, help="examples in the stream (default 3000)")
    group.add_argument("--stream-batch", type=int, help="examples per predict-then-learn step (default 1)")
    group.add_argument("--max-angle", type=float, help="rotate stream: the angle reached at its end (default 90)")
    group.add_argument("--online-learners", help=f"comma-separated, from {', '.join(LEARNERS)} "
                       "(default sgd,adam,pretrained; metalearned once --fewshot-run is given)")
    group.add_argument("--pretrained-run", type=int, metavar="RUN",
                       help="a finished base run to fine-tune online (default: pre-train one in the run)")
    group.add_argument("--fewshot-run", type=int, metavar="RUN",
                       help="a finished MAML / Meta-SGD / Reptile run whose meta-learned start learns online")
    group.add_argument("--meta-step", choices=META_STEPS,
                       help="the meta-learned start steps like the scratch SGD learner (default) or at its own "
                            "meta-learned step size")


def apply_arguments(config: Any, settings: Any, args: argparse.Namespace, from_file: bool) -> Any:
    """The flags on top of the config's online section (checked when the section is built)."""
    changes = {"stream": args.stream, "length": args.stream_length, "batch_size": args.stream_batch,
               "max_angle": args.max_angle, "pretrained_run": args.pretrained_run,
               "fewshot_run": args.fewshot_run, "meta_step": args.meta_step, "seed": args.seed}
    changes = {key: value for key, value in changes.items() if value is not None}
    if args.online_learners:
        changes["learners"] = tuple(name.strip() for name in args.online_learners.split(",") if name.strip())
    elif args.fewshot_run and "metalearned" not in settings.learners:
        changes["learners"] = (*settings.learners, "metalearned")
    changes.setdefault("report_every", min(settings.report_every, changes.get("length", settings.length)))
    changes.setdefault("window", min(settings.window, changes.get("length", settings.length)))
    return config.replace(kind="online", settings=dataclasses.replace(settings, **changes))


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """An online run's stream and, per learner, its final prequential accuracy, the area under its
    running-accuracy curve and its time; what the summary lacks is left out."""
    lines = line(("stream", text(summary.get("stream"))), ("examples", count(summary.get("examples"))),
                 ("drift at example", count(summary.get("drift_at"))))
    learners = [key.removeprefix("final_") for key in summary if key.startswith("final_")]
    for name in learners:
        lines += line((f"{LEARNER_LABELS.get(name, name)}: final accuracy", percent(summary.get(f"final_{name}"))),
                      ("AUC", number(summary.get(f"auc_{name}"))), ("time", seconds(summary.get(f"seconds_{name}"))),
                      prefix="  ")
    return lines
