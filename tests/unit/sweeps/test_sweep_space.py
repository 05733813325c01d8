"""The sweep's search space and definition: clear messages for bad input, sampled points applied to
run configs exactly, the grid, the JSON round trip and the sweep folders' liveness."""

from __future__ import annotations

import fcntl

import optuna
import pytest

from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.presets import preset_config
from metalearn_core.sweeps import store as sweep_store
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace, optuna_suggest
from metalearn_core.sweeps.store import SweepStore

SPACE = {"hidden_layers": {"low": 1, "high": 3}, "units": {"low": 16, "high": 512},
         "activation": ["relu", "tanh"], "dropout": {"low": 0.0, "high": 0.5},
         "learning_rate": {"low": 1e-4, "high": 1e-2}, "optimizer": ["adam", "sgd"], "batch_size": [64, 128]}


def message(data, kind="base") -> str:
    with pytest.raises(ConfigError) as caught:
        SearchSpace.from_dict(data, kind)
    return str(caught.value)


def test_an_empty_range_is_named_with_its_ends():
    assert message({"units": {"low": 256, "high": 32}}) == "sweep space: units: empty range: low 256 is above high 32"


def test_an_unknown_setting_is_named_with_the_closest_known_one_and_the_list():
    text = message({"learning_rat": {"low": 1e-4, "high": 1e-2}})
    assert "unknown setting 'learning_rat'" in text and "did you mean 'learning_rate'" in text
    assert "hidden_layers" in text and "inner_lr" not in text  # the base kind's settings only


def test_a_choice_list_with_one_value_says_it_is_no_search():
    text = message({"optimizer": ["adam"]})
    assert "a choice list with one value ('adam')" in text and "add another value" in text
    assert "holds one value" in message({"epochs": {"low": 3, "high": 3}})


@pytest.mark.parametrize("data, expected", [
    ({}, "it is empty"),
    ({"units": {"low": 0, "high": 64}}, "units: low must be between 1 and 4096, got 0"),
    ({"units": {"low": 1.5, "high": 64}}, "low must be a whole number"),
    ({"dropout": {"low": 0.0, "high": 0.5, "log": True}}, "a log-scale range must start above 0"),
    ({"optimizer": ["adam", "nesterov"]}, "'nesterov' is not one of"),
    ({"optimizer": {"low": 1, "high": 2}}, "give a list of choices"),
    ({"units": {"low": 8}}, "needs both low and high"),
    ({"units": {"low": 8, "high": 64, "stride": 2}}, "unknown key(s) stride"),
    ({"inner_lr": {"low": 0.01, "high": 0.1}}, "base runs do not use this setting"),
])
def test_bad_dimensions_get_plain_messages(data, expected):
    assert expected in message(data)


def test_few_shot_settings_belong_to_few_shot_sweeps():
    space = SearchSpace.from_dict({"inner_lr": {"low": 0.01, "high": 0.5}, "inner_steps": {"low": 1, "high": 5}},
                                  "fewshot")
    config = space.apply(RunConfig(kind="fewshot"), {"inner_lr": 0.2, "inner_steps": 3})
    assert (config.settings.inner_lr, config.settings.inner_steps) == (0.2, 3)
    assert "fewshot runs do not use this setting" in message({"epochs": {"low": 1, "high": 4}}, "fewshot")
    with pytest.raises(ConfigError, match="cannot be swept"):
        SearchSpace.from_dict({"epochs": {"low": 1, "high": 4}}, "stacked")


def test_a_sampled_point_becomes_exactly_those_settings():
    space = SearchSpace.from_dict(SPACE)
    base = preset_config("dense")
    point = {"hidden_layers": 2, "units_1": 40, "units_2": 300, "activation": "tanh", "dropout": 0.25,
             "learning_rate": 2e-3, "optimizer": "sgd", "batch_size": 128}
    config = space.apply(base, point)
    dense = [layer for layer in config.base.layers if layer.type == "dense"]
    assert [layer.units for layer in dense] == [40, 300]
    assert {layer.activation for layer in dense} == {"tanh"}
    assert [layer.rate for layer in config.base.layers if layer.type == "dropout"] == [0.25, 0.25]
    assert (config.training.learning_rate, config.training.optimizer, config.training.batch_size) == (2e-3, "sgd", 128)
    assert config.training.epochs == base.training.epochs  # not in the space: the base's value


