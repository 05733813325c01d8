"""Sweeps against bad input and crashes (issue 22, points 5 and 10): a malformed space is one clear line
(from Python and from the CLI), and a controller killed and resumed goes on with its sampler's sequence,
never proposing settings it has tried. The controller here launches no process: its launcher is a fake
that "trains" each run at once, so the proposal logic runs for real in a second or two."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from metalearn_core.cli import main
from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps import controller as controller_module
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.controller import MAX_REPEAT_ASKS, Controller
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore
from metalearn_core.sweeps.study import read_trials

# -- point 5: malformed spaces -----------------------------------------------------------------------

MALFORMED = [
    ({"optimizer": [["adam"], {"x": 1}]}, "optimizer: choices must be numbers, strings or booleans, got ['adam']"),
    ({"units": [[8], [16]]}, "units: choices must be numbers, strings or booleans, got [8]"),
    ({"activation": [{"x": 1}, "relu"]}, "activation: choices must be numbers, strings or booleans"),
    ({"units": {"choices": [None, 8]}}, "units: choices must be numbers, strings or booleans, got None"),
    ({"units": {"low": 8, "high": 64, "by": 2}}, "units: unknown key(s) by; use low, high, log, step or choices"),
    ({"units": {"low": 64, "high": 8}}, "units: empty range: low 64 is above high 8"),
    ({"units": {"low": "8", "high": 64}}, "units: low must be a number, got '8'"),
    ({"learning_rate": {"low": 1e-3, "high": [1]}}, "learning_rate: high must be a number, got [1]"),
    ({"units": []}, "units: choices must be a non-empty list, got []"),
    ({"units": {"choices": []}}, "units: choices must be a non-empty list"),
    ({"units": {"low": float("nan"), "high": 64}}, "units: low must be a number, got nan"),
    ({"dropout": [float("nan"), 0.2]}, "dropout: each choice must be a number, got nan"),
    ({"dropout": {"low": 0.1, "high": 0.5, "step": float("nan")}}, "dropout: step must be a number above 0"),
    ({"dropout": {"low": 0.1, "high": 0.5, "step": 1e-300}}, "dropout: a step of 1e-300 from 0.1 to 0.5 makes "
                                                              "more than 10,000 values"),
    ({"units": {"low": 10**400, "high": 64}}, "units: low must be a number, got 10000"),
    ({"units": [10**400, 8]}, "units: each choice must be a number, got 10000"),
]


@pytest.mark.parametrize("data, expected", MALFORMED)
def test_a_malformed_space_is_one_clear_line_naming_the_setting(data, expected):
    with pytest.raises(ConfigError) as caught:
        SearchSpace.from_dict(data)
    text = str(caught.value)
    assert text.startswith("sweep space: ") and expected in text
    assert "\n" not in text and len(text) < 200  # one line, quoting what it refuses only in part


def test_the_cli_says_what_is_wrong_with_a_space_file_in_one_line(home, tmp_path, capsys):
    space = tmp_path / "space.json"
    for data, expected in [({"optimizer": [["adam"], {"x": 1}]}, "choices must be numbers, strings or booleans"),
                           ({"units": {"low": 8, "high": 64, "by": 2}}, "unknown key(s) by"),
                           ({"units": {"low": 64, "high": 8}}, "empty range"),
                           ({"dropout": {"low": 0.1, "high": 0.5, "step": float("nan")}}, "step must be a number")]:
        space.write_text(json.dumps(data))
        assert main(["--home", str(tmp_path / "home"), "sweep", "--space", str(space), "--trials", "2"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {space}: sweep space: ") and expected in err[0]
    assert not SweepStore(tmp_path / "home").list()  # nothing was launched


# -- point 10: a resumed sweep goes on with its sequence ---------------------------------------------

class Killed(BaseException):
    """What a kill -9 does to the controller, at the moment it is about to launch a run."""


class FakeLaunch:
    """runner.launch without a process: the run is stored and "trains" at once to a score that
    depends on its settings; ``kill_at`` launches in, the controller is killed instead."""

    def __init__(self, kill_at: int | None = None) -> None:
        self.launched = 0
        self.kill_at = kill_at

    def __call__(self, store: RunStore, config: RunConfig, mnist_path=None, use_spare=True, tags=None,
                 owner="") -> int:
        if self.kill_at is not None and self.launched == self.kill_at:
            raise Killed()
        self.launched += 1
        run_id = store.create_run(config, tags=tags, owner=owner)
        score = 1 / (1 + abs(config.training.learning_rate - 3e-3) * 100 + config.base.layers[1].units / 1000)
        store.log_metrics(run_id, "train", 1, {"val_accuracy": score})
        store.finish(run_id, "completed")
        return run_id


@pytest.fixture()
def fake_runner(monkeypatch):
    monkeypatch.setattr(controller_module.runner, "ensure_spare", lambda *args, **kwargs: False)

    def use(launch: FakeLaunch) -> None:
        monkeypatch.setattr(controller_module.runner, "launch", launch)

    return use


def base_config() -> RunConfig:
    return RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                     training=TrainingConfig(epochs=1, batch_size=64, train_limit=500, validation_split=0.2))


SPACE = {"units": {"low": 8, "high": 64}, "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
         "optimizer": ["adam", "sgd"]}


def settings(trial) -> tuple:
    return tuple(sorted(trial.params.items()))


def run_killed_then_resumed(tmp_path, fake_runner, config: SweepConfig, kill_at: int):
    runs, sweeps = RunStore(tmp_path), SweepStore(tmp_path)
    sweep_id = sweeps.create(config)
    fake_runner(FakeLaunch(kill_at=kill_at))
    with pytest.raises(Killed):
        Controller(runs, sweeps, sweep_id, parallel=1, poll=0).run()
    trials = read_trials(sweeps.get(sweep_id))
    assert len(trials) == kill_at + 1 and trials[-1].state == TrialState.RUNNING  # asked, never launched
    assert sweeps.get(sweep_id).status == "interrupted"
    fake_runner(FakeLaunch())
    assert Controller(runs, sweeps, sweep_id, parallel=1, poll=0).run() == "completed"
    return runs, sweeps.get(sweep_id)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_resumed_sweep_never_proposes_settings_it_has_tried(tmp_path, fake_runner, sampler):
    config = SweepConfig(space=SearchSpace.from_dict(SPACE), base=base_config(), sampler=sampler, trials=14)
    runs, sweep = run_killed_then_resumed(tmp_path, fake_runner, config, kill_at=4)
    trials = read_trials(sweep)
    assert [trial.state for trial in trials] == [TrialState.COMPLETE] * 14
    assert len({settings(trial) for trial in trials}) == 14  # before the fix, trial 5 repeated trial 0
    # the trial asked before the kill was launched by the resumed controller with the settings it had
    assert runs.get(trials[4].user_attrs["run_id"]).config == config.space.apply(config.base, trials[4].params) \
        .replace(name=f"{config.name or 'sweep-1'} #4")
    assert sweep.state["trials"]["complete"] == 14 and sweep.state["resumes"] == 1


def test_a_resumed_sampler_goes_on_from_the_study_and_is_the_same_each_time(tmp_path, fake_runner):
    config = SweepConfig(space=SearchSpace.from_dict(SPACE), base=base_config(), sampler="random", trials=6)
    _, sweep = run_killed_then_resumed(tmp_path, fake_runner, config, kill_at=2)
    run_killed_then_resumed(tmp_path / "again", fake_runner, config, kill_at=2)
    first = [settings(trial) for trial in read_trials(sweep)]
    second = [settings(trial) for trial in read_trials(SweepStore(tmp_path / "again").get(1))]
    assert first == second  # a sweep is reproducible from its seed, resumes included
    assert len(set(first)) == 6


def test_a_resumed_grid_skips_the_cells_done(tmp_path, fake_runner):
    space = SearchSpace.from_dict({"units": [8, 16, 32], "optimizer": ["adam", "sgd"]})
    config = SweepConfig(space=space, base=base_config(), sampler="grid", trials=10)
    _, sweep = run_killed_then_resumed(tmp_path, fake_runner, config, kill_at=3)
    trials = read_trials(sweep)
    assert len(trials) == 6 and len({settings(trial) for trial in trials}) == 6  # every cell once
    assert sweep.state["trial_budget"] == 6


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_space_of_few_points_tries_each_once_and_ends(tmp_path, fake_runner, sampler):
    runs, sweeps = RunStore(tmp_path), SweepStore(tmp_path)
    space = SearchSpace.from_dict({"optimizer": ["adam", "sgd"], "learning_rate": [1e-3, 3e-3, 1e-2]})
    sweep_id = sweeps.create(SweepConfig(space=space, base=base_config(), sampler=sampler, trials=20))
    launch = FakeLaunch()
    fake_runner(launch)
    assert Controller(runs, sweeps, sweep_id, parallel=2, poll=0).run() == "completed"
    sweep = sweeps.get(sweep_id)
    trials = read_trials(sweep)
    assert len({settings(trial) for trial in trials}) == len(trials) == launch.launched == 6
    assert sweep.state["trial_budget"] == 6 and sweep.state["trials"]["complete"] == 6
    assert sweep.state["trials"]["fail"] == 0  # the skipped repeats are in no count


def test_a_repeat_is_skipped_and_asked_again_a_bounded_number_of_times(tmp_path, fake_runner, monkeypatch):
    runs, sweeps = RunStore(tmp_path), SweepStore(tmp_path)
    config = SweepConfig(space=SearchSpace.from_dict(SPACE), base=base_config(), sampler="random", trials=3)
    sweep_id = sweeps.create(config)
    fake_runner(FakeLaunch())
    controller = Controller(runs, sweeps, sweep_id, parallel=1, poll=0)
    controller._start_trial()
    (first,) = read_trials(sweeps.get(sweep_id))
    # a sampler that only ever proposes the first trial's settings: asked again, then taken after all
    monkeypatch.setattr(controller_module, "optuna_suggest",
                        lambda trial: lambda dimension, name: first.params[name])
    controller._start_trial()
    everything = controller.study.get_trials(deepcopy=False)
    skipped = [trial for trial in everything if "repeat_of" in trial.user_attrs]
    assert len(skipped) == MAX_REPEAT_ASKS and {trial.user_attrs["repeat_of"] for trial in skipped} == {0}
    assert all(trial.state == TrialState.FAIL for trial in skipped)
    assert [trial.number for trial in read_trials(sweeps.get(sweep_id))] == [0, MAX_REPEAT_ASKS + 1]
    assert len(controller._trials()) == 2  # the skipped ones spend no budget
