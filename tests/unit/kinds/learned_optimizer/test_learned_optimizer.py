"""Learned optimizer (Andrychowicz et al. 2016): meta-gradients against finite differences, the learned
code path against plain SGD, preprocessing against a NumPy reference, save/load, spec validation, and
a short meta-training that must lower the loss. All on a tiny 6-input, 2-class problem."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.config import ConfigError
from metalearn_core.kinds.learned_optimizer.meta_training import (
    EVAL_SEED_BASE,
    batch_indices,
    es_gradient,
    es_objective,
    eval_seed,
    evaluate_optimizers,
    meta_gradient,
    meta_seed,
    meta_train,
    train_optimizee,
    tune_baselines,
    unroll_meta_loss,
)
from metalearn_core.kinds.learned_optimizer.rules import (
    HandOptimizer,
    LearnedOptimizer,
    init_optimizee,
    make_hand_optimizer,
    optimizee_loss,
    optimizee_step,
    preprocess_gradients,
)
from metalearn_core.kinds.learned_optimizer.specs import (
    LearnOptData,
    MetaTrainSpec,
    OptimizeeSpec,
    OptimizerNetSpec,
)

PAPER_NET_SMALL = OptimizerNetSpec.paper(hidden=(3, 3), output_scale=0.5)
FIXTURE_OPTIMIZER = Path(__file__).parents[3] / "fixtures" / "home-v1" / "runs" / "5" / "optimizer.npz"
TINY = OptimizeeSpec(hidden=(4,), activation="tanh", batch_size=8, steps=10, input_size=6, classes=2, init_std=0.5)


@pytest.fixture(scope="module")
def tiny_data() -> LearnOptData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype(np.float32)  # (400, 6)
    y = (x @ rng.normal(size=6) > 0).astype(np.int32)  # (400,)
    return LearnOptData.from_arrays(x, y)


def _unroll_inputs(data: LearnOptData, steps: int, seed: int = 3, dtype: str = "float64"):
    indices = batch_indices(len(data.x_meta), TINY.batch_size, steps + 1, seed)  # (steps + 1, batch)
    xs = tf.constant(data.x_meta[indices], dtype=dtype)  # (steps + 1, batch, 6)
    ys = tf.constant(data.y_meta[indices])  # (steps + 1, batch)
    theta = tf.constant(init_optimizee(TINY, seed, dtype))  # (34,)
    return theta, xs, ys


def _directional_fd(objective, optimizer: LearnedOptimizer, direction: dict, eps: float = 1e-6) -> float:
    """Central difference of ``objective()`` along ``direction`` in the optimizer's weight space."""
    base = optimizer.get_weights()
    values = []
    for sign in (1.0, -1.0):
        optimizer.set_weights({name: base[name] + sign * eps * direction[name] for name in base})
        values.append(float(objective()))
    optimizer.set_weights(base)
    return (values[0] - values[1]) / (2 * eps)


def _random_direction(optimizer: LearnedOptimizer, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=value.shape) for name, value in optimizer.get_weights().items()}


def _dot(grads, optimizer: LearnedOptimizer, direction: dict) -> float:
    return float(sum(np.sum(g.numpy() * direction[name]) for g, name in zip(grads, optimizer.names)))


# --------------------------------------------------------------------------- 1. meta-gradients


@pytest.mark.parametrize("spec", [PAPER_NET_SMALL, OptimizerNetSpec.dense(hidden=(5,), output_scale=0.5)])
def test_second_order_meta_gradient_matches_finite_differences(tiny_data, spec):
    optimizer = LearnedOptimizer(spec, seed=1, dtype="float64")
    theta, xs, ys = _unroll_inputs(tiny_data, steps=3)
    state = optimizer.initial_state(TINY.num_params)
    _, grads, _, _ = meta_gradient(optimizer, theta, state, xs, ys, TINY, second_order=True)

    def objective():
        return unroll_meta_loss(optimizer, theta, state, xs, ys, TINY, second_order=True)[0]

    for seed in range(3):
        direction = _random_direction(optimizer, seed)
        assert _dot(grads, optimizer, direction) == pytest.approx(_directional_fd(objective, optimizer, direction),
                                                                  rel=1e-4, abs=1e-9)


def test_first_order_meta_gradient_is_the_gradient_with_optimizee_gradients_frozen(tiny_data):
    """With the stop-gradient the code differentiates the objective whose gradient inputs are constants."""
    optimizer = LearnedOptimizer(PAPER_NET_SMALL, seed=2, dtype="float64")
    theta0, xs, ys = _unroll_inputs(tiny_data, steps=3)
    state0 = optimizer.initial_state(TINY.num_params)
    _, grads, _, _ = meta_gradient(optimizer, theta0, state0, xs, ys, TINY, second_order=False)
    frozen, theta = [], theta0  # the optimizee gradients at the current weights, then held fixed
    state = state0
    for step in range(3):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss = optimizee_loss(theta, xs[step], ys[step], TINY)
        frozen.append(tape.gradient(loss, theta))
        delta, state = optimizer.update(frozen[-1], state)
        theta = theta + delta

    def objective():
        theta, state, losses = theta0, state0, []
        for step in range(3):
            delta, state = optimizer.update(frozen[step], state)
            theta = theta + delta
            losses.append(optimizee_loss(theta, xs[step + 1], ys[step + 1], TINY))
        return tf.reduce_mean(tf.stack(losses))

    for seed in range(3):
        direction = _random_direction(optimizer, seed)
        assert _dot(grads, optimizer, direction) == pytest.approx(_directional_fd(objective, optimizer, direction),
                                                                  rel=1e-4, abs=1e-9)


