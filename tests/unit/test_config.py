import dataclasses
import json
import re

import pytest

from metalearn_core.config import (
    ConfigError,
    LayerConfig,
    NetworkConfig,
    RunConfig,
    TrainingConfig,
    check_bool,
    check_int,
    check_positive,
    check_range,
    check_sequence,
)
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.presets import PRESETS, preset_config


def test_default_base_network_is_the_seeds():
    config = RunConfig()
    assert [layer.type for layer in config.base.layers] == ["flatten", "dense"]
    assert config.base.layers[1].units == 128 and config.base.layers[1].activation == "relu"
    assert config.training.optimizer == "adam" and config.training.validation_split == 0.2


def test_impossible_units_name_the_layer():
    net = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64), LayerConfig("dense", units=0)))
    with pytest.raises(ConfigError, match=r"dense layer 2: units must be between 1 and 4096, got 0"):
        RunConfig(base=net)


@pytest.mark.parametrize("check, message", [
    (lambda: check_range("w", "rate", -1.0, 0.0), "w: rate must be a finite number of at least 0, got -1.0"),
    (lambda: check_range("w", "rate", float("inf"), 0.0), "w: rate must be a finite number of at least 0, got inf"),
    (lambda: check_int("w", "steps", 0, 1), "w: steps must be a whole number of at least 1, got 0"),
    (lambda: check_int("w", "steps", 2.0, 1), "w: steps must be a whole number, got 2.0"),
    (lambda: check_positive("w", "scale", 0.0), "w: scale must be a positive finite number, got 0.0"),
    (lambda: check_positive("w", "scale", float("nan")), "w: scale must be a positive finite number, got nan"),
    (lambda: check_positive("w", "decay", 1.0, below=1.0), "w: decay must lie strictly between 0 and 1, got 1.0"),
    (lambda: check_positive("w", "decay", True), "w: decay must be a number, got True"),
    (lambda: check_bool("w", "mix", 1), "w: mix must be true or false, got 1"),
    (lambda: check_sequence("w", "widths", "32"), "w: widths must be a list, got '32'"),
    (lambda: check_sequence("w", "widths", {"a": 1}), "w: widths must be a list"),
])
def test_the_validation_vocabulary_names_where_and_what(check, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        check()


def test_the_validation_vocabulary_accepts_what_it_should():
    check_range("w", "rate", 0.0, 0.0)
    check_int("w", "steps", 10**12, 1)
    check_positive("w", "decay", 0.999, below=1.0)
    check_bool("w", "mix", False)
    assert check_sequence("w", "widths", [3, 4]) == (3, 4) and check_sequence("w", "widths", ()) == ()


@pytest.mark.parametrize(
    "layers, message",
    [
        ((LayerConfig("flatten"), LayerConfig("conv2d")), "conv2d layer 1 needs an image input"),
        ((LayerConfig("conv2d", kernel_size=3), LayerConfig("dense")), "put a flatten layer before it"),
        ((LayerConfig("max_pool", pool_size=4), LayerConfig("max_pool", pool_size=4),
          LayerConfig("conv2d", kernel_size=3)), "kernel size 3 is larger than its 1x1 input"),
        ((LayerConfig("dropout", rate=1.5),), "dropout layer 1: rate must be between 0 and 0.95"),
        ((LayerConfig("dense", units=10, activation="banana"),), "activation must be one of"),
        ((LayerConfig("pooling"),), "type must be one of"),
    ],
)
def test_layer_order_and_ranges_are_checked(layers, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(base=NetworkConfig(tuple(layers)))


def test_meta_network_rejects_image_layers():
    with pytest.raises(ConfigError, match="meta network: conv2d layer 1 needs an image input"):
        RunConfig(meta=NetworkConfig((LayerConfig("conv2d"),)))


@pytest.mark.parametrize(
    "field, value, message",
    [("epochs", 0, "epochs must be between 1 and 500"), ("batch_size", 2.5, "batch size must be a whole number"),
     ("learning_rate", -1.0, "learning rate must be between"), ("optimizer", "adagrad", "optimizer must be one of"),
     ("validation_split", 0.9, "validation split must be between 0 and 0.5")],
)
def test_training_settings_are_checked(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainingConfig(**{field: value})


def test_json_round_trip_keeps_every_field():
    config = RunConfig(
        kind="stacked", name="my run",
        base=NetworkConfig((LayerConfig("conv2d", filters=8, kernel_size=5, padding="same"),
                            LayerConfig("batch_norm"), LayerConfig("max_pool"), LayerConfig("flatten"),
                            LayerConfig("dropout", rate=0.3), LayerConfig("dense", units=32, activation="tanh"))),
        meta=NetworkConfig((LayerConfig("dense", units=16),)),
        training=TrainingConfig(epochs=3, batch_size=64, optimizer="rmsprop", learning_rate=0.01, seed=7),
        settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("svm", max_samples=500)),
                                meta_input="logits", folds=3),
    )
    again = RunConfig.from_json(config.to_json())
    assert again == config
    assert json.loads(again.to_json()) == json.loads(config.to_json())


def test_corrupted_json_names_its_source():
    with pytest.raises(ConfigError, match=r"run.json: not valid JSON"):
        RunConfig.from_json('{"kind": "base", ', source="run.json")
    with pytest.raises(ConfigError, match=r"run.json: .*epochs must be between"):
        RunConfig.from_json('{"training": {"epochs": -3}}', source="run.json")
    with pytest.raises(ConfigError, match=r"run.json: run config: .*unexpected keyword"):
        RunConfig.from_json('{"training": {"epoch": 3}}', source="run.json")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        RunConfig.from_json("[1, 2]")
    with pytest.raises(ConfigError, match="unknown layer field"):
        RunConfig.from_json('{"base": {"layers": [{"type": "dense", "unit": 5}]}}')


def test_configs_are_frozen():
    config = RunConfig()
    with pytest.raises(AttributeError):
        config.kind = "stacked"


def test_every_preset_is_valid_and_round_trips():
    for name in PRESETS:
        config = preset_config(name)
        assert RunConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown preset"):
        preset_config("huge")


def test_a_run_config_is_immutable_and_survives_pickle_and_deepcopy():
    import copy
    import pickle

    from metalearn_core.kinds.fewshot.config import FewShotConfig

    config = RunConfig(kind="fewshot", name="p", settings=FewShotConfig(algorithm="maml"))
    assert pickle.loads(pickle.dumps(config)) == config
    assert copy.deepcopy(config) == config and hash(copy.deepcopy(config)) == hash(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "changed"
    with pytest.raises(ConfigError, match="unknown field"):
        config.replace(fewshots=FewShotConfig())
