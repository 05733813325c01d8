"""The sweep controller with real worker processes on tiny MNIST slices: trials are runs with exactly
the sampled settings, pruning cancels a run and keeps its curve, a controller killed with SIGKILL
leaves the sweep interrupted and a resumed one loses no trial, two sweeps share the run queue, and
the CLI's sweep command runs a whole sweep and cancels one on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from run_helpers import home_progress, scaled, wait_for

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.analysis import full_run_config, importances, trials_frame
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.controller import Controller, objective_curve, trial_runs
from metalearn_core.sweeps.runner import cancel_sweep, launch_sweep, resume_sweep
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore
from metalearn_core.sweeps.study import read_trials

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
SPACE = {"units": {"low": 8, "high": 48}, "learning_rate": {"low": 1e-3, "high": 1e-2}}


def tiny_sweep(epochs: int = 2, trials: int = 2, train_limit: int = 1000, **options) -> SweepConfig:
    base = RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                     training=TrainingConfig(epochs=epochs, batch_size=64, train_limit=train_limit,
                                             test_limit=300, validation_split=0.2))
    return SweepConfig(space=SearchSpace.from_dict(SPACE), base=base, trials=trials, **options)


def wait_progressing(runs, predicate, what):
    """Wait for ``predicate`` as long as the home (its trials' workers, the controllers) makes progress."""
    return wait_for(predicate, timeout=900, progress=lambda: home_progress(runs), stall=90, what=what)


@pytest.fixture()
def stores(tmp_path, monkeypatch):
    monkeypatch.setenv("METALEARN_WARM_WORKER", "0")
    return RunStore(tmp_path), SweepStore(tmp_path)


def test_each_trial_is_a_tagged_run_with_exactly_the_sampled_settings(stores, mnist_path, monkeypatch):
    runs, sweeps = stores
    monkeypatch.setenv("METALEARN_WARM_WORKER", "1")  # the controller warms a worker for the next trial
    monkeypatch.setenv("METALEARN_SPARE_IDLE", "30")
    config = tiny_sweep(name="exact", trials=3)
    sweep_id = sweeps.create(config)
    assert Controller(runs, sweeps, sweep_id, mnist_path, poll=0.2).run() == "completed"
    sweep = sweeps.get(sweep_id)
    trials = read_trials(sweep)
    assert [trial.state for trial in trials] == [TrialState.COMPLETE] * 3
    by_trial = trial_runs(runs, sweep_id)
    for trial in trials:
        run = by_trial[trial.number]
        assert run.id == trial.user_attrs["run_id"] and f"sweep:{sweep_id}" in run.tags
        assert run.config == config.space.apply(config.base, trial.params).replace(name=f"exact #{trial.number}")
        assert run.config.base.layers[1].units == trial.params["units_1"]
        assert run.config.training.learning_rate == trial.params["learning_rate"]
        # the objective is the run's last validation accuracy, never its test accuracy
        assert trial.value == objective_curve(runs, run.id, "train", "val_accuracy")[-1][1]
    # trial 0 starts cold; each later one on a worker warmed while the one before trained (trial 2's
    # could only warm up because trial 1's warm worker let go of the spare lock when it took its run)
    assert [bool(by_trial[number].summary.get("warm_start")) for number in range(3)] == [False, True, True]
    frame = trials_frame(runs, sweep)
    assert sweep.state["best_value"] == frame["objective"].max()
    full = full_run_config(runs, sweep)
    assert full.training.train_limit == 0 and full.base == by_trial[sweep.state["best_trial"]].config.base


class PruneLaterTrials(optuna.pruners.BasePruner):
    """Prunes every trial but the first at its first report: a pruning decision the test can predict."""

    def prune(self, study, trial) -> bool:
        return trial.number > 0


def test_pruning_cancels_the_run_keeps_its_curve_and_marks_the_trial_pruned(stores, mnist_path):
    runs, sweeps = stores
    epochs = 30
    sweep_id = sweeps.create(tiny_sweep(epochs=epochs, trials=2, train_limit=1500))
    Controller(runs, sweeps, sweep_id, mnist_path, pruner=PruneLaterTrials(), poll=0.1).run()
    first, second = read_trials(sweeps.get(sweep_id))
    assert first.state == TrialState.COMPLETE and second.state == TrialState.PRUNED
    run = runs.get(second.user_attrs["run_id"])
    assert run.status == "cancelled" and "pruned" in run.tags and "pruned by sweep" in run.error
    curve = objective_curve(runs, run.id, "train", "val_accuracy")
    assert 1 <= len(curve) < epochs  # stopped early, and the epochs it trained are kept
    assert second.intermediate_values[1] == curve[0][1]
    assert sweeps.get(sweep_id).state["trials"]["pruned"] == 1


def test_a_controller_killed_with_sigkill_leaves_an_interrupted_sweep_that_resumes_without_losing_a_trial(
        stores, mnist_path):
    runs, sweeps = stores
    sweep_id = launch_sweep(sweeps, tiny_sweep(epochs=6, trials=2, train_limit=2000), mnist_path)
    first_run = wait_progressing(runs, lambda: next((run for run in trial_runs(runs, sweep_id).values()
                                                     if run.status == "running"), None), "trial 0 running")
    pid = sweeps.get(sweep_id).state["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: sweeps.get(sweep_id).status == "interrupted", timeout=10, what="the sweep interrupted")
    assert runs.get(first_run.id).is_active or runs.get(first_run.id).status == "completed"  # the run goes on
    resume_sweep(sweeps, sweep_id, mnist_path)
    wait_progressing(runs, lambda: sweeps.get(sweep_id).status == "completed", "the resumed sweep completed")
    sweep = sweeps.get(sweep_id)
    trials = read_trials(sweep)
    assert [trial.state for trial in trials] == [TrialState.COMPLETE] * 2 and sweep.state["resumes"] == 1
    by_trial = trial_runs(runs, sweep_id)
    assert len(by_trial) == 2 and by_trial[0].id == first_run.id  # trial 0 kept its run: none relaunched
    curve = objective_curve(runs, first_run.id, "train", "val_accuracy")
    assert trials[0].value == curve[-1][1]
    assert sorted(trials[0].intermediate_values) == [step for step, _ in curve]  # every epoch reported


@pytest.mark.needs_quiet  # each controller must queue its first trial before the other's ends
def test_two_sweeps_at_once_share_the_run_queue_and_both_progress(stores, mnist_path):
    runs, sweeps = stores
    first = launch_sweep(sweeps, tiny_sweep(trials=2, name="a"), mnist_path)
    second = launch_sweep(sweeps, tiny_sweep(trials=2, name="b", seed=1), mnist_path)
    wait_progressing(runs, lambda: not sweeps.get(first).is_active and not sweeps.get(second).is_active,
                     "both sweeps ended")
    assert sweeps.get(first).status == sweeps.get(second).status == "completed"
    a, b = trial_runs(runs, first), trial_runs(runs, second)
    assert len(a) == len(b) == 2
    # one run at a time, first come first served: each sweep's second trial waits for the other's first
    assert b[0].started_at < a[1].started_at and a[0].started_at < b[1].started_at
    spans = sorted((run.started_at, run.ended_at) for run in [*a.values(), *b.values()])
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:]))  # never two at once


