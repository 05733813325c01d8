"""The sweep commands of the command-line interface (``python -m metalearn_core sweep ...``).

    python -m metalearn_core sweep --space space.json --trials 20 [--sampler tpe] [--pruner median]
    python -m metalearn_core sweeps list | sweeps show ID | sweeps resume ID | sweeps cancel ID

``space.json`` maps settings to ranges or choices (see :mod:`metalearn_core.sweeps.space`), e.g.
``{"units": {"low": 32, "high": 512}, "optimizer": ["adam", "sgd"]}``. The base run comes from the
same flags as ``train`` (``--preset``, ``--config``, ``--epochs``, ``--train-limit``...). ``sweep``
follows the sweep, a line per finished trial; Ctrl-C cancels it (its trials' curves are kept).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime

from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.safe_input import InputError, parse_id, printable, read_json_file
from metalearn_core.sweeps import runner
from metalearn_core.sweeps.config import PRUNERS, SAMPLERS, SweepConfig, objective_names
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import Sweep, SweepStore


def add_commands(commands: argparse._SubParsersAction,
                 add_run_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``sweep`` and ``sweeps`` to the CLI's subcommands; ``add_run_arguments`` adds the flags
    of the base run (the ``train`` command's)."""
    sweep = commands.add_parser("sweep", help="search settings with Optuna: every trial is a run")
    sweep.add_argument("--space", required=True, help="a JSON file: setting -> range or choices")
    sweep.add_argument("--trials", type=int, default=20, help="how many trials at most (default 20)")
    sweep.add_argument("--time-budget", type=float, default=0.0, metavar="SECONDS",
                       help="start no trial after this much wall time (default: no limit)")
    sweep.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    sweep.add_argument("--pruner", choices=PRUNERS, default="none")
    sweep.add_argument("--objective", choices=sorted(objective_names()), default="val_accuracy")
    sweep.add_argument("--sampler-seed", type=int, default=0)
    sweep.add_argument("--detach", action="store_true", help="return at once, leaving the sweep in the background")
    add_run_arguments(sweep)  # the base run: the same flags as train (--name names the sweep)

    sweeps = commands.add_parser("sweeps", help="list, show, resume or cancel sweeps")
    sweep_commands = sweeps.add_subparsers(dest="sweeps_command", required=True)
    sweep_commands.add_parser("list", help="all sweeps, newest first")
    for name, text in (("show", "the best trial, the importances and every trial"),
                       ("resume", "start a new controller for an interrupted or cancelled sweep"),
                       ("cancel", "cancel a sweep and the trials it has in flight")):
        sweep_commands.add_parser(name, help=text).add_argument("sweep_id")


def read_space(path: str, kind: str) -> SearchSpace:
    """The search space in a JSON file, with the file named in any error."""
    try:
        data = read_json_file(path)
    except InputError as error:
        raise ConfigError(str(error)) from None
    try:
        return SearchSpace.from_dict(data, kind)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def run_command(args: argparse.Namespace, runs: RunStore, mnist: str | None,
                build_config: Callable[[argparse.Namespace], RunConfig]) -> int:
    sweeps = SweepStore(runs.home)
    if args.command == "sweep":
        base = build_config(args)
        config = SweepConfig(space=read_space(args.space, base.kind), base=base, name=args.name or "",
                             sampler=args.sampler, pruner=args.pruner, objective=args.objective,
                             trials=args.trials, time_budget=args.time_budget, seed=args.sampler_seed)
        sweep_id = runner.launch_sweep(sweeps, config, mnist)
        print(f"launched sweep {sweep_id}: {config.trials} trials at most, {config.sampler} sampler, "
              f"{config.pruner} pruner, objective {config.objective_label}", flush=True)
        if args.detach:
            return 0
        sweep = follow(runs, sweeps, sweep_id)
        show(runs, sweep)
        return 0 if sweep.status == "completed" else 1
    command = args.sweeps_command
    if getattr(args, "sweep_id", None) is not None:
        args.sweep_id = parse_id(args.sweep_id, "sweep")
    if command == "list":
        list_sweeps(sweeps)
    elif command == "show":
        show(runs, sweeps.get(args.sweep_id))
    elif command == "resume":
        runner.resume_sweep(sweeps, args.sweep_id, mnist)
        print(f"resumed sweep {args.sweep_id}")
    elif command == "cancel":
        print(f"sweep {args.sweep_id}: {runner.cancel_sweep(runs, sweeps, args.sweep_id)}")
    return 0


