"""Reading a sweep: its trials as a table, the best score so far, hyperparameter importances and the
best configuration as a full run. Used by the Sweep page, the CLI and the benchmark.

Example:
    >>> frame = trials_frame(RunStore(home), SweepStore(home).get(1))  # doctest: +SKIP
    >>> frame[["trial", "state", "objective"]].head(3)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunNotFound, RunStore
from metalearn_core.sweeps.store import Sweep

STATE_NAMES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
               "WAITING": "waiting"}
MIN_TRIALS_FOR_IMPORTANCE = 3


def trials_frame(runs: RunStore, sweep: Sweep) -> pd.DataFrame:
    """One row per trial: number, state, objective (the last reported score of a pruned or running
    trial), steps reported, its run (id, status, test accuracy: shown, never used to choose), its
    wall time and one column per sampled setting."""
    from metalearn_core.sweeps.study import read_trials  # heavy: Optuna

    rows = []
    for trial in read_trials(sweep):
        intermediate = trial.intermediate_values
        last = intermediate[max(intermediate)] if intermediate else None
        run_id = trial.user_attrs.get("run_id")
        run = _run_or_none(runs, run_id)
        rows.append({
            "trial": trial.number, "state": STATE_NAMES.get(trial.state.name, trial.state.name.lower()),
            "objective": trial.value if trial.value is not None else last,
            "steps": max(intermediate) if intermediate else 0, "run": run_id,
            "run_status": run.status if run else None,
            "test_accuracy": run.test_accuracy if run else None,
            "seconds": _seconds(trial), "outcome": trial.user_attrs.get("outcome", ""),
            **trial.params,
        })
    columns = ["trial", "state", "objective", "steps", "run", "run_status", "test_accuracy", "seconds", "outcome"]
    return pd.DataFrame(rows, columns=columns + sorted({key for row in rows for key in row} - set(columns)))


def _run_or_none(runs: RunStore, run_id: Any):
    try:
        return runs.get(int(run_id)) if run_id is not None else None
    except RunNotFound:  # deleted since
        return None


def _seconds(trial) -> float | None:
    if trial.datetime_start is None:
        return None
    end = trial.datetime_complete
    if end is None:
        return None
    return (end - trial.datetime_start).total_seconds()


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The sampled settings' columns of a trials frame."""
    fixed = {"trial", "state", "objective", "steps", "run", "run_status", "test_accuracy", "seconds", "outcome"}
    return [column for column in frame.columns if column not in fixed]


def best_so_far(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    """The best objective among the complete trials up to each trial number (trial, best)."""
    done = frame[frame["state"] == "complete"].sort_values("trial")
    if done.empty:
        return pd.DataFrame(columns=["trial", "objective", "best"])
    best = done["objective"].cummax() if direction == "maximize" else done["objective"].cummin()
    return pd.DataFrame({"trial": done["trial"].to_numpy(), "objective": done["objective"].to_numpy(),
                         "best": best.to_numpy()})


def best_trial(frame: pd.DataFrame, direction: str) -> dict[str, Any] | None:
    """The best complete trial's row, or None before one completes."""
    done = frame[(frame["state"] == "complete") & frame["objective"].notna()]
    if done.empty:
        return None
    index = done["objective"].idxmax() if direction == "maximize" else done["objective"].idxmin()
    return done.loc[index].to_dict()


def importances(sweep: Sweep) -> tuple[dict[str, float], str]:
    """Each sampled setting's share of the objective's variance over the complete trials (Optuna's
    fANOVA, seeded), largest first, with an empty message; or {} and the reason there are none yet."""
    import optuna  # heavy: Optuna

    from metalearn_core.sweeps.study import read_trials, storage, study_name  # heavy: Optuna

    complete = [trial for trial in read_trials(sweep) if trial.state.name == "COMPLETE"]
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return {}, (f"Importances need at least {MIN_TRIALS_FOR_IMPORTANCE} complete trials; "
                    f"this sweep has {len(complete)} so far.")
    if len({trial.value for trial in complete}) < 2:
        return {}, "Every complete trial scored the same, so no setting explains a difference."
    study = optuna.load_study(study_name=study_name(sweep), storage=storage(sweep))
    try:
        values = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError) as error:
        return {}, f"Importances could not be computed: {error}"
    clean = {name: float(value) for name, value in values.items() if math.isfinite(value)}
    return dict(sorted(clean.items(), key=lambda item: -item[1])), ""


def full_run_config(runs: RunStore, sweep: Sweep, trial_number: int | None = None) -> RunConfig:
    """The config of a trial's run (the best complete one by default) as a full run: on all the
    data (no train or test limit), named after the sweep, ready to launch. ValueError when there
    is no such trial yet."""
    frame = trials_frame(runs, sweep)
    if trial_number is None:
        best = best_trial(frame, sweep.config.direction)
        if best is None:
            raise ValueError(f"sweep {sweep.id} has no complete trial yet")
        trial_number = int(best["trial"])
    rows = frame[frame["trial"] == trial_number]
    if rows.empty or pd.isna(rows.iloc[0]["run"]):
        raise ValueError(f"sweep {sweep.id} has no trial {trial_number} with a run")
    run = _run_or_none(runs, rows.iloc[0]["run"])
    if run is None:
        raise ValueError(f"the run of trial {trial_number} was deleted")
    config = run.config
    training = dataclasses.replace(config.training, train_limit=0, test_limit=0)
    return config.replace(name=f"{sweep.name}: best (trial {trial_number}), full run", training=training)