def run_progressing(command, runs, env) -> subprocess.CompletedProcess:
    """``subprocess.run`` whose time limit is the progress of the home (the command names it with
    ``--home``); its output goes to files, not pipes, so that nothing blocks while it waits."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, env=env, cwd=ROOT)
        try:
            wait_progressing(runs, lambda: process.poll() is not None, "the command's end")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(command, process.returncode, stdout.read(), stderr.read())


def test_the_cli_runs_a_three_trial_sweep_and_shows_the_best_trial_and_the_importances(tmp_path, mnist_path):
    space = tmp_path / "space.json"
    space.write_text('{"units": {"low": 8, "high": 48}, "learning_rate": {"low": 1e-3, "high": 3e-2}}')
    env = {**os.environ, "METALEARN_WARM_WORKER": "0"}
    command = [sys.executable, "-m", "metalearn_core", "--home", str(tmp_path), "--mnist", mnist_path, "sweep",
               "--space", str(space), "--trials", "3", "--sampler", "random", "--pruner", "median", "--preset",
               "seed", "--epochs", "2", "--train-limit", "1000", "--test-limit", "300", "--name", "cli"]
    done = run_progressing(command, RunStore(tmp_path), env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("complete validation accuracy") == 3
    assert "best trial:" in done.stdout and "importances (fANOVA" in done.stdout
    sweep = SweepStore(tmp_path).get(1)
    values, _ = importances(sweep)
    assert set(values) == {"units_1", "learning_rate"} and abs(sum(values.values()) - 1) < 1e-6
    listing = subprocess.run([sys.executable, "-m", "metalearn_core", "--home", str(tmp_path), "sweeps", "list"],
                             capture_output=True, text=True, timeout=scaled(60), cwd=ROOT)
    assert "cli" in listing.stdout and "completed" in listing.stdout and "3/3" in listing.stdout


def test_ctrl_c_in_the_cli_cancels_the_sweep_and_its_trial_in_flight(tmp_path, mnist_path):
    space = tmp_path / "space.json"
    space.write_text('{"learning_rate": {"low": 1e-3, "high": 3e-2}, "optimizer": ["adam", "sgd"]}')
    env = {**os.environ, "METALEARN_WARM_WORKER": "0"}
    command = [sys.executable, "-m", "metalearn_core", "--home", str(tmp_path), "--mnist", mnist_path, "sweep",
               "--space", str(space), "--trials", "5", "--preset", "seed", "--epochs", "40", "--train-limit", "2000"]
    # As a terminal starts it: a suite started in the background (`.ci/run &`) hands its children SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    runs = RunStore(tmp_path)
    wait_progressing(runs, lambda: any(run.status == "running" for run in runs.list_runs()), "a trial running")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=scaled(60))
    assert process.returncode == 1 and "cancelling sweep 1" in stderr
    sweep = SweepStore(tmp_path).get(1)
    assert sweep.status == "cancelled"
    (run,) = runs.list_runs()
    assert run.status == "cancelled" and "the sweep was cancelled" in run.error
    assert [trial.state for trial in read_trials(sweep)] == [TrialState.FAIL]
    assert cancel_sweep(runs, SweepStore(tmp_path), 1) == "cancelled"  # cancelling again changes nothing
