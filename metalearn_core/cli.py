"""Command-line interface over the same functions the dashboard calls.

    python -m metalearn_core train --preset dense --epochs 3
    python -m metalearn_core train --kind stacked --learners network,random_forest
    python -m metalearn_core train --kind fewshot --algorithm maml --budget 300
    python -m metalearn_core train --config run.json --detach
    python -m metalearn_core runs list | runs show ID | runs delete ID | runs cancel ID
    python -m metalearn_core train --dataset fashion_mnist --epochs 3
    python -m metalearn_core data info
    python -m metalearn_core sweep --space space.json --trials 20 --sampler tpe --pruner asha
    python -m metalearn_core sweeps list | sweeps show ID | sweeps resume ID | sweeps cancel ID
    python -m metalearn_core store info | store copy --to postgresql://user@host:5432/lab | store recover

Errors print one line (``error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from metalearn_core import kinds
from metalearn_core.config import DATASETS, OPTIMIZERS, ConfigError, RunConfig
from metalearn_core.data.domains import DOMAIN_LABELS, load_domain
from metalearn_core.data.mnist import DataError
from metalearn_core.kinds.summary_text import generic_lines
from metalearn_core.presets import DEFAULT_PRESET, PRESETS, preset_config
from metalearn_core.runner import cancel, launch
from metalearn_core.runs.artifacts import ArtifactError
from metalearn_core.runs.copy import CopyError, copy_store
from metalearn_core.runs.database import DatabaseError, redact
from metalearn_core.runs.recover import recover_runs
from metalearn_core.runs.run_files import DamagedFile, damaged_metric_row, metric_damage, whole_number
from metalearn_core.runs.settings import get_settings
from metalearn_core.runs.store import Run, RunNotFound, RunStore
from metalearn_core.safe_input import InputError, parse_id, printable, read_text
from metalearn_core.sweeps import cli as sweep_cli
from metalearn_core.sweeps.store import SweepNotFound

_TRAINING_FLAGS = {"epochs": "epochs", "batch_size": "batch_size", "optimizer": "optimizer",
                   "lr": "learning_rate", "validation_split": "validation_split", "seed": "seed",
                   "train_limit": "train_limit", "test_limit": "test_limit", "dataset": "dataset",
                   "hypergradient_rate": "hypergradient_rate"}


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that make a run config (``train``, and ``sweep`` for its base run): see :func:`build_config`."""
    parser.add_argument("--config", help="a run config JSON file (flags below override it)")
    parser.add_argument("--preset", choices=sorted(PRESETS), help=f"start from a preset (default {DEFAULT_PRESET})")
    parser.add_argument("--kind", choices=kinds.names())
    parser.add_argument("--name")
    parser.add_argument("--dataset", choices=DATASETS, help="the domain to learn (default mnist)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    parser.add_argument("--hypergradient-rate", type=float, metavar="BETA",
                       help="with --optimizer sgd_hd/adam_hd: the learning rate of the learning rate "
                            "(0: the paper's 1e-3 / 1e-7)")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--validation-split", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--train-limit", type=int, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, help="use only the first N test images")
    parser.add_argument("--no-scale", action="store_true", help="keep raw 0-255 pixels (the seed's mistake)")
    for kind in kinds.all_kinds():  # each kind adds its own flags (metalearn_core/kinds/<kind>/cli.py)
        kind.cli_module().add_arguments(parser)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m metalearn_core", description=__doc__.split("\n")[0])
    parser.add_argument("--home", help="data home with the run store (default: $METALEARN_HOME or ~/.metalearn)")
    parser.add_argument("--mnist", help="path to mnist.npz (default: $METALEARN_MNIST, then Keras)")
    parser.add_argument("--fashion-mnist", metavar="PATH",
                        help="Fashion-MNIST: a folder with its four IDX .gz files, or an .npz "
                             "(default: $METALEARN_FASHION_MNIST, then Keras)")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="launch a run in the background and follow it")
    add_run_arguments(train)
    train.add_argument("--detach", action="store_true", help="return at once, leaving the run in the background")
    train.add_argument("--save-config", help="write the resolved config to this file and exit")

    runs = commands.add_parser("runs", help="list, show, cancel or delete runs")
    run_commands = runs.add_subparsers(dest="runs_command", required=True)
    run_commands.add_parser("list", help="all runs, newest first")
    for name in ("show", "delete", "cancel"):
        run_commands.add_parser(name).add_argument("run_id")
    rename = run_commands.add_parser("rename")
    rename.add_argument("run_id")
    rename.add_argument("name")
    tag = run_commands.add_parser("tag")
    tag.add_argument("run_id")
    tag.add_argument("tags", nargs="*")

    sweep_cli.add_commands(commands, add_run_arguments)

    store = commands.add_parser("store", help="where runs are kept; copy them into another database")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    store_commands.add_parser("info", help="the database, run folders and artefact location in use")
    copy = store_commands.add_parser("copy", help="copy every run into another database (e.g. PostgreSQL)")
    copy.add_argument("--to", required=True, metavar="URL",
                      help="postgresql://user[:password]@host[:port]/dbname, or an SQLite file path")
    copy.add_argument("--artifacts", metavar="URL", help="also copy run folders to this folder or fsspec URL")
    store_commands.add_parser("recover", help="rebuild the run index from the run folders (after the database "
                                              "was lost or damaged); rows already there are kept")

    data = commands.add_parser("data", help="data source")
    data.add_subparsers(dest="data_command", required=True).add_parser(
        "info", help="where each domain (MNIST, Fashion-MNIST) comes from")
    return parser