def _value(value: float | None) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


def follow(runs: RunStore, sweeps: SweepStore, sweep_id: int, out=sys.stderr, poll: float = 1.0) -> Sweep:
    """Print a line per finished trial until the sweep ends; Ctrl-C cancels the sweep."""
    reported: set[int] = set()
    try:  # the import too: a Ctrl-C while pandas loads cancels the sweep like any other
        from metalearn_core.sweeps.analysis import trials_frame  # heavy: pandas

        while True:
            sweep = sweeps.get(sweep_id)
            frame = trials_frame(runs, sweep)
            for row in frame[frame["state"] != "running"].itertuples():
                if row.trial not in reported:
                    reported.add(row.trial)
                    out.write(f"trial {row.trial}: {row.state:<8} {sweep.config.objective_label} "
                              f"{_value(row.objective)} after {row.steps} step(s) (run {row.run})  "
                              f"best so far {_value(sweep.state.get('best_value'))}\n")
                    out.flush()
            if not sweep.is_active:
                return sweep
            time.sleep(poll)
    except KeyboardInterrupt:
        out.write(f"\ncancelling sweep {sweep_id} and its trials in flight...\n")
        out.flush()
        runner.cancel_sweep(runs, sweeps, sweep_id)
        while sweeps.get(sweep_id).is_active:
            time.sleep(0.2)
        return sweeps.get(sweep_id)


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def list_sweeps(sweeps: SweepStore) -> None:
    items = sweeps.list()
    if not items:
        print("no sweeps yet: start one with `python -m metalearn_core sweep --space space.json`")
        return
    print(f"{'id':>4}  {'name':<24} {'status':<12} {'trials':>9}  {'sampler':<7} {'pruner':<7} "
          f"{'best':>8}  created")
    for sweep in items:
        counts = sweep.state.get("trials", {})
        done = sum(counts.get(state, 0) for state in ("complete", "pruned", "fail"))
        budget = sweep.state.get("trial_budget") or sweep.config.trials
        print(f"{sweep.id:>4}  {printable(sweep.name)[:24]:<24} {sweep.status:<12} {f'{done}/{budget}':>9}  "
              f"{sweep.config.sampler:<7} {sweep.config.pruner:<7} {_value(sweep.state.get('best_value')):>8}  "
              f"{_when(sweep.state.get('created_at'))}")


def show(runs: RunStore, sweep: Sweep) -> None:
    """The sweep's definition, its best trial, the importances and every trial."""
    from metalearn_core.sweeps.analysis import (  # heavy: pandas
        best_trial,
        importances,
        param_columns,
        trials_frame,
    )

    config = sweep.config
    print(f"sweep {sweep.id}: {printable(sweep.name)}  [{sweep.status}]  {config.sampler} sampler, {config.pruner} pruner, "
          f"objective {config.objective_label} ({config.direction})")
    if sweep.state.get("error"):
        print(f"note: {printable(sweep.state['error'])}")
    print(f"base: {config.base.kind} run, {config.base.base.describe()}")
    for dimension in config.space.dimensions:
        print(f"  search {dimension.name}: {dimension.describe()}")
    frame = trials_frame(runs, sweep)
    best = best_trial(frame, config.direction)
    if best is None:
        print("best trial: none complete yet")
    else:
        settings = ", ".join(f"{name}={best[name]:.4g}" if isinstance(best[name], float) else f"{name}={best[name]}"
                             for name in param_columns(frame) if best.get(name) == best.get(name))
        print(f"best trial: {int(best['trial'])} (run {int(best['run'])}): {config.objective_label} "
              f"{_value(best['objective'])}, test accuracy {_value(best['test_accuracy'])} (not used to choose)")
        print(f"  settings: {settings}")
    values, message = importances(sweep)
    if values:
        print("importances (fANOVA, share of the objective's variance):")
        for name, value in values.items():
            print(f"  {name:<20} {value:6.3f}  {'#' * int(round(40 * value))}")
    else:
        print(f"importances: {message}")
    if not frame.empty:
        print("trials:")
        print(frame.drop(columns=["outcome"]).to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    print(f"folder: {sweep.folder}")
