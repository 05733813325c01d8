"""The controller of one sweep: the one process that owns its Optuna study.

It works ask-and-tell: it asks the study for a trial, samples the trial's settings, launches the
trial as an ordinary run (through the same queue as every run: ``METALEARN_MAX_RUNS`` trials of a
sweep in flight at once, one by default), reads the run's per-epoch validation score from the run
store, reports it to the study, cancels the run when the pruner says so (its curves are kept), and
tells the study each trial's outcome. While a trial trains, a warm worker waits for the next one
(:func:`metalearn_core.runner.ensure_spare`), so trials after the first do not wait for
TensorFlow to import. Started detached by :func:`metalearn_core.sweeps.runner.launch_sweep`:
``python -m metalearn_core.sweeps.controller SWEEP_ID --home HOME``.

Nothing is lost when the controller dies: the runs train on in their own processes; a resumed
controller adopts every trial the study still holds as running (finding its run by its tags, or
launching it when the first controller died before it could), reports what it missed and goes on,
its sampler drawing on from where the study stands (see :mod:`metalearn_core.sweeps.study`).

No settings are tried twice: a trial whose sampled settings repeat an earlier trial's (a resumed
sampler, or a small space of choices) is closed unrun as a skipped repeat, which counts in no
budget and no table, and the study is asked again, up to :data:`MAX_REPEAT_ASKS` times; a space
with fewer points than the trial budget ends when every point was tried.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from metalearn_core import runner
from metalearn_core.config import ConfigError
from metalearn_core.runs.store import Run, RunStore
from metalearn_core.sweeps.config import objective_source
from metalearn_core.sweeps.space import optuna_suggest
from metalearn_core.sweeps.store import SweepStore, sweep_tag, trial_tag
from metalearn_core.sweeps.study import is_skipped, open_study

MAX_REPEAT_ASKS = 20  # asks in a row that may repeat tried settings before the repeat is run after all


class SweepStopped(Exception):
    """The sweep was cancelled (a cancel request, or SIGTERM to the controller)."""


_signalled = False  # set by SIGTERM; the loop checks it between steps, never inside a journal write


@dataclass
class Flight:
    """A trial in flight: its Optuna trial, its run and the last step reported."""

    trial: optuna.Trial
    run_id: int
    last_step: int = 0


def trial_runs(runs: RunStore, sweep_id: int) -> dict[int, Run]:
    """The sweep's runs by trial number, found by their tags."""
    found = {}
    for run in runs.list_runs():
        if sweep_tag(sweep_id) in run.tags:
            for tag in run.tags:
                if tag.startswith("trial:") and tag[6:].isdigit():
                    found[int(tag[6:])] = run
    return found


def objective_curve(runs: RunStore, run_id: int, series: str, metric: str) -> list[tuple[int, float]]:
    """The run's objective so far as (step, value) pairs in order; steps are epochs (base runs) or
    meta-iterations at each validation (few-shot runs)."""
    return [(int(row["epoch"]), float(row["value"])) for row in runs.metrics(run_id)
            if row["series"] == series and row["name"] == metric and row["value"] is not None]