def build_config(args: argparse.Namespace) -> RunConfig:
    """The run config from a JSON file or a preset, with command-line flags applied on top."""
    if args.config:
        try:
            text = read_text(args.config)
        except InputError as error:
            raise ConfigError(str(error)) from None
        config = RunConfig.from_json(text, source=str(args.config))
    else:
        config = preset_config(args.preset or DEFAULT_PRESET)
    if args.preset and args.config:
        raise ConfigError("give either --config or --preset, not both")
    changes = {field: getattr(args, flag) for flag, field in _TRAINING_FLAGS.items()
               if getattr(args, flag) is not None}
    if args.no_scale:
        changes["scale_pixels"] = False
    training = dataclasses.replace(config.training, **changes)
    kind = args.kind or config.kind
    for other in kinds.all_kinds():
        flags = [flag for flag in other.cli_module().FLAGS if getattr(args, flag, None) is not None]
        if flags and other.name != kind:
            raise ConfigError(f"--{flags[0].replace('_', '-')} is a flag of {other.name} runs (add --kind {other.name})")
    config = config.replace(name=args.name or config.name, training=training)
    # The kind's own flags make the config of that kind (a few-shot run takes its learner network
    # from them), starting from the settings the config holds if it is of that kind already.
    spec = kinds.get(kind)
    settings = config.settings if config.kind == kind else (spec.section_class() if spec.section_class else None)
    return spec.cli_module().apply_arguments(config, settings, args, from_file=bool(args.config))


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def _progress_line(run: Run) -> str:
    progress = run.progress
    if run.status == "queued":
        return "queued: waiting for a free slot"
    if not progress:
        return "starting (loading TensorFlow and the data)"
    if "fraction" in progress:
        return f"{_bar(progress['fraction'])} {progress.get('label', '')}"
    if progress.get("phase") and progress.get("batch") is None:
        return f"{progress.get('series', '')}: {progress['phase']}"
    epochs, batches = progress.get("epochs") or 1, progress.get("batches") or 1
    done = (progress.get("epoch", 1) - 1 + progress.get("batch", 0) / batches) / epochs
    loss = progress.get("loss")
    loss_text = f" loss {loss:.4f}" if isinstance(loss, float) else ""
    return (f"{progress.get('series', '')} {_bar(done)} epoch {progress.get('epoch')}/{epochs} "
            f"batch {progress.get('batch')}/{batches}{loss_text} {progress.get('elapsed', 0):.0f}s")


