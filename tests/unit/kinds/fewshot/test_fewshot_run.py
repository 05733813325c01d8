"""The few-shot run kind: config, learner networks, the run itself, the saved learner, teaching."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.results import episode_view, read_results, results_table
from metalearn_core.kinds.fewshot.run import (
    PARAMS_FILE,
    FewShotError,
    FewShotModel,
    fewshot_network,
    learner_shape,
    recommended_settings,
    teach_support,
    train_fewshot,
)
from metalearn_core.runs.reporting import Reporter

TINY = dict(iterations=12, validation_every=5, validation_episodes=3, evaluation_episodes=10, baseline_seconds=0.5,
            queries=5)


class Recorder:
    def __init__(self):
        self.epochs, self.progress = [], []

    def reporter(self) -> Reporter:
        return Reporter(on_epoch=lambda s, e, m: self.epochs.append((s, e, m)), on_progress=self.progress.append)


def test_config_round_trip_and_clear_errors():
    config = RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(16,)),
                       settings=FewShotConfig(algorithm="maml", **recommended_settings("maml")))
    assert RunConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="algorithm"):
        FewShotConfig(algorithm="magic")
    with pytest.raises(ConfigError, match="disjoint"):
        FewShotConfig(train_digits=(0, 1, 5), test_digits=(5, 6, 7, 8, 9))
    with pytest.raises(ConfigError, match="inner steps"):
        FewShotConfig(inner_steps=0)


def test_learner_shapes_for_the_functional_learners():
    assert learner_shape(fewshot_network("conv", filters=8, blocks=3)) == ("conv", 8, 3)
    assert learner_shape(fewshot_network("dense", hidden=(64, 32))) == ("mlp", (64, 32))
    with_dropout = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8), LayerConfig("dropout")))
    with pytest.raises(ConfigError, match="conv blocks"):
        learner_shape(with_dropout)
    mixed = NetworkConfig((LayerConfig("conv2d", filters=8, kernel_size=3, padding="same"), LayerConfig("batch_norm"),
                           LayerConfig("max_pool"), LayerConfig("conv2d", filters=16, kernel_size=3, padding="same"),
                           LayerConfig("batch_norm"), LayerConfig("max_pool")))
    with pytest.raises(ConfigError):
        learner_shape(mixed)  # unequal filters


def test_teach_support_labels_digits_in_order_and_refuses_bad_sets():
    a, b = np.zeros((28, 28)), np.ones((28, 28))
    digits, x, y = teach_support({7: [a, a], 2: [b]})
    assert digits == [2, 7] and x.shape == (3, 28, 28) and y.tolist() == [0, 1, 1]
    np.testing.assert_array_equal(x[0], b)
    with pytest.raises(FewShotError, match="two different digits"):
        teach_support({3: [a]})
    with pytest.raises(FewShotError, match="at most 2 digits"):
        teach_support({1: [a], 2: [a], 3: [a]}, max_ways=2)
    with pytest.raises(FewShotError, match="at most 5"):
        teach_support({1: [a] * 6, 2: [a]})


@pytest.mark.parametrize("algorithm", ["protonet", "fomaml"])
def test_a_short_run_streams_scores_and_saves(algorithm, mnist, tmp_path):
    config = RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(32,)),
                       settings=FewShotConfig(algorithm=algorithm, **{**recommended_settings(algorithm), **TINY}))
    recorder = Recorder()
    result = train_fewshot(config, mnist, recorder.reporter(), tmp_path)
    assert result.status == "completed", result.message
    series = {s for s, _, _ in recorder.epochs}
    assert {"meta-train", "validation"} <= series
    assert max(e for s, e, _ in recorder.epochs if s == "meta-train") == 12
    assert all(0.0 <= p["fraction"] <= 1.0 for p in recorder.progress)
    results = read_results(tmp_path)
    assert set(results["settings"]) == {"1", "5"}
    for shots, setting in results["settings"].items():
        assert setting["learner"]["episodes"] == 10 and setting["pretrain"] is not None
        assert 0.0 <= setting["pixels"]["mean"] <= 1.0 and setting["pixels"]["ci95"] > 0
        entry = setting["viewer"][0]
        assert len(entry["support_index"]) == 5 * int(shots) and len(entry["predictions"]) == 25
        # The evaluation episodes come from the test split and the test digits only.
        assert {str(mnist.y_test[i]) for i in entry["support_index"]} == set(entry["classes"])
        assert set(entry["classes"]) <= {"5", "6", "7", "8", "9"}
    steps = results["settings"]["1"]["per_step"]
    assert len(steps) == (1 if algorithm == "protonet" else config.settings.eval_inner_steps + 1)
    assert result.summary["fewshot_1shot"] == pytest.approx(results["settings"]["1"]["learner"]["mean"])
    assert results_table(results).shape == (3, 3)
    view = episode_view(results["settings"]["5"]["viewer"][0], mnist)
    assert len(view.support) == 25 and all(c[0] in "✓✗" for c in view.query_captions)

    # The saved learner scores the same as the one that was trained.
    model = FewShotModel.load(tmp_path, config)
    support = mnist.x_test[entry["support_index"]].astype(np.float32) / 255
    query = mnist.x_test[entry["query_index"]].astype(np.float32) / 255
    before, after = model.adapt_predict(support, np.asarray(entry["support_y"]), query)
    assert before.shape == after.shape == (25, 5)
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(np.argmax(after, axis=1) == np.asarray(entry["query_y"])) == pytest.approx(
        np.mean(np.asarray(entry["predictions"]) == np.asarray(entry["query_y"])), abs=0.05)


def test_adapting_to_drawn_examples_fits_them(mnist, tmp_path):
    """A MAML learner adapted to two digits classifies its own support set better than before."""
    config = RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(32,)),
                       settings=FewShotConfig(algorithm="maml", **{**recommended_settings("maml"), **TINY,
                                                                   "baseline_seconds": 0.0, "eval_inner_steps": 5}))
    assert train_fewshot(config, mnist, Reporter(), tmp_path).status == "completed"
    model = FewShotModel.load(tmp_path, config)
    threes = mnist.x_test[mnist.y_test == 3][:3].astype(np.float32) / 255
    sevens = mnist.x_test[mnist.y_test == 7][:3].astype(np.float32) / 255
    digits, support_x, support_y = teach_support({3: list(threes), 7: list(sevens)}, max_ways=5)
    before, after = model.adapt_predict(support_x, support_y, support_x)
    picked = after[np.arange(len(support_y)), support_y]
    assert np.mean(np.argmax(after, axis=1) == support_y) == 1.0
    assert picked.mean() > before[np.arange(len(support_y)), support_y].mean()
    with pytest.raises(FewShotError, match="at most 5"):
        model.adapt_predict(np.zeros((6, 28, 28)), np.arange(6), np.zeros((1, 28, 28)))


def test_a_damaged_saved_learner_is_a_clear_error(mnist, tmp_path):
    config = RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(16,)),
                       settings=FewShotConfig(algorithm="maml", **{**recommended_settings("maml"), **TINY,
                                                                   "baseline_seconds": 0.0}))
    with pytest.raises(FewShotError, match="missing"):
        FewShotModel.load(tmp_path, config)
    (tmp_path / PARAMS_FILE).write_bytes(b"not a numpy file")
    with pytest.raises(FewShotError, match="could not be read"):
        FewShotModel.load(tmp_path, config)
    other = config.replace(base=fewshot_network("dense", hidden=(8,)))
    train_fewshot(config, mnist, Reporter(), tmp_path)
    with pytest.raises(FewShotError, match="does not belong"):
        FewShotModel.load(tmp_path, other)
    assert json.loads((tmp_path / "fewshot.json").read_text())["algorithm"] == "maml"