def test_first_and_second_order_agree_on_one_step_and_differ_on_three(tiny_data):
    optimizer = LearnedOptimizer(PAPER_NET_SMALL, seed=3, dtype="float64")
    state = optimizer.initial_state(TINY.num_params)
    theta, xs, ys = _unroll_inputs(tiny_data, steps=3)
    one = [meta_gradient(optimizer, theta, state, xs[:2], ys[:2], TINY, order)[1] for order in (False, True)]
    for first, second in zip(*one):
        np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=1e-12, atol=1e-15)
    three = [meta_gradient(optimizer, theta, state, xs, ys, TINY, order)[1] for order in (False, True)]
    assert not all(np.allclose(a.numpy(), b.numpy(), rtol=1e-6) for a, b in zip(*three))


# --------------------------------------------------------------------------- 2. the learned path is SGD when told to be


def _sgd_as_learned(learning_rate: float) -> LearnedOptimizer:
    """A linear coordinate-wise net on the raw gradient whose update is exactly ``-learning_rate * g``."""
    spec = OptimizerNetSpec.dense(hidden=(), preprocess=False, output_scale=0.5, momentum_decays=())
    optimizer = LearnedOptimizer(spec)
    optimizer.set_weights({"output_kernel": np.array([[-learning_rate / 0.5]]), "output_bias": np.zeros(1)})
    return optimizer