def follow(store: RunStore, run_id: int, out=sys.stderr, poll: float = 0.5) -> Run:
    """Print a one-line progress bar until the run ends; Ctrl-C cancels the run."""
    try:
        while True:
            run = store.get(run_id)
            if not run.is_active:
                break
            if out.isatty():
                out.write("\r\033[K" + _progress_line(run)[:150])
            out.flush()
            time.sleep(poll)
    except KeyboardInterrupt:
        out.write(f"\ncancelling run {run_id}...\n")
        cancel(store, run_id)
        while store.get(run_id).is_active:
            time.sleep(0.2)
        run = store.get(run_id)
    if out.isatty():
        out.write("\r\033[K")
    return run


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, (int, float)) else "-"


def _summary_lines(run: Run) -> list[str]:
    """What the run's kind says its summary holds (an unknown kind's: every number and text in it)."""
    try:
        kind = kinds.get(run.kind)
    except kinds.UnknownKind:
        return generic_lines(run.summary)
    return kind.summary_lines(run.summary)


def _print_metrics(run: Run, store: RunStore) -> None:
    """The last epoch's loss and accuracy of every series; damaged rows are left out with a note."""
    rows = store.metrics(run.id)
    for message in metric_damage({run.id: rows}):
        print(f"note: {message}")
    last: dict[str, dict[str, tuple[int, float]]] = {}
    for row in rows:
        if not damaged_metric_row(row):
            last.setdefault(printable(row["series"]), {})[str(row["name"])] = (whole_number(row["epoch"]), row["value"])
    if last:
        print("metrics (last epoch per series):")
    for series, values in last.items():
        shown = "  ".join(f"{name} {value:.4g}" for name, (_, value) in sorted(values.items())
                          if value is not None and name in ("loss", "accuracy", "val_loss", "val_accuracy",
                                                             "prequential_accuracy", "window_accuracy"))
        epoch = max(epoch for epoch, _ in values.values())
        print(f"  {series} (epoch {epoch}): {shown}")


def _print_confusion(run: Run) -> None:
    """The test-set confusion matrix, when the results its kind read back hold one; a note naming the
    run and the file when that file is damaged."""
    try:
        results = kinds.get(run.kind).read_results(run.folder)
    except kinds.UnknownKind:
        return
    except DamagedFile as error:
        print(f"note: {error}")
        return
    confusion = (results or {}).get("confusion")
    if confusion is None:
        return
    print("confusion matrix (rows: true class, columns: predicted):")
    print("      " + "".join(f"{k:>6}" for k in range(len(confusion))))
    for k, row in enumerate(confusion):
        print(f"{k:>6}" + "".join(f"{v:>6}" for v in row))


def _print_run(run: Run, store: RunStore) -> None:
    """Everything the store knows of a run, whatever its kind, however far it got; text from the
    store goes through :func:`printable`."""
    tags = ", ".join(printable(tag) for tag in run.tags) if isinstance(run.tags, list) else ""
    print(f"run {run.id}: {printable(run.name)}  [{printable(run.kind)}, {printable(run.status)}]  tags: {tags or '-'}")
    print(f"created {_when(run.created_at)}  started {_when(run.started_at)}  ended {_when(run.ended_at)}")
    if run.error:
        print(f"note: {printable(run.error)}")
    for line in _summary_lines(run):
        print(printable(line))
    data = run.summary.get("data") if isinstance(run.summary, dict) else None
    if isinstance(data, str) and data:
        print(f"data: {printable(data)}")
    _print_metrics(run, store)
    _print_confusion(run)
    print(f"folder: {printable(run.folder)}")
    if run.config_error:
        print(f"config: unreadable ({printable(run.config_error)})")
    else:
        print(f"base network: {printable(run.config.base.describe())}")


