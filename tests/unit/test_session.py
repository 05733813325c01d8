import time

import pytest

from metalearn_core.config import ConfigError, LayerConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.presets import preset_config
from metalearn_core.runs.store import RunStore
from metalearn_core.session import (
    add_layer,
    config_to_token,
    format_seconds,
    move_layer,
    progress_view,
    remove_layer,
    replace_layer,
    token_to_config,
)


def test_layer_list_editing():
    layers = [LayerConfig("flatten"), LayerConfig("dense", units=64)]
    layers = add_layer(layers, "dropout")
    assert [layer.type for layer in layers] == ["flatten", "dense", "dropout"]
    layers = move_layer(layers, 2, -1)
    assert [layer.type for layer in layers] == ["flatten", "dropout", "dense"]
    assert move_layer(layers, 0, -1) == layers and move_layer(layers, 2, +1) == layers
    layers = replace_layer(layers, 2, units=300)
    assert layers[2].units == 300
    assert [layer.type for layer in remove_layer(layers, 0)] == ["dropout", "dense"]
    with pytest.raises(ConfigError, match="unknown layer type"):
        add_layer(layers, "attention")


@pytest.mark.parametrize("name", ["seed", "dense", "cnn"])
def test_config_survives_the_url(name):
    config = preset_config(name).replace(kind="stacked", settings=StackingConfig(
        learners=(LearnerConfig("network"), LearnerConfig("svm")), meta_input="logits"))
    token = config_to_token(config)
    assert token.replace("-", "").replace("_", "").isalnum()
    assert token_to_config(token) == config


def test_damaged_url_token_is_a_clear_error():
    token = config_to_token(RunConfig())
    with pytest.raises(ConfigError, match="link is damaged"):
        token_to_config(token[:-7] + "@@@@")


def test_progress_view_for_a_running_stacked_run(tmp_path):
    store = RunStore(tmp_path)
    config = RunConfig(kind="stacked", training=TrainingConfig(epochs=4),
                       settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("random_forest")),
                                               meta_epochs=5))
    run_id = store.create_run(config)
    assert progress_view(store.get(run_id)).label.startswith("queued")
    store.mark_running(run_id)
    store.set_progress(run_id, {"series": "base 1 (network)", "epoch": 3, "epochs": 4, "batch": 50, "batches": 100})
    run = store.get(run_id)
    view = progress_view(run, now=run.started_at + 25.0)
    # plan: 4 network epochs + 1 forest "epoch" + 5 meta epochs = 10; done: 2.5
    assert view.fraction == pytest.approx(2.5 / 10)
    assert view.remaining == pytest.approx(25.0 * 7.5 / 2.5)
    assert "epoch 3/4" in view.label
    store.set_progress(run_id, {"series": "meta", "epoch": 1, "epochs": 5, "batch": 0, "batches": 10})
    assert progress_view(store.get(run_id), now=time.time()).fraction == pytest.approx(5 / 10)


def test_format_seconds():
    assert format_seconds(None) == "estimating…"
    assert format_seconds(9.6) == "10 s"
    assert format_seconds(75) == "1 min 15 s"