class Controller:
    """Runs one sweep to its end (budget spent, cancelled, or every grid point tried).

    Example:
        >>> Controller(RunStore(home), SweepStore(home), 3).run()  # doctest: +SKIP
        'completed'
    """

    def __init__(self, runs: RunStore, sweeps: SweepStore, sweep_id: int, mnist_path: str | None = None,
                 pruner: optuna.pruners.BasePruner | None = None, poll: float = 0.5,
                 parallel: int | None = None) -> None:
        self.runs, self.sweeps, self.sweep_id, self.mnist_path, self.poll = runs, sweeps, sweep_id, mnist_path, poll
        self.sweep = sweeps.get(sweep_id)
        self.config = self.sweep.config
        self.series, self.metric = objective_source(self.config.base.kind, self.config.objective)
        self.study = open_study(self.sweep, pruner)
        self.parallel = parallel or runner.capacity(runs)  # METALEARN_MAX_RUNS locally, the cluster's slots on Dask
        self.in_flight: dict[int, Flight] = {}
        self.stopping: set[int] = set()  # runs of pruned trials, being cancelled
        budget = self.config.trials
        if self.config.sampler == "grid":
            self.trial_budget = min(budget, self.config.space.grid_size())
        else:  # a space of choices and whole numbers may hold fewer points than the budget
            size = self.config.space.size(self.config.base)
            self.trial_budget = min(budget, size) if size else budget
        self.active_seconds = float(self.sweep.state.get("active_seconds", 0.0))

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> str:
        """Drive the sweep; returns its final status (completed or cancelled)."""
        started = time.time()
        self.sweeps.update_state(self.sweep_id, status="running", pid=os.getpid(),
                                 started_at=self.sweep.state.get("started_at") or started,
                                 resumes=self.sweep.state.get("resumes", -1) + 1, error="")
        try:
            self._adopt()
            last = time.monotonic()
            while True:
                now = time.monotonic()
                self.active_seconds += now - last
                last = now
                if _signalled or self.sweeps.cancel_requested(self.sweep_id):
                    raise SweepStopped()
                for flight in list(self.in_flight.values()):
                    self._follow(flight)
                while len(self.in_flight) < self.parallel and self._budget_left():
                    self._start_trial()
                if self.in_flight and self._budget_left():  # the next trial will start warm
                    runner.ensure_spare(self.runs, self.mnist_path, while_training=True)
                self._write_state()
                self.stopping = {run_id for run_id in self.stopping if self.runs.get(run_id).is_active}
                if not self.in_flight and not self._budget_left() and not self.stopping:
                    break
                time.sleep(self.poll)
        except SweepStopped:
            self._cancel_in_flight("the sweep was cancelled")
            self._write_state(status="cancelled", ended_at=time.time())
            return "cancelled"
        self._write_state(status="completed", ended_at=time.time())
        return "completed"

    def _trials(self) -> list[optuna.trial.FrozenTrial]:
        """The study's trials but for the skipped repeats."""
        return [trial for trial in self.study.get_trials(deepcopy=False) if not is_skipped(trial)]

    def _budget_left(self) -> bool:
        if len(self._trials()) >= self.trial_budget:
            return False
        budget = self.config.time_budget
        return not (budget and self.active_seconds >= budget)

    def _write_state(self, **items: Any) -> None:
        trials = self.study.get_trials(deepcopy=False)
        counts = {state.name.lower(): sum(trial.state == state and not is_skipped(trial) for trial in trials)
                  for state in TrialState}
        best = _best(self.study)
        self.sweeps.update_state(
            self.sweep_id, active_seconds=self.active_seconds, trials=counts, trial_budget=self.trial_budget,
            repeats_skipped=sum(map(is_skipped, trials)),
            best_value=best.value if best else None, best_trial=best.number if best else None,
            best_run=best.user_attrs.get("run_id") if best else None, **items)

    # -- trials -------------------------------------------------------------------------------
    def _start_trial(self, trial: optuna.Trial | None = None) -> None:
        """Ask for a trial (or take one the study holds without a run), sample it and launch its run."""
        trial, params = self._propose(trial)
        try:
            config = self.config.space.apply(self.config.base, params)
        except ConfigError as error:
            trial.set_user_attr("outcome", f"invalid settings: {error}")
            self.study.tell(trial, state=TrialState.FAIL)
            return
        config = config.replace(name=f"{self.sweep.name} #{trial.number}")
        run_id = runner.launch(self.runs, config, self.mnist_path,
                               tags=[sweep_tag(self.sweep_id), trial_tag(trial.number)], owner=self.sweep.owner)
        trial.set_user_attr("run_id", run_id)
        self.runs.update_summary(run_id, sweep={"id": self.sweep_id, "trial": trial.number, "params": params})
        self.in_flight[trial.number] = Flight(trial, run_id)

    def _propose(self, trial: optuna.Trial | None = None) -> tuple[optuna.Trial, dict[str, Any]]:
        """A trial (``trial``, or a new one) and its sampled settings, which no earlier trial had:
        a repeat is told as a skipped trial (``repeat_of`` the earlier number) and the study asked
        again; after :data:`MAX_REPEAT_ASKS` repeats in a row the last one is taken all the same."""
        tried: dict[tuple, int] = {}
        for frozen in self._trials():
            if frozen.params and (trial is None or frozen.number != trial.number):
                tried.setdefault(_settings_key(frozen.params), frozen.number)
        for attempt in range(MAX_REPEAT_ASKS + 1):
            trial = trial or self.study.ask()
            params = self.config.space.sample(optuna_suggest(trial), self.config.base,
                                              shared_units=self.config.sampler == "grid")
            earlier = tried.get(_settings_key(params))
            if earlier is None or attempt == MAX_REPEAT_ASKS:
                return trial, params
            trial.set_user_attr("repeat_of", earlier)
            trial.set_user_attr("outcome", f"skipped: the settings of trial {earlier}")
            self.study.tell(trial, state=TrialState.FAIL)
            trial = None
        raise AssertionError("unreachable")  # the last attempt returns

    def _adopt(self) -> None:
        """Take over the trials a previous controller left running."""
        known = trial_runs(self.runs, self.sweep_id)
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            trial = optuna.Trial(self.study, frozen._trial_id)
            if is_skipped(frozen):  # the previous controller died while skipping this repeat
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            run = known.get(frozen.number)
            if run is None:  # the previous controller died between asking and launching
                self._start_trial(trial)
                continue
            if "run_id" not in frozen.user_attrs:
                trial.set_user_attr("run_id", run.id)
            self.in_flight[frozen.number] = Flight(trial, run.id, max(frozen.intermediate_values, default=0))

    def _follow(self, flight: Flight) -> None:
        """Report the run's new validation scores; prune it, or tell its outcome once it ended."""
        run = self.runs.get(flight.run_id)
        curve = objective_curve(self.runs, flight.run_id, self.series, self.metric)
        for step, value in curve:
            if step <= flight.last_step:
                continue
            flight.trial.report(value, step)
            flight.last_step = step
            if run.is_active and flight.trial.should_prune():
                self._prune(flight, step)
                return
        if not run.is_active:
            self._tell(flight, self.runs.get(flight.run_id), curve)

    def _prune(self, flight: Flight, step: int) -> None:
        self.runs.update_summary(flight.run_id, pruned_at=step)
        status = runner.cancel(self.runs, flight.run_id, reason=f"pruned by sweep {self.sweep_id} at step {step}")
        if status == "completed":  # it finished before the cancel arrived: a full trial after all
            self._tell(flight, self.runs.get(flight.run_id),
                       objective_curve(self.runs, flight.run_id, self.series, self.metric))
            return
        self.runs.set_tags(flight.run_id, [*self.runs.get(flight.run_id).tags, "pruned"])
        flight.trial.set_user_attr("outcome", f"pruned at step {step}")
        self.study.tell(flight.trial, state=TrialState.PRUNED)
        # The trial is over: the next one is launched now and queues behind the pruned run, which
        # keeps its run slot until it has stopped, so the two never train at once, and the next one
        # starts the moment the slot frees rather than a poll later.
        del self.in_flight[flight.trial.number]
        self.stopping.add(flight.run_id)

    def _tell(self, flight: Flight, run: Run, curve: list[tuple[int, float]]) -> None:
        """Tell the study how the ended run did: its last validation score, pruned, or failed."""
        trial = flight.trial
        if "pruned_at" in run.summary and run.status == "cancelled":  # pruned just before a controller died
            trial.set_user_attr("outcome", f"pruned at step {run.summary['pruned_at']}")
            self.study.tell(trial, state=TrialState.PRUNED)
        elif run.status in ("completed", "diverged") and curve:
            trial.set_user_attr("outcome", run.status)
            self.study.tell(trial, curve[-1][1])
        else:
            trial.set_user_attr("outcome", f"{run.status}: {run.error}"[:500] if run.error else run.status)
            self.study.tell(trial, state=TrialState.FAIL)
        del self.in_flight[trial.number]

    def _cancel_in_flight(self, reason: str, wait: float = 30.0) -> None:
        """Cancel every run in flight, fail its trial, and wait (a while) for the runs to stop."""
        for flight in self.in_flight.values():
            runner.cancel(self.runs, flight.run_id, reason=reason)
            flight.trial.set_user_attr("outcome", "cancelled with the sweep")
            self.study.tell(flight.trial, state=TrialState.FAIL)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(self.runs.get(flight.run_id).is_active
                                                  for flight in self.in_flight.values()):
            time.sleep(0.2)
        self.in_flight.clear()


