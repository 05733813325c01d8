"""The learned-optimizer run kind: config checks, specs, the run itself, reuse, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.base.run import train_base
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig
from metalearn_core.kinds.learned_optimizer.presets import (
    LEARNED_OPTIMIZER_TRAJECTORIES,
    LSTM_TRAJECTORIES,
    learned_optimizer_preset,
    optimizee_network,
)
from metalearn_core.kinds.learned_optimizer.results import (
    loss_curves_figure,
    optimizer_table,
    read_results,
    verdict,
)
from metalearn_core.kinds.learned_optimizer.run import (
    OPTIMIZER_FILE,
    LearnedOptimizerError,
    check_config,
    specs,
    train_learned_optimizer,
)
from metalearn_core.kinds.learned_optimizer.specs import MetaTrainSpec, OptimizeeSpec, OptimizerNetSpec
from metalearn_core.runs.reporting import Reporter


def test_presets_are_the_papers_setup_and_round_trip():
    config = learned_optimizer_preset(paper_lstm=True)
    optimizee, net, meta = specs(config)
    assert (optimizee.hidden, optimizee.activation, optimizee.batch_size, optimizee.steps) == ((20,), "sigmoid", 128, 100)
    assert (net.kind, net.hidden, net.preprocess, net.p, net.output_scale) == ("lstm", (20, 20), True, 10.0, 0.1)
    assert net.momentum_decays == ()
    _, default, default_meta = specs(learned_optimizer_preset())
    assert default == OptimizerNetSpec.nominal((32,)) and default_meta.method == "es"
    assert default_meta.iterations == LEARNED_OPTIMIZER_TRAJECTORIES and default_meta.loss_clip > 0
    assert meta.unroll == 20 and meta.method == "backprop" and meta.iterations == LSTM_TRAJECTORIES
    assert RunConfig.from_json(config.to_json()) == config
    # The earlier dense design is still one setting away.
    earlier = learned_optimizer_preset().replace(settings=LearnedOptimizerConfig(design="dense"))
    assert specs(earlier)[1].kind == "dense" and specs(earlier)[1].momentum_decays == (0.5, 0.9, 0.99)


def test_a_config_written_with_a_seconds_budget_still_parses():
    """Configs stored before the budget was in trajectories (no design, method or clip) load unchanged."""
    old = {"preprocess": True, "p": 10.0, "momentum_inputs": True, "output_scale": 0.01, "unroll": 20, "steps": 100,
           "batch_size": 128, "meta_learning_rate": 0.003, "iterations": 100000, "budget_seconds": 600,
           "eval_inits": 20, "tune_trajectories": 5, "grid_points": 10, "reuse_optimizer_of": 0, "seed": 0}
    data = {**json.loads(learned_optimizer_preset().to_json()), "learned_optimizer": old}
    config = RunConfig.from_dict(data)
    assert config.settings.budget_seconds == 600 and config.settings.iterations == 100000
    _, _, meta = specs(config)
    assert meta.budget_seconds == 600  # kept as the wall-clock cap
    with pytest.raises(ConfigError, match="design"):
        LearnedOptimizerConfig(design="adafactor")


def test_a_default_run_trains_the_specs_defaults():
    """One config: the specs a default run builds are the specs' own defaults, today's design."""
    preset = learned_optimizer_preset()
    for config in (preset, preset.replace(settings=LearnedOptimizerConfig())):
        assert specs(config) == (OptimizeeSpec(), OptimizerNetSpec(), MetaTrainSpec())
    assert specs(preset)[1] == OptimizerNetSpec.nominal((32,))
    wide = preset.replace(meta=NetworkConfig((LayerConfig("dense", units=12), LayerConfig("dense", units=6))))
    assert specs(wide)[1] == OptimizerNetSpec.nominal((12, 6))


def test_the_dense_and_lstm_designs_read_the_configs_inputs():
    settings = LearnedOptimizerConfig(design="dense", preprocess=False, p=5.0, output_scale=0.2, momentum_inputs=False)
    dense = NetworkConfig((LayerConfig("dense", units=32), LayerConfig("dense", units=16)))
    lstm = NetworkConfig((LayerConfig("lstm", units=7),))
    preset = learned_optimizer_preset()
    inputs = {"preprocess": False, "p": 5.0, "output_scale": 0.2, "momentum_decays": ()}
    assert specs(preset.replace(meta=dense, settings=settings))[1] == OptimizerNetSpec.dense(hidden=(32, 16), **inputs)
    for design in ("dense", "nominal"):  # LSTM layers are the paper's LSTM whatever the design
        config = preset.replace(meta=lstm, settings=LearnedOptimizerConfig(**{**settings.__dict__, "design": design}))
        assert specs(config)[1] == OptimizerNetSpec.paper(hidden=(7,), **inputs)
    momenta = preset.replace(meta=dense, settings=LearnedOptimizerConfig(design="dense"))
    assert specs(momenta)[1] == OptimizerNetSpec.dense(hidden=(32, 16))


def test_config_and_specs_agree_on_what_a_run_may_set():
    with pytest.raises(ConfigError, match="seed must be between 0 and 999"):
        LearnedOptimizerConfig(seed=1000)  # a seed the meta-training could not use
    with pytest.raises(ConfigError, match="meta-training method must be one of"):
        LearnedOptimizerConfig(method="adam")


def test_networks_a_learned_optimizer_cannot_use_are_refused():
    base, meta = optimizee_network(), learned_optimizer_preset(paper_lstm=True).meta
    conv = NetworkConfig((LayerConfig("conv2d"), LayerConfig("flatten"), LayerConfig("dense", units=8)))
    with pytest.raises(ConfigError, match="multilayer perceptron"):
        RunConfig(kind="learned_optimizer", base=conv, meta=meta)
    mixed = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8, activation="relu"),
                           LayerConfig("dense", units=8, activation="sigmoid")))
    with pytest.raises(ConfigError, match="same activation"):
        RunConfig(kind="learned_optimizer", base=mixed, meta=meta)
    for bad_meta in (NetworkConfig(), NetworkConfig((LayerConfig("lstm", units=4), LayerConfig("dense", units=4)))):
        with pytest.raises(ConfigError, match="LSTM layers"):
            RunConfig(kind="learned_optimizer", base=base, meta=bad_meta)
    with pytest.raises(ConfigError, match="LSTM layers only belong"):
        RunConfig(kind="stacked", base=base, meta=meta)
    with pytest.raises(ConfigError, match="cannot be longer"):
        LearnedOptimizerConfig(unroll=50, steps=20)
    with pytest.raises(ConfigError, match="needs a finished learned-optimizer run"):
        TrainingConfig(optimizer="learned")
    with pytest.raises(ConfigError, match="multilayer perceptron"):
        RunConfig(base=conv, training=TrainingConfig(optimizer="learned", learned_optimizer_run=3))


@pytest.mark.parametrize("check, expected", [("200 steps", ((20,), "sigmoid", 200)),
                                             ("40 hidden units", ((40,), "sigmoid", 100)),
                                             ("two hidden layers", ((20, 20), "sigmoid", 100)),
                                             ("ReLU", ((20,), "relu", 100))])
def test_each_check_changes_one_thing_and_reuses_the_optimizer(check, expected):
    config = check_config(learned_optimizer_preset(), 7, check)
    optimizee, _, _ = specs(config)
    assert (optimizee.hidden, optimizee.activation, optimizee.steps) == expected
    assert config.settings.reuse_optimizer_of == 7 and config.meta == learned_optimizer_preset().meta


def test_a_short_run_then_a_check_reusing_its_optimizer(mnist, tmp_path):
    settings = LearnedOptimizerConfig(steps=20, unroll=10, iterations=6, eval_inits=3, tune_trajectories=1,
                                      grid_points=2)
    config = learned_optimizer_preset().replace(settings=settings)
    first = tmp_path / "1"
    first.mkdir()
    epochs, progress = [], []
    result = train_learned_optimizer(config, mnist, Reporter(on_epoch=lambda *a: epochs.append(a),
                                                             on_progress=progress.append), first)
    assert result.status == "completed", result.message
    assert len(epochs) == 6 and all(series == "meta-train" and np.isfinite(values["loss"]) for series, _, values in epochs)
    assert all(0 <= p["fraction"] <= 1 for p in progress)
    results = read_results(first)
    scores = results["evaluation"]["optimizers"]
    assert set(scores) == {"learned", "sgd", "momentum", "rmsprop", "adam"}
    assert all(len(curve) == 21 for curve in scores["adam"]["loss_curves"]) and len(scores["adam"]["loss_curves"]) == 3
    assert result.summary["final_loss_adam"] == pytest.approx(scores["adam"]["final_loss_mean"])
    assert (first / OPTIMIZER_FILE).is_file()
    assert optimizer_table(results).shape[0] == 5 and isinstance(verdict(results)[0], bool)
    assert loss_curves_figure(results).layout.yaxis.type == "log"

    second = tmp_path / "2"
    second.mkdir()
    check = check_config(config, 1, "ReLU").replace(
        settings=LearnedOptimizerConfig(steps=20, unroll=10, eval_inits=2, tune_trajectories=1, grid_points=2,
                                                 reuse_optimizer_of=1))
    reused = train_learned_optimizer(check, mnist, Reporter(), second)
    assert reused.status == "completed" and "train_seconds" not in reused.summary  # no meta-training
    assert read_results(second)["reused_from"] == 1

    # A later base run takes the trained optimizer as its optimizer and yields an ordinary model.
    third = tmp_path / "3"
    third.mkdir()
    base_run = RunConfig(kind="base", base=config.base, training=TrainingConfig(
        epochs=1, batch_size=128, optimizer="learned", learned_optimizer_run=1, train_limit=1280, test_limit=300))
    trained = train_base(base_run, mnist, Reporter(), third)
    assert trained.status in ("completed", "diverged")
    if trained.status == "completed":
        assert (third / "model.keras").is_file() and trained.evaluation is not None
        assert trained.summary["learned_optimizer_run"] == 1

    (first / OPTIMIZER_FILE).write_bytes(b"damaged")
    with pytest.raises(LearnedOptimizerError, match="not a valid learned-optimizer file"):
        train_learned_optimizer(check, mnist, Reporter(), second)
