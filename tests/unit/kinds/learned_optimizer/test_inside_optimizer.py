"""Inside a learned optimizer: the rules drawn as functions, and the update sizes along a trajectory,
each checked against an independent reference (the formula, or the rule and trajectory run directly)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.kinds.learned_optimizer.inside import (
    History,
    default_histories,
    gradient_sweep,
    rule_curves,
    run_rules,
    update_magnitudes,
)
from metalearn_core.kinds.learned_optimizer.inside_figures import magnitudes_figure, rule_figure, symlog
from metalearn_core.kinds.learned_optimizer.meta_training import train_optimizee
from metalearn_core.kinds.learned_optimizer.rules import LearnedOptimizer, init_optimizee, make_hand_optimizer
from metalearn_core.kinds.learned_optimizer.run import LearnedOptimizerError
from metalearn_core.kinds.learned_optimizer.specs import (
    LearnOptData,
    OptimizeeSpec,
    OptimizerNetSpec,
    held_out_split,
)

TINY = OptimizeeSpec(hidden=(4,), activation="tanh", batch_size=8, steps=6, input_size=6, classes=2, init_std=0.5)
LSTM_SMALL = OptimizerNetSpec.paper(hidden=(3, 3), output_scale=0.5)


@pytest.fixture(scope="module")
def tiny_data() -> LearnOptData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype(np.float32)  # (400, 6)
    y = (x @ rng.normal(size=6) > 0).astype(np.int32)  # (400,)
    return LearnOptData.from_arrays(x, y)


def test_the_sweep_has_both_signs_and_zero():
    sweep = gradient_sweep(1e-4, 10.0, 6)
    assert sweep[6] == 0 and np.allclose(sweep[:6], -sweep[7:][::-1]) and np.all(np.diff(sweep) > 0)
    assert np.isclose(sweep[7], 1e-4) and np.isclose(sweep[-1], 10.0)
    assert np.allclose(gradient_sweep(high=2.0, points=2, scale="linear"), [-2, -1, 0, 1, 2])
    with pytest.raises(ValueError, match="scale"):
        gradient_sweep(scale="cubic")


def test_sgd_is_drawn_as_minus_lr_times_the_gradient_after_any_history():
    sweep = gradient_sweep()
    curves = rule_curves({"sgd": make_hand_optimizer("sgd", 0.3)}, sweep, default_histories(0.02))
    expected = (-np.float32(0.3) * sweep.astype(np.float32)).astype(np.float64)
    for updates in curves.updates["sgd"]:
        np.testing.assert_array_equal(updates, expected)


def test_adams_first_step_is_minus_lr_times_the_sign_and_its_momentum_shows_later():
    sweep = gradient_sweep()
    histories = default_histories(0.05)
    first, after_plus, after_minus = rule_curves({"adam": make_hand_optimizer("adam", 0.01)}, sweep,
                                                 histories).updates["adam"]
    np.testing.assert_allclose(first, -0.01 * np.sign(sweep), rtol=1e-3, atol=1e-9)
    small = np.abs(sweep) < 1e-3  # a tiny new gradient: the remembered one decides the direction
    assert np.all(after_plus[small] < 0) and np.all(after_minus[small] > 0)


@pytest.mark.parametrize("net", [OptimizerNetSpec.dense(hidden=(5, 5)), LSTM_SMALL], ids=["dense+momenta", "lstm"])
def test_the_learned_rules_curve_is_the_rule_called_on_the_same_state(net):
    rule = LearnedOptimizer(net, seed=3)
    sweep = gradient_sweep(points=5)
    history = History("after 4 steps of 0.2", 0.2, 4)
    fresh, warmed = rule_curves({"learned": rule}, sweep, (History("first", 0.0, 0), history)).updates["learned"]
    for index, probe in enumerate(sweep):  # one coordinate at a time, the state built by hand
        state = rule.initial_state(1)
        for _ in range(history.steps):
            _, state = rule.update(tf.constant([history.gradient], tf.float32), state)
        delta, _ = rule.update(tf.constant([probe], tf.float32), state)
        first, _ = rule.update(tf.constant([probe], tf.float32), rule.initial_state(1))
        assert np.isclose(warmed[index], float(delta[0]), rtol=1e-5, atol=1e-9)
        assert np.isclose(fresh[index], float(first[0]), rtol=1e-5, atol=1e-9)
    assert not np.allclose(fresh, warmed)  # the state matters: the history changes the rule


def test_update_magnitudes_are_the_steps_of_an_independent_trajectory(tiny_data):
    rules = {"learned": LearnedOptimizer(OptimizerNetSpec.dense(hidden=(5,)), seed=1),
             "momentum": make_hand_optimizer("momentum", 0.2)}
    seed = 1_000_000_007
    sizes = update_magnitudes(rules, TINY, tiny_data.x_eval, tiny_data.y_eval, seed)
    for name, rule in rules.items():
        params = [init_optimizee(TINY, seed)] + [
            train_optimizee(rule, TINY, tiny_data, init_seed=seed, batch_seed=seed, steps=t)["params"]
            for t in range(1, TINY.steps + 1)]
        steps = np.abs(np.diff(np.array(params, dtype=np.float64), axis=0))  # (steps, n)
        np.testing.assert_allclose(sizes.mean[name], steps.mean(axis=1), rtol=1e-4)
        moving = [row[row > 0] for row in steps]
        np.testing.assert_allclose(sizes.high[name], [np.percentile(row, 90) for row in moving], rtol=1e-4)
        np.testing.assert_allclose(sizes.low[name], [np.percentile(row, 10) for row in moving], rtol=1e-4)
        reference = train_optimizee(rule, TINY, tiny_data, init_seed=seed, batch_seed=seed)["loss"]
        np.testing.assert_allclose(sizes.loss[name], reference[:-1], rtol=1e-5)
    assert sizes.first_gradient_median > 0


def test_held_out_split_is_the_evaluation_pool_of_the_full_split():
    rng = np.random.default_rng(0)
    mnist_like = SimpleNamespace(x_train=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
                                 y_train=rng.integers(0, 10, 50), x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
                                 y_test=rng.integers(0, 10, 5))
    full = LearnOptData.from_mnist(mnist_like, held_out=20)
    x_eval, y_eval = held_out_split(mnist_like, held_out=20)
    np.testing.assert_array_equal(x_eval, full.x_eval)
    np.testing.assert_array_equal(y_eval, full.y_eval)


def test_run_rules_reads_the_saved_optimizer_and_the_tuned_rates(tmp_path):
    saved = LearnedOptimizer(OptimizerNetSpec.dense(hidden=(5,)), seed=4)
    saved.save(tmp_path / "optimizer.npz")
    rules = run_rules(tmp_path, {"tuning": {"sgd": {"learning_rate": 0.5}, "adam": {"learning_rate": 0.02}}})
    assert sorted(rules) == ["adam", "learned", "sgd"]
    assert rules["sgd"].learning_rate == 0.5 and rules["adam"].learning_rate == 0.02
    np.testing.assert_array_equal(rules["learned"].get_weights()["output_kernel"], saved.get_weights()["output_kernel"])
    with pytest.raises(LearnedOptimizerError, match="optimizer.npz"):
        run_rules(tmp_path / "missing", {})


def test_the_figures_draw_every_rule_and_history(tiny_data):
    rules = {"learned": LearnedOptimizer(OptimizerNetSpec.dense(hidden=(5,)), seed=1), "sgd": make_hand_optimizer("sgd", 1.0),
             "adam": make_hand_optimizer("adam", 0.01)}
    curves = rule_curves(rules, gradient_sweep(points=4), default_histories(0.01))
    figure = rule_figure(curves)
    assert len(figure.data) == 3 * 3 and [a.text for a in figure.layout.annotations][1].startswith("after 10 steps")
    assert "0" in figure.layout.xaxis.ticktext and "-10" in figure.layout.xaxis.ticktext
    sgd = next(trace for trace in figure.data if trace.name == "SGD")
    np.testing.assert_allclose(sgd.customdata[:, 1], -curves.gradients, rtol=1e-6)  # hover shows true values
    assert np.all(np.diff(sgd.y) < 0)  # -g, drawn on the symmetric log axis, still falls everywhere
    adam_first = next(trace for trace in figure.data if trace.name == "Adam")
    assert np.ptp(adam_first.y[curves.gradients > 0]) < 1e-3  # a flat step of one size
    sizes = update_magnitudes(rules, TINY, tiny_data.x_eval, tiny_data.y_eval, 5)
    assert [trace.name for trace in magnitudes_figure(sizes).data if trace.showlegend is not False] == [
        "learned optimizer", "SGD", "Adam"]
    assert symlog(np.array([-99.0]), 1.0)[0] == pytest.approx(-2.0)