def test_learned_code_path_reproduces_sgd(tiny_data):
    learned, sgd = _sgd_as_learned(0.5), make_hand_optimizer("sgd", 0.5)
    runs = [train_optimizee(rule, TINY, tiny_data, init_seed=4, batch_seed=5) for rule in (learned, sgd)]
    assert len(runs[0]["loss"]) == TINY.steps + 1
    np.testing.assert_allclose(runs[0]["loss"], runs[1]["loss"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(runs[0]["params"], runs[1]["params"], rtol=0, atol=1e-6)
    assert runs[0]["loss"][-1] < runs[0]["loss"][0]


def test_meta_training_unroll_follows_the_same_trajectory_as_sgd(tiny_data):
    learned, sgd = _sgd_as_learned(0.5), make_hand_optimizer("sgd", 0.5)
    run = train_optimizee(sgd, TINY, tiny_data, init_seed=6, batch_seed=6, split="meta")
    indices = batch_indices(len(tiny_data.x_meta), TINY.batch_size, TINY.steps + 1, 6)
    theta = tf.constant(init_optimizee(TINY, 6))
    xs, ys = tf.constant(tiny_data.x_meta[indices]), tf.constant(tiny_data.y_meta[indices])
    meta_loss, losses, theta, _ = unroll_meta_loss(learned, theta, learned.initial_state(TINY.num_params), xs, ys, TINY)
    np.testing.assert_allclose(losses.numpy(), run["loss"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(theta.numpy(), run["params"], rtol=0, atol=1e-6)
    assert float(meta_loss) == pytest.approx(np.mean(run["loss"][1:]), abs=1e-6)


def test_adam_matches_a_numpy_reference():
    grads = [np.array([0.5, -2.0]), np.array([0.1, 1.0]), np.array([-0.3, 0.0])]
    rule = make_hand_optimizer("adam", 0.1)
    state = rule.initial_state(2, tf.float64)
    m = v = np.zeros(2)
    for t, g in enumerate(grads, start=1):
        delta, state = rule.update(tf.constant(g), state)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        expected = -0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        np.testing.assert_allclose(delta.numpy(), expected, rtol=1e-6)


# --------------------------------------------------------------------------- 3. preprocessing


def _preprocess_reference(g: np.ndarray, p: float) -> np.ndarray:
    rows = []
    for value in g:
        if abs(value) >= math.exp(-p):
            rows.append([math.log(abs(value)) / p, float(np.sign(value))])
        else:
            rows.append([-1.0, math.exp(p) * value])
    return np.array(rows)


@pytest.mark.parametrize("p", [10.0, 3.0])
def test_preprocess_gradients_matches_the_formula(p):
    edge = math.exp(-p)
    g = np.array([0.0, 1e-7, -1e-7, 1.0001 * edge, -1.0001 * edge, 0.9999 * edge, -0.9999 * edge, 1.0, -3.5, 1e3])
    out = preprocess_gradients(tf.constant(g), p=p).numpy()
    assert out.shape == (len(g), 2)
    # TensorFlow's float64 log is accurate to about 1e-9 here, far below any branch mistake.
    np.testing.assert_allclose(out, _preprocess_reference(g, p), rtol=1e-7, atol=1e-12)


# --------------------------------------------------------------------------- 4. save and load


@pytest.mark.parametrize("spec", [OptimizerNetSpec.paper(), OptimizerNetSpec.dense(hidden=(6,), momentum_decays=(0.5, 0.9)),
                                  OptimizerNetSpec.nominal(hidden=(3,))])
def test_save_load_round_trip_gives_identical_updates(tmp_path, spec):
    optimizer = LearnedOptimizer(spec, seed=7)
    path = optimizer.save(tmp_path / "opt.npz")
    loaded = LearnedOptimizer.load(path)
    assert loaded.spec == spec
    grads = tf.constant(np.random.default_rng(0).normal(size=9).astype(np.float32))
    state_a, state_b = optimizer.initial_state(9), loaded.initial_state(9)
    for _ in range(3):
        (delta_a, state_a), (delta_b, state_b) = optimizer.update(grads, state_a), loaded.update(grads, state_b)
        np.testing.assert_array_equal(delta_a.numpy(), delta_b.numpy())


def test_corrupted_or_foreign_files_raise_a_clear_value_error(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="garbage.npz: not a valid learned-optimizer file"):
        LearnedOptimizer.load(garbage)
    good = LearnedOptimizer(OptimizerNetSpec.paper()).save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a valid learned-optimizer file"):
        LearnedOptimizer.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.npz"):
        LearnedOptimizer.load(foreign)
    with pytest.raises(ValueError, match="no such"):
        LearnedOptimizer.load(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- 5. validation


@pytest.mark.parametrize("build, message", [
    (lambda: OptimizeeSpec(hidden=(0,)), "hidden width must be a whole number of at least 1"),
    (lambda: OptimizeeSpec(hidden=20), "hidden must be a list"),
    (lambda: OptimizeeSpec(activation="softplus"), "activation must be one of"),
    (lambda: OptimizeeSpec(batch_size=0), "batch_size"),
    (lambda: OptimizeeSpec(steps=-1), "steps"),
    (lambda: OptimizeeSpec(classes=1), "classes"),
    (lambda: OptimizerNetSpec(kind="gru"), "kind must be one of"),
    (lambda: OptimizerNetSpec.paper(hidden=()), "at least one layer"),
    (lambda: OptimizerNetSpec(hidden=(20, 0)), "hidden width"),
    (lambda: OptimizerNetSpec(output_scale=0.0), "output_scale"),
    (lambda: OptimizerNetSpec(p=float("nan")), "p must"),
    (lambda: OptimizerNetSpec(momentum_decays=(1.0,)), "momentum_decays"),
    (lambda: OptimizerNetSpec(rms_decay=1.5), "rms_decay"),
    (lambda: OptimizerNetSpec(warm_start_rate=-0.01), "warm_start_rate"),
    (lambda: OptimizerNetSpec(warm_start_rate=float("inf")), "warm_start_rate"),
    (lambda: OptimizerNetSpec(time_scales=(10.0, 0.0)), "time_scales"),
    (lambda: OptimizerNetSpec(time_scales=100.0), "time_scales"),
    (lambda: OptimizerNetSpec(rms_decays=(0.9, 1.0)), "rms_decays"),
    (lambda: OptimizerNetSpec(rms_decays=0.9), "rms_decays"),
    (lambda: OptimizerNetSpec(nominal_mix="yes"), "nominal_mix"),
    (lambda: OptimizerNetSpec(kind="dense"), "belong to the nominal kind"),
    (lambda: OptimizerNetSpec.paper(rms_decays=(0.9,)), "belong to the nominal kind"),
    (lambda: MetaTrainSpec(es_tail=-1), "es_tail"),
    (lambda: MetaTrainSpec(unroll=0), "unroll"),
    (lambda: MetaTrainSpec(meta_learning_rate=-1.0), "meta_learning_rate"),
    (lambda: MetaTrainSpec(budget_seconds=0), "budget_seconds"),
    (lambda: MetaTrainSpec(seed=1000), "seed"),
    (lambda: MetaTrainSpec(lr_schedule="exponential"), "lr_schedule"),
    (lambda: MetaTrainSpec(loss_weighting="last"), "loss_weighting"),
    (lambda: MetaTrainSpec(unroll=20, method="backprop").check_against(OptimizeeSpec(steps=10)), "must not exceed"),
    (lambda: OptimizeeSpec.from_dict({"hidden": [20], "colour": "red"}), "unknown field"),
    (lambda: make_hand_optimizer("lion", 0.1), "unknown hand optimizer"),
    (lambda: make_hand_optimizer("sgd", 0.0), "learning_rate"),
])
def test_bad_settings_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_spec_errors_speak_the_config_vocabulary():
    """Specs raise ConfigError with the run config's wording: "where: name must be ..."."""
    with pytest.raises(ConfigError, match=r"^OptimizerNetSpec: output_scale must be a positive finite number, got 0\.0$"):
        OptimizerNetSpec(output_scale=0.0)
    with pytest.raises(ConfigError, match=r"^MetaTrainSpec: seed must be between 0 and 999, got 1000$"):
        MetaTrainSpec(seed=1000)
    with pytest.raises(ConfigError, match=r"^OptimizeeSpec: classes must be a whole number of at least 2, got 1$"):
        OptimizeeSpec(classes=1)
    assert MetaTrainSpec(unroll=20).check_against(OptimizeeSpec(steps=10)) is None  # ES has no truncation


def test_meta_train_rejects_an_unroll_longer_than_the_trajectory(tiny_data):
    with pytest.raises(ValueError, match="must not exceed"):
        meta_train(tiny_data, TINY, OptimizerNetSpec(), MetaTrainSpec(unroll=TINY.steps + 1, method="backprop"))


def test_specs_round_trip_through_json():
    for spec in (OptimizeeSpec(hidden=(20, 20)), OptimizerNetSpec.dense(momentum_decays=(0.9,)),
                 OptimizerNetSpec.dense(time_scales=(5.0,), warm_start_rate=0.02), OptimizerNetSpec.paper(),
                 OptimizerNetSpec(), OptimizerNetSpec(hidden=(8, 8), rms_decays=(0.9, 0.99)), MetaTrainSpec(),
                 MetaTrainSpec(unroll=5, method="backprop"), MetaTrainSpec(lr_schedule="linear", loss_weighting="log")):
        assert type(spec).from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_specs_without_the_newer_fields_still_load():
    """Dicts written before warm starts, time inputs, schedules and weightings existed."""
    net = OptimizerNetSpec.from_dict({"kind": "dense", "hidden": [32, 32], "preprocess": True, "p": 10.0,
                                      "output_scale": 0.01, "momentum_decays": [0.5, 0.9, 0.99], "rms_decay": 0.999})
    assert net.hidden == (32, 32) and net.time_scales == () and net.input_width == 6
    assert net == OptimizerNetSpec.dense()
    meta = MetaTrainSpec.from_dict({"unroll": 20, "meta_learning_rate": 0.003, "iterations": 10,
                                    "budget_seconds": 60.0, "seed": 0, "clip_norm": 1.0, "second_order": False})
    assert meta.unroll == 20 and meta.lr_schedule in ("constant", "cosine", "linear")
    assert meta.method == "backprop" and meta.loss_clip == 0.0  # as it was trained, not today's ES defaults


def test_defaults_are_todays_design_and_the_dense_design_is_one_name_away():
    assert OptimizerNetSpec() == OptimizerNetSpec.nominal() and OptimizerNetSpec().kind == "nominal"
    assert OptimizerNetSpec().mix_size > 0 and OptimizerNetSpec().rms_decays
    dense = OptimizerNetSpec.dense()
    assert (dense.kind, dense.hidden, dense.preprocess, dense.nominal_mix) == ("dense", (32, 32), True, False)
    assert dense.input_width == 2 + 1 + len(dense.momentum_decays)
    assert OptimizerNetSpec.paper().kind == "lstm" and OptimizerNetSpec.paper(hidden=(4,)).hidden == (4,)
    assert MetaTrainSpec().method == "es" and MetaTrainSpec().loss_clip > 0


def test_an_optimizer_saved_by_an_earlier_version_loads_as_the_dense_design():
    """The old home's optimizer.npz holds a spec without the nominal fields (and the dense defaults of then)."""
    loaded = LearnedOptimizer.load(FIXTURE_OPTIMIZER)
    assert loaded.spec == OptimizerNetSpec.dense() and set(loaded.get_weights()) >= {"dense0_kernel"}


def test_meta_learning_rate_schedules():
    for schedule, middle in (("constant", 0.01), ("cosine", 0.005), ("linear", 0.005)):
        meta = MetaTrainSpec(meta_learning_rate=0.01, lr_schedule=schedule)
        assert meta.learning_rate_at(0.0) == pytest.approx(0.01)
        assert meta.learning_rate_at(0.5) == pytest.approx(middle)
        assert meta.learning_rate_at(1.0) == pytest.approx(0.0 if schedule != "constant" else 0.01, abs=1e-12)
        assert meta.learning_rate_at(2.0) == meta.learning_rate_at(1.0)


# --------------------------------------------------------------------------- warm start and time inputs


@pytest.mark.parametrize("hidden, decays, beta_1", [((32, 32), (0.5, 0.9, 0.99), 0.9), ((5,), (0.5, 0.95), 0.95),
                                                    ((), (0.9,), 0.9)])
def test_warm_started_dense_net_is_adam(hidden, decays, beta_1):
    """The initial update is Adam's with ``warm_start_rate``, momentum at the decay nearest 0.9."""
    spec = OptimizerNetSpec.dense(hidden=hidden, momentum_decays=decays, warm_start_rate=0.03, time_scales=(10.0,))
    learned, adam = LearnedOptimizer(spec, seed=3, dtype="float64"), make_hand_optimizer("adam", 0.03)
    adam.momentum = beta_1
    rng = np.random.default_rng(0)
    state_l, state_a = learned.initial_state(7, tf.float64), adam.initial_state(7, tf.float64)
    for _ in range(4):
        grads = tf.constant(rng.normal(size=7))
        (delta_l, state_l), (delta_a, state_a) = learned.update(grads, state_l), adam.update(grads, state_a)
        np.testing.assert_allclose(delta_l.numpy(), delta_a.numpy(), rtol=1e-6, atol=1e-12)


def test_warm_start_is_skipped_where_it_cannot_apply():
    for spec in (OptimizerNetSpec.paper(hidden=(4,), momentum_decays=(0.5, 0.9, 0.99), warm_start_rate=0.03),
                 OptimizerNetSpec.dense(momentum_decays=(), warm_start_rate=0.03),
                 OptimizerNetSpec.dense(hidden=(1,), warm_start_rate=0.03)):
        assert not spec.warm_starts
        plain = OptimizerNetSpec.from_dict({**spec.to_dict(), "warm_start_rate": 0.0})
        weights, reference = LearnedOptimizer(spec).get_weights(), LearnedOptimizer(plain).get_weights()
        for name in weights:
            np.testing.assert_array_equal(weights[name], reference[name])


def test_time_inputs_follow_the_step_count():
    spec = OptimizerNetSpec.dense(hidden=(), preprocess=False, momentum_decays=(), time_scales=(2.0, 50.0))
    assert spec.input_width == 3
    optimizer = LearnedOptimizer(spec, dtype="float64")
    optimizer.set_weights({"output_kernel": np.array([[0.0], [1.0], [10.0]]), "output_bias": np.zeros(1)})
    state = optimizer.initial_state(2)
    for step in range(1, 4):
        delta, state = optimizer.update(tf.constant([0.3, -0.2], tf.float64), state)
        expected = spec.output_scale * (math.tanh(step / 2.0) + 10.0 * math.tanh(step / 50.0))
        np.testing.assert_allclose(delta.numpy(), [expected, expected], rtol=1e-12)


def test_log_weighting_is_the_mean_log_loss(tiny_data):
    optimizer = LearnedOptimizer(OptimizerNetSpec.dense(hidden=(5,), output_scale=0.5), seed=1, dtype="float64")
    theta, xs, ys = _unroll_inputs(tiny_data, steps=3)
    state = optimizer.initial_state(TINY.num_params)
    meta_loss, losses, _, _ = unroll_meta_loss(optimizer, theta, state, xs, ys, TINY, weighting="log")
    assert float(meta_loss) == pytest.approx(float(np.mean(np.log(losses.numpy()[1:]))), rel=1e-12)
    with pytest.raises(ValueError, match="weighting"):
        unroll_meta_loss(optimizer, theta, state, xs, ys, TINY, weighting="last")


# --------------------------------------------------------------------------- 6. meta-training helps


def test_meta_training_lowers_the_loss_on_held_out_initialisations(tiny_data):
    spec = OptimizeeSpec(hidden=(4,), activation="tanh", batch_size=8, steps=20, input_size=6, classes=2, init_std=0.5)
    net = OptimizerNetSpec.paper(hidden=(8, 8), output_scale=0.01)  # the paper's kind of network
    meta = MetaTrainSpec(unroll=5, iterations=20, meta_learning_rate=0.01, budget_seconds=60, method="backprop",
                         loss_clip=0.0)
    optimizer = LearnedOptimizer(net, seed=meta.seed)
    before = evaluate_optimizers(tiny_data, spec, {"net": optimizer}, n_inits=5)
    records = []
    optimizer, history = meta_train(tiny_data, spec, net, meta, lambda i, r: records.append(r), initial=optimizer)
    after = evaluate_optimizers(tiny_data, spec, {"net": optimizer}, n_inits=5)
    assert len(history) == len(records) == 20 and history[-1]["stopped"] == "iterations"
    assert after["optimizers"]["net"]["final_loss_mean"] < 0.8 * before["optimizers"]["net"]["final_loss_mean"]
    assert np.mean([r["meta_loss"] for r in history[-5:]]) < np.mean([r["meta_loss"] for r in history[:5]])


def test_meta_training_stops_on_callback_and_should_stop(tiny_data):
    spec = OptimizeeSpec(hidden=(4,), batch_size=8, steps=10, input_size=6, classes=2)
    meta, net = MetaTrainSpec(unroll=5, iterations=50, method="backprop"), OptimizerNetSpec.dense(hidden=(4,))
    optimizer, history = meta_train(tiny_data, spec, net, meta, on_iteration=lambda i, r: i < 2)
    assert len(history) == 3 and history[-1]["stopped"] == "callback"
    _, history = meta_train(tiny_data, spec, net, meta, should_stop=lambda: True, initial=optimizer)
    assert len(history) == 1 and history[-1]["stopped"] == "should_stop" and history[-1]["truncations"] == 1


# --------------------------------------------------------------------------- tuning and evaluation


def test_seed_ranges_are_disjoint():
    assert meta_seed(999, 999_999) < EVAL_SEED_BASE <= eval_seed(0, 0)


def test_tuning_picks_the_lowest_score_and_evaluation_is_json(tiny_data):
    tuned = tune_baselines(tiny_data, TINY, {"sgd": [1e-4, 0.3], "adam": [0.03]}, trajectories=2)
    assert tuned["sgd"]["learning_rate"] == 0.3 and tuned["sgd"]["at_edge"]
    assert tuned["sgd"]["grid"]["0.3"] < tuned["sgd"]["grid"]["0.0001"]
    rules = {name: make_hand_optimizer(name, result["learning_rate"]) for name, result in tuned.items()}
    report = evaluate_optimizers(tiny_data, TINY, rules, n_inits=3)
    json.dumps(report, allow_nan=False)
    curves = np.array(report["optimizers"]["adam"]["loss_curves"])
    assert curves.shape == (3, TINY.steps + 1)
    assert report["init_seeds"] == [eval_seed(0, i) for i in range(3)]
    assert 0.0 <= report["optimizers"]["adam"]["test_accuracy_mean"] <= 1.0


def test_optimizee_step_is_the_hand_rule_applied_to_the_gradient(tiny_data):
    theta = tf.constant(init_optimizee(TINY, 0, "float64"))
    x, y = tf.constant(tiny_data.x_meta[:8], tf.float64), tf.constant(tiny_data.y_meta[:8])
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = optimizee_loss(theta, x, y, TINY)
    grad = tape.gradient(loss, theta)
    rule = make_hand_optimizer("sgd", 0.1)
    step_loss, new_theta, _ = optimizee_step(rule, theta, rule.initial_state(TINY.num_params, tf.float64), x, y, TINY)
    assert float(step_loss) == pytest.approx(float(loss))
    np.testing.assert_allclose(new_theta.numpy(), (theta - 0.1 * grad).numpy(), rtol=1e-8)


def test_meta_training_follows_the_learning_rate_schedule(tiny_data):
    spec = OptimizeeSpec(hidden=(4,), batch_size=8, steps=10, input_size=6, classes=2)
    net = OptimizerNetSpec.dense(hidden=(4,))
    meta = MetaTrainSpec(unroll=5, iterations=4, meta_learning_rate=0.01, lr_schedule="linear", method="backprop")
    optimizer, history = meta_train(tiny_data, spec, net, meta)
    adam, _ = next(value for key, value in optimizer.traced.items() if key[0] == "meta")
    # 8 truncations; the last one starts after 7 of 8: rate 0.01 * (1 - 7/8).
    assert len(history) == 4 and float(adam.learning_rate) == pytest.approx(0.01 / 8, rel=1e-5)


# --------------------------------------------------------------------------- the nominal design (default)

NOMINAL_SMALL = OptimizerNetSpec.nominal(hidden=(4,))


def _random_head(optimizer: LearnedOptimizer, seed: int = 0, scale: float = 0.3) -> None:
    """Give the zero-initialised output layer random weights, so the correction is not zero."""
    rng = np.random.default_rng(seed)
    weights = optimizer.get_weights()
    weights["output_kernel"] = rng.normal(size=weights["output_kernel"].shape) * scale
    weights["output_bias"] = rng.normal(size=2) * scale
    optimizer.set_weights(weights)


def test_nominal_rule_with_its_correction_zeroed_is_adam():
    """Fresh (zero output layer) the rule is Adam at the nominal rate, whatever the gradients and parameters."""
    learned = LearnedOptimizer(NOMINAL_SMALL, seed=2, dtype="float64")
    adam = make_hand_optimizer("adam", NOMINAL_SMALL.nominal_rate)
    rng = np.random.default_rng(1)
    state_l, state_a = learned.initial_state(9, tf.float64, sizes=(6, 3)), adam.initial_state(9, tf.float64)
    for _ in range(6):
        grads, params = tf.constant(rng.normal(size=9)), tf.constant(rng.normal(size=9))
        delta_l, state_l = learned.update(grads, state_l, params=params)
        delta_a, state_a = adam.update(grads, state_a)
        np.testing.assert_allclose(delta_l.numpy(), delta_a.numpy(), rtol=1e-12, atol=0)
    _random_head(learned)  # a non-zero correction moves it away from Adam
    delta, _ = learned.update(grads, state_l, params=params)
    assert np.max(np.abs(delta.numpy() - adam.update(grads, state_a)[0].numpy())) > 1e-4


def test_nominal_inputs_and_update_are_invariant_to_rescaling_one_tensor():
    """Multiplying one tensor's gradients (and parameters) by a constant leaves its features and its update
    unchanged: every input is divided by its RMS over the tensor, and Adam's direction is scale-free."""
    optimizer = LearnedOptimizer(NOMINAL_SMALL, seed=0, dtype="float64")
    _random_head(optimizer)
    rng = np.random.default_rng(4)
    sizes, scale = (5, 4), np.array([100.0] * 5 + [1.0] * 4)
    plain, scaled = (optimizer.initial_state(9, tf.float64, sizes=sizes) for _ in range(2))
    for _ in range(5):
        grads, params = rng.normal(size=9), rng.normal(size=9)
        inputs_p, *_, plain = optimizer.nominal_parts(tf.constant(grads), plain, tf.constant(params))
        inputs_s, *_, scaled = optimizer.nominal_parts(tf.constant(grads * scale), scaled, tf.constant(params * scale))
        np.testing.assert_allclose(inputs_s.numpy(), inputs_p.numpy(), rtol=1e-6, atol=1e-9)
    delta_p, _ = optimizer.update(tf.constant(grads), plain, tf.constant(params))
    delta_s, _ = optimizer.update(tf.constant(grads * scale), scaled, tf.constant(params * scale))
    np.testing.assert_allclose(delta_s.numpy(), delta_p.numpy(), rtol=1e-6)
    # Not a global normalisation: the same gradients with another split into tensors give other features.
    other = optimizer.initial_state(9, tf.float64, sizes=(9,))
    inputs_o, *_ = optimizer.nominal_parts(tf.constant(grads * scale), other, tf.constant(params * scale))
    assert not np.allclose(inputs_o.numpy(), inputs_s.numpy())


def _zero_head_with_mix(mix: np.ndarray) -> LearnedOptimizer:
    optimizer = LearnedOptimizer(NOMINAL_SMALL, seed=0, dtype="float64")
    weights = optimizer.get_weights()
    weights["mix"] = np.asarray(mix, dtype=np.float64)
    optimizer.set_weights(weights)
    return optimizer


def test_the_nominal_blend_moves_adams_direction_to_rmsprops_or_another_momentum():
    """With the correction network at zero, blend weight 1 on one ratio makes that ratio the direction:
    gradient / RMS(0.999) is Adam without momentum, momentum(0.5) / RMS is Adam with beta 1 = 0.5, and
    gradient / RMS(0.9) is RMSprop (decay 0.9) with Adam's bias correction."""
    spec = NOMINAL_SMALL
    assert spec.nominal_mix and spec.rms_decays == (0.9,)
    size = 1 + len(spec.momentum_decays) + 2 * len(spec.rms_decays)  # g/rms, m_k/rms; g/fast, m_0.9/fast
    assert LearnedOptimizer(spec).get_weights()["mix"].shape == (size,)
    rate = spec.nominal_rate
    rng = np.random.default_rng(3)
    gradients = [rng.normal(size=7) * (1 + step) for step in range(5)]  # a growing scale: the RMS timescales differ
    cases = {0: HandOptimizer("adam", rate, momentum=0.0), 1: HandOptimizer("adam", rate, momentum=0.5)}
    for index, hand in cases.items():
        mix = np.zeros(size)
        mix[index] = 1.0
        learned = _zero_head_with_mix(mix)
        state_l, state_h = learned.initial_state(7, tf.float64, sizes=(7,)), hand.initial_state(7, tf.float64)
        for grads in gradients:
            delta_l, state_l = learned.update(tf.constant(grads), state_l, params=tf.constant(grads))
            delta_h, state_h = hand.update(tf.constant(grads), state_h)
            np.testing.assert_allclose(delta_l.numpy(), delta_h.numpy(), rtol=1e-9)
    mix = np.zeros(size)
    mix[1 + len(spec.momentum_decays)] = 1.0  # the gradient over the 0.9-RMS
    learned, square = _zero_head_with_mix(mix), np.zeros(7)
    state = learned.initial_state(7, tf.float64, sizes=(7,))
    for step, grads in enumerate(gradients, start=1):
        square = 0.9 * square + 0.1 * grads**2
        delta, state = learned.update(tf.constant(grads), state, params=tf.constant(grads))
        np.testing.assert_allclose(delta.numpy(), -rate * grads / (np.sqrt(square / (1 - 0.9**step)) + 1e-8), rtol=1e-9)


def test_a_nominal_spec_saved_before_the_blend_reads_as_it_was(tmp_path):
    """Saved nominal specs have no rms_decays or nominal_mix: they load without them, with their input width."""
    saved = OptimizerNetSpec.nominal(hidden=(4,)).to_dict()
    del saved["rms_decays"], saved["nominal_mix"]
    old = OptimizerNetSpec.from_dict(saved)
    assert old.rms_decays == () and old.nominal_mix is False and old.input_width == 17
    assert OptimizerNetSpec.nominal(hidden=(4,)).input_width == 20
    optimizer = LearnedOptimizer(old, seed=1)
    assert "mix" not in optimizer.get_weights()
    assert LearnedOptimizer.load(optimizer.save(tmp_path / "old.npz")).spec == old


def test_nominal_state_needs_sizes_that_add_up():
    with pytest.raises(ValueError, match="add up"):
        LearnedOptimizer(NOMINAL_SMALL).initial_state(9, sizes=(5, 5))
    with pytest.raises(ValueError, match="0.9"):
        OptimizerNetSpec(kind="nominal", momentum_decays=(0.5, 0.99))


def test_meta_loss_clipping_caps_each_loss_and_zeroes_the_gradient_of_clipped_losses(tiny_data):
    optimizer = LearnedOptimizer(NOMINAL_SMALL, seed=1, dtype="float64")
    _random_head(optimizer)
    theta, xs, ys = _unroll_inputs(tiny_data, steps=4)
    state = optimizer.initial_state(TINY.num_params, sizes=TINY.tensor_sizes)
    meta_loss, losses, _, _ = unroll_meta_loss(optimizer, theta, state, xs, ys, TINY)
    losses = losses.numpy()[1:]
    clip = float(np.median(losses))
    clipped, _, _, _ = unroll_meta_loss(optimizer, theta, state, xs, ys, TINY, loss_clip=clip)
    assert float(clipped) == pytest.approx(float(np.mean(np.minimum(losses, clip))), rel=1e-12)
    assert float(clipped) < float(meta_loss)
    below = min(losses) * 0.5  # every loss clipped: the meta-loss is the clip and nothing moves the weights
    capped, grads, _, _ = meta_gradient(optimizer, theta, state, xs, ys, TINY, loss_clip=below)
    assert float(capped) == pytest.approx(below) and all(np.all(g.numpy() == 0) for g in grads)
    assert es_objective(np.array([5.0, np.nan, 0.5, 9.0]), tail=2, loss_clip=3.0) == pytest.approx(1.75)


def test_es_gradient_points_where_the_backprop_gradient_does(tiny_data):
    """Antithetic ES on one trajectory against the exact (second-order) gradient of the same meta-loss."""
    optimizer = LearnedOptimizer(NOMINAL_SMALL, seed=1, dtype="float64")
    _random_head(optimizer, scale=0.5)
    seed, steps = 3, 6
    spec = OptimizeeSpec(**{**TINY.to_dict(), "hidden": (4,), "steps": steps})
    meta = MetaTrainSpec(method="es", es_sigma=1e-3, es_tail=0, loss_clip=0.0)
    estimate, _, _ = es_gradient(optimizer, spec, tiny_data, [seed] * 300, meta, np.random.default_rng(0))
    indices = batch_indices(len(tiny_data.x_meta), spec.batch_size, steps + 1, seed)
    xs, ys = tf.constant(tiny_data.x_meta[indices], tf.float64), tf.constant(tiny_data.y_meta[indices])
    theta = tf.constant(init_optimizee(spec, seed, "float64"))
    state = optimizer.initial_state(spec.num_params, sizes=spec.tensor_sizes)
    _, exact, _, _ = meta_gradient(optimizer, theta, state, xs, ys, spec, second_order=True)
    es_flat = np.concatenate([g.ravel() for g in estimate])
    exact_flat = np.concatenate([g.numpy().ravel() for g in exact])
    cosine = es_flat @ exact_flat / (np.linalg.norm(es_flat) * np.linalg.norm(exact_flat))
    big = np.abs(exact_flat) > 0.5 * np.abs(exact_flat).max()
    assert cosine > 0.7, cosine
    assert np.all(np.sign(es_flat[big]) == np.sign(exact_flat[big]))


@pytest.mark.parametrize("method", ["es", "backprop"])
def test_same_seed_same_optimizer_other_seed_another(tiny_data, method):
    spec = OptimizeeSpec(**{**TINY.to_dict(), "steps": 10})
    net = OptimizerNetSpec.nominal(hidden=(4,))

    def trained(seed: int) -> dict:
        meta = MetaTrainSpec(method=method, iterations=4, unroll=5, es_pairs=2, seed=seed, loss_clip=4.0,
                             meta_learning_rate=0.01)
        optimizer, history = meta_train(tiny_data, spec, net, meta)
        assert len(history) == 4 and history[-1]["stopped"] == "iterations"
        return optimizer.get_weights()

    first, again, other = trained(0), trained(0), trained(1)
    fresh = LearnedOptimizer(net, seed=0).get_weights()
    assert any(not np.array_equal(first[name], fresh[name]) for name in first)  # it trained
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert any(not np.array_equal(first[name], other[name]) for name in first)


def test_es_meta_training_lowers_the_meta_loss(tiny_data):
    spec = OptimizeeSpec(**{**TINY.to_dict(), "steps": 20})
    net = OptimizerNetSpec.nominal(hidden=(8,))
    meta = MetaTrainSpec(method="es", iterations=120, es_pairs=4, es_sigma=0.05, meta_learning_rate=0.03,
                         loss_clip=4.0, es_tail=5)
    before = evaluate_optimizers(tiny_data, spec, {"net": LearnedOptimizer(net)}, n_inits=8)
    optimizer, history = meta_train(tiny_data, spec, net, meta)
    after = evaluate_optimizers(tiny_data, spec, {"net": optimizer}, n_inits=8)
    assert history[-1]["truncations"] == 30  # one Adam step per 4 trajectories
    assert after["optimizers"]["net"]["final_loss_mean"] < before["optimizers"]["net"]["final_loss_mean"]
