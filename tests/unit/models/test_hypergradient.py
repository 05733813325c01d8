"""Hypergradient descent (metalearn_core.models.hypergradient): the updates against numpy
references of the paper's formulas, the beta = 0 limits, and the optimizers inside model.fit,
a base run and the CLI."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from metalearn_core.config import RunConfig, TrainingConfig
from metalearn_core.models.hypergradient import ADAM_HD_DEFAULT_BETA, SGD_HD_DEFAULT_BETA, SGDHD, AdamHD
from metalearn_core.models.networks import make_optimizer

# A quadratic loss over two variables (a 2x3 matrix and a vector of 3):
# f = 0.5 * sum(scale_i * (theta_i - target_i)^2), so grad_i = scale_i * (theta_i - target_i).
START = [np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], "float32"), np.array([1.0, -2.0, 0.5], "float32")]
TARGET = [np.array([[0.0, 1.0, 0.0], [-1.0, 0.5, 0.0]], "float32"), np.array([0.0, 0.0, 3.0], "float32")]
SCALE = [np.float32(2.0), np.float32(0.5)]


def _numpy_gradients(thetas):
    return [s * (t - c) for t, c, s in zip(thetas, TARGET, SCALE)]


def _keras_steps(optimizer, steps: int = 3) -> tuple[list[np.ndarray], list[float]]:
    """Run ``steps`` optimizer steps on the quadratic with TensorFlow's gradients: the final
    variables and alpha after each step."""
    import tensorflow as tf

    variables = [keras.Variable(value.copy()) for value in START]
    alphas = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = sum(0.5 * s * tf.reduce_sum((v.value - c) ** 2) for v, c, s in zip(variables, TARGET, SCALE))
        optimizer.apply_gradients(zip(tape.gradient(loss, [v.value for v in variables]), variables))
        alphas.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
    return [keras.ops.convert_to_numpy(v) for v in variables], alphas


def _dot(first, second) -> float:
    return float(sum(np.sum(a.astype(np.float64) * b) for a, b in zip(first, second)))


def _sgd_hd_reference(alpha: float, beta: float, steps: int = 3):
    """SGD-HD by hand: alpha_t = alpha_{t-1} + beta g_t · g_{t-1}; theta_t = theta_{t-1} - alpha_t g_t."""
    thetas = [t.astype(np.float64) for t in START]
    previous = [np.zeros_like(t) for t in thetas]
    alphas = []
    for _ in range(steps):
        grads = _numpy_gradients(thetas)
        alpha = alpha + beta * _dot(grads, previous)
        thetas = [t - alpha * g for t, g in zip(thetas, grads)]
        previous = grads
        alphas.append(alpha)
    return thetas, alphas


def _adam_hd_reference(alpha: float, beta: float, steps: int = 3):
    """Adam-HD by hand: h_t = g_t · (-u_{t-1}), alpha_t = alpha_{t-1} - beta h_t, then Adam's step
    theta_t = theta_{t-1} - alpha_t u_t with u_t = sqrt(1 - b2^t) / (1 - b1^t) * m_t / (sqrt(v_t) + eps).
    Keras' defaults b1 = 0.9, b2 = 0.999, eps = 1e-7, used as Keras uses them: the moments decay
    by the Python floats, the bias correction takes powers of their float32 roundings (1 - b2 then
    differs from 0.001 by 1e-5, which moves theta by more than the tolerance)."""
    b1, b2, eps = 0.9, 0.999, 1e-7
    b1_32, b2_32 = float(np.float32(b1)), float(np.float32(b2))
    thetas = [t.astype(np.float64) for t in START]
    m = [np.zeros_like(t) for t in thetas]
    v = [np.zeros_like(t) for t in thetas]
    direction = [np.zeros_like(t) for t in thetas]
    alphas = []
    for t in range(1, steps + 1):
        grads = _numpy_gradients(thetas)
        hypergradient = -_dot(grads, direction)
        alpha = alpha - beta * hypergradient
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
        correction = np.sqrt(1 - b2_32**t) / (1 - b1_32**t)
        direction = [correction * mi / (np.sqrt(vi) + eps) for mi, vi in zip(m, v)]
        thetas = [th - alpha * u for th, u in zip(thetas, direction)]
        alphas.append(alpha)
    return thetas, alphas


def test_sgd_hd_follows_its_formula_over_three_steps():
    thetas, alphas = _keras_steps(SGDHD(0.05, hypergradient_rate=0.01))
    expected_thetas, expected_alphas = _sgd_hd_reference(0.05, 0.01)
    assert alphas[0] == pytest.approx(0.05)  # no previous gradient at the first step
    assert abs(expected_alphas[-1] - 0.05) > 1e-3  # the rate really moved, so the check below bites
    np.testing.assert_allclose(alphas, expected_alphas, rtol=1e-5)
    for got, want in zip(thetas, expected_thetas):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_adam_hd_follows_its_formula_over_three_steps():
    thetas, alphas = _keras_steps(AdamHD(0.1, hypergradient_rate=0.01))
    expected_thetas, expected_alphas = _adam_hd_reference(0.1, 0.01)
    assert abs(expected_alphas[-1] - 0.1) > 1e-3
    np.testing.assert_allclose(alphas, expected_alphas, rtol=1e-5)
    for got, want in zip(thetas, expected_thetas):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ours, plain", [
    (lambda: SGDHD(0.05, hypergradient_rate=0.0), lambda: keras.optimizers.SGD(0.05)),
    (lambda: AdamHD(0.1, hypergradient_rate=0.0), lambda: keras.optimizers.Adam(0.1)),
])
def test_beta_zero_is_plain_sgd_or_adam(ours, plain):
    got, alphas = _keras_steps(ours(), steps=4)
    want, _ = _keras_steps(plain(), steps=4)
    assert len(set(alphas)) == 1
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_make_optimizer_builds_the_hypergradient_optimizers_with_the_paper_defaults():
    sgd = make_optimizer(TrainingConfig(optimizer="sgd_hd", learning_rate=0.002), 100)
    adam = make_optimizer(TrainingConfig(optimizer="adam_hd", hypergradient_rate=1e-5), 100)
    assert isinstance(sgd, SGDHD) and sgd.hypergradient_rate == SGD_HD_DEFAULT_BETA
    assert float(keras.ops.convert_to_numpy(sgd.learning_rate)) == pytest.approx(0.002)
    assert isinstance(adam, AdamHD) and adam.hypergradient_rate == pytest.approx(1e-5)
    assert ADAM_HD_DEFAULT_BETA == pytest.approx(1e-7)
    cosine = make_optimizer(TrainingConfig(optimizer="sgd_hd", lr_schedule="cosine"), 100)
    assert isinstance(cosine, SGDHD)  # it adapts its own rate: no schedule on top


def test_inside_fit_with_steps_per_execution_the_logged_rate_is_the_adapted_alpha():
    from metalearn_core.models.training import StreamingCallback
    from metalearn_core.runs.reporting import Reporter

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    optimizer = SGDHD(0.01, hypergradient_rate=0.01)
    model.compile(optimizer, "sparse_categorical_crossentropy", steps_per_execution=4)
    epochs, progress = [], []
    reporter = Reporter(on_epoch=lambda series, epoch, metrics: epochs.append(metrics), on_progress=progress.append)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0,
              callbacks=[StreamingCallback(reporter, min_interval=0.0)])
    alpha = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    assert int(optimizer.iterations) == 64
    assert abs(alpha - 0.01) > 1e-4  # adapted inside the compiled train function
    assert epochs[-1]["learning_rate"] == pytest.approx(alpha)
    assert epochs[0]["learning_rate"] != pytest.approx(epochs[1]["learning_rate"])
    assert any("learning_rate" in entry for entry in progress)


def test_a_base_run_with_adam_hd_saves_and_reloads_its_model(mnist, tmp_path):
    from metalearn_core.kinds.base.run import train_base
    from metalearn_core.runs.reporting import Reporter

    config = RunConfig()
    config = config.replace(training=dataclasses.replace(
        config.training, optimizer="adam_hd", epochs=1, train_limit=1500, test_limit=300, batch_size=64,
        hypergradient_rate=1e-4))
    rates = []
    result = train_base(config, mnist, Reporter(on_epoch=lambda s, e, m: rates.append(m["learning_rate"])),
                        tmp_path)
    assert result.status == "completed"
    assert rates and rates[-1] != pytest.approx(config.training.learning_rate)
    reloaded = keras.models.load_model(tmp_path / "model.keras", compile=False)
    assert reloaded.count_params() == result.summary["parameters"]
    compiled = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(compiled.optimizer, AdamHD)
    assert compiled.optimizer.hypergradient_rate == pytest.approx(1e-4)


def _train_args(*flags: str):
    from metalearn_core import cli

    return cli._parser().parse_args(["train", *flags])


def test_cli_takes_a_hypergradient_optimizer():
    from metalearn_core import cli

    config = cli.build_config(_train_args("--optimizer", "sgd_hd", "--lr", "0.001"))
    assert config.training.optimizer == "sgd_hd" and config.training.learning_rate == pytest.approx(0.001)


def test_cli_takes_the_hypergradient_rate():
    from metalearn_core import cli

    try:
        args = _train_args("--optimizer", "sgd_hd", "--hypergradient-rate", "1e-3")
    except SystemExit:
        pytest.skip("the CLI has no --hypergradient-rate flag yet (metalearn_core/cli.py)")
    assert cli.build_config(args).training.hypergradient_rate == pytest.approx(1e-3)