def test_rebuilding_the_hidden_layers_keeps_the_convolutions_in_front():
    space = SearchSpace.from_dict({"hidden_layers": {"low": 1, "high": 2}})
    config = space.apply(preset_config("cnn"), {"hidden_layers": 2})
    types = [layer.type for layer in config.base.layers]
    assert types[:5] == ["conv2d", "max_pool", "conv2d", "max_pool", "flatten"]
    assert types.count("dense") == 2


def test_units_need_a_dense_layer_to_act_on():
    conv_only = RunConfig(base=NetworkConfig((LayerConfig("conv2d"), LayerConfig("flatten"))))
    with pytest.raises(ConfigError, match="the base network has none"):
        SweepConfig(space=SearchSpace.from_dict({"units": {"low": 8, "high": 64}}), base=conv_only)


def test_the_objective_needs_validation_data_and_few_shot_runs_have_no_validation_loss():
    no_validation = RunConfig(training=TrainingConfig(validation_split=0.0))
    with pytest.raises(ConfigError, match="set a validation split above 0"):
        SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 3}}), base=no_validation)
    fewshot = SearchSpace.from_dict({"inner_steps": {"low": 1, "high": 3}}, "fewshot")
    with pytest.raises(ConfigError, match="validation accuracy only"):
        SweepConfig(space=fewshot, base=RunConfig(kind="fewshot"), objective="val_loss")


def test_optuna_samples_stay_inside_the_space_with_one_units_value_per_layer():
    space = SearchSpace.from_dict(SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), direction="maximize")
    seen_layers = set()
    for _ in range(25):
        trial = study.ask()
        params = space.sample(optuna_suggest(trial), preset_config("dense"))
        units = sorted(name for name in params if name.startswith("units_"))
        assert units == [f"units_{index}" for index in range(1, params["hidden_layers"] + 1)]
        assert all(16 <= params[name] <= 512 for name in units)
        assert 1e-4 <= params["learning_rate"] <= 1e-2 and params["optimizer"] in ("adam", "sgd")
        seen_layers.add(params["hidden_layers"])
        study.tell(trial, 0.5)
    assert seen_layers == {1, 2, 3}


def test_a_grid_takes_low_middle_high_or_steps_and_counts_its_points():
    space = SearchSpace.from_dict({"learning_rate": {"low": 1e-4, "high": 1e-2}, "epochs": {"low": 2, "high": 8,
                                   "step": 3}, "optimizer": ["adam", "sgd"]})
    grid = space.grid()
    assert grid["learning_rate"] == [1e-4, 1e-3, 1e-2]  # log scale by default for a learning rate
    assert grid["epochs"] == [2, 5, 8]
    assert space.grid_size() == 3 * 3 * 2


def test_a_sweep_round_trips_through_json():
    sweep = SweepConfig(space=SearchSpace.from_dict(SPACE), base=preset_config("dense"), name="wide", sampler="random",
                        pruner="asha", trials=7, time_budget=120.0, seed=4)
    assert SweepConfig.from_json(sweep.to_json()) == sweep
    with pytest.raises(ConfigError, match="unknown field"):
        SweepConfig.from_dict({**sweep.to_dict(), "sampler_options": {}})


def test_sweep_ids_increase_and_a_dead_controller_reads_as_interrupted(tmp_path, monkeypatch):
    sweeps = SweepStore(tmp_path)
    config = SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 2}}))
    first, second = sweeps.create(config), sweeps.create(config)
    assert (first, second) == (1, 2)
    assert sweeps.get(first).status == "queued"  # within the start-up grace: its controller may be starting
    sweeps.update_state(first, status="running")
    with open(sweeps.folder(first) / "controller.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert sweeps.get(first).status == "running"  # the lock is held: alive
    assert sweeps.get(first).status == "interrupted"  # the lock is gone: its controller died
    monkeypatch.setattr(sweep_store, "START_GRACE_SECONDS", 0.0)
    assert sweeps.get(second).status == "interrupted"  # queued and no controller ever came
    assert [sweep.id for sweep in sweeps.list()] == [2, 1]