def _runs_command(args: argparse.Namespace, store: RunStore) -> int:
    if getattr(args, "run_id", None) is not None:
        args.run_id = parse_id(args.run_id)  # ASCII digits within SQLite's range, else one clear line
    if args.runs_command == "list":
        runs = store.list_runs()
        if not runs:
            print("no runs yet: start one with `python -m metalearn_core train`")
        print(f"{'id':>4}  {'name':<24} {'kind':<8} {'status':<12} {'created':<16} {'test acc':>9}")
        for run in runs:
            print(f"{run.id:>4}  {printable(run.name)[:24]:<24} {printable(run.kind):<8} {printable(run.status):<12} "
                  f"{_when(run.created_at):<16} {_percent(run.test_accuracy):>9}")
    elif args.runs_command == "show":
        _print_run(store.get(args.run_id), store)
    elif args.runs_command == "delete":
        store.delete(args.run_id)
        print(f"deleted run {args.run_id}")
    elif args.runs_command == "cancel":
        print(f"run {args.run_id}: {cancel(store, args.run_id)}")
    elif args.runs_command == "rename":
        store.rename(args.run_id, args.name)
    elif args.runs_command == "tag":
        store.set_tags(args.run_id, args.tags)
    return 0


def _train_command(args: argparse.Namespace, store: RunStore, mnist: str | None) -> int:
    config = build_config(args)
    if args.save_config:
        Path(args.save_config).write_text(config.to_json())
        print(f"wrote {args.save_config}")
        return 0
    run_id = launch(store, config, mnist)
    print(f"launched run {run_id} ({config.kind}, {config.base.describe()})", flush=True)
    if args.detach:
        return 0
    run = follow(store, run_id)
    _print_run(run, store)
    return 0 if run.status == "completed" else 1


def _data_info(mnist: str | None, fashion: str | os.PathLike | None) -> int:
    """One line per domain: where its data comes from, or why Fashion-MNIST is not available.

    A broken MNIST file is an error (MNIST falls back on a sample, never on nothing), and so is a
    broken Fashion-MNIST path the user gave; a Fashion-MNIST that is simply absent is not."""
    print(f"{DOMAIN_LABELS['mnist']}: {load_domain('mnist', mnist).describe()}")
    try:
        line = load_domain("fashion_mnist", fashion).describe()
    except DataError as error:
        print(f"{DOMAIN_LABELS['fashion_mnist']}: not available: {error}")
        return 2 if fashion else 0
    print(f"{DOMAIN_LABELS['fashion_mnist']}: {line}")
    return 0


def _store_command(args: argparse.Namespace, store: RunStore) -> int:
    if args.store_command == "info":
        runs = store.list_runs()
        print(store.describe())
        print(f"{len(runs)} runs ({sum(run.is_active for run in runs)} active)")
        return 0
    counts = copy_store(store, args.to, args.artifacts,
                        progress=lambda table, rows: print(f"  {table}: {rows} rows", flush=True))
    print(f"copied {counts['runs']} runs into {redact(args.to)}; set METALEARN_DB={redact(args.to)} "
          f"(with the same METALEARN_HOME) to use it")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = get_settings(home=args.home, mnist=args.mnist, fashion=args.fashion_mnist)
        mnist = str(settings.mnist_path) if settings.mnist_path else None
        if settings.fashion_path:  # the run's worker, a child process, finds it there too
            os.environ["METALEARN_FASHION_MNIST"] = str(settings.fashion_path)
        if args.command == "data":
            return _data_info(mnist, settings.fashion_path)
        if args.command == "store" and args.store_command == "recover":  # before opening: it may be damaged
            print(recover_runs(settings.home, kinds.results_files()).describe())
            return 0
        store = RunStore(settings.home)
        if args.command == "store":
            return _store_command(args, store)
        if args.command == "runs":
            return _runs_command(args, store)
        if args.command in ("sweep", "sweeps"):
            return sweep_cli.run_command(args, store, mnist, build_config)
        return _train_command(args, store, mnist)
    except (ConfigError, DataError, RunNotFound, SweepNotFound, ValueError, OSError, DatabaseError, CopyError,
            ArtifactError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