def _settings_key(params: dict[str, Any]) -> tuple:
    """Sampled settings in a form that compares and hashes (equal settings, equal keys)."""
    return tuple(sorted(params.items()))


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no trial has completed yet
        return None


def close_interrupted(runs: RunStore, sweeps: SweepStore, sweep_id: int) -> None:
    """Cancel an interrupted sweep without a controller: stop its trials' runs, fail its open trials."""
    sweep = sweeps.get(sweep_id)
    study = open_study(sweep)
    known = trial_runs(runs, sweep_id)
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        run = known.get(frozen.number)
        if run is not None:
            runner.cancel(runs, run.id, reason="the sweep was cancelled")
        study.tell(frozen.number, state=TrialState.FAIL)
    sweeps.update_state(sweep_id, status="cancelled", ended_at=time.time())
    sweeps.clear_cancel(sweep_id)


def _on_sigterm(signum: int, frame: object) -> None:
    global _signalled
    _signalled = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive one sweep (started by the sweep runner).")
    parser.add_argument("sweep_id", type=int)
    parser.add_argument("--home", required=True)
    parser.add_argument("--mnist", default=None)
    parser.add_argument("--lock-fd", type=int, default=None)
    args = parser.parse_args(argv)
    sweeps = SweepStore(args.home)
    if args.lock_fd is None:  # started by hand: take the controller lock ourselves
        lock = open(sweeps.get(args.sweep_id).lock_path, "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"sweep {args.sweep_id} already has a controller", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        status = Controller(RunStore(args.home), sweeps, args.sweep_id, args.mnist).run()
    except Exception as error:  # noqa: BLE001 - recorded for the page and the CLI, traceback in the log
        traceback.print_exc()
        sweeps.update_state(args.sweep_id, status="failed", error=f"{type(error).__name__}: {error}",
                            ended_at=time.time())
        return 1
    print(f"sweep {args.sweep_id}: {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
