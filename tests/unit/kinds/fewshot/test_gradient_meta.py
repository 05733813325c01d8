"""Gradient-based meta-learners: the functional network, MAML / FOMAML, Meta-SGD, Reptile, the loop.

Everything runs on tiny random data and tiny networks; gradient checks use float64 parameters.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.config import ConfigError
from metalearn_core.kinds.fewshot.algorithms.defaults import (
    DEFAULTS,
    GradientSettings,
    PrototypeSettings,
    ReptileSettings,
)
from metalearn_core.kinds.fewshot.algorithms.functional import (
    NetworkSpec,
    adapt,
    forward,
    init_params,
    inner_step,
    loss,
    param_names,
)
from metalearn_core.kinds.fewshot.algorithms.loop import meta_train
from metalearn_core.kinds.fewshot.algorithms.maml import MAML
from metalearn_core.kinds.fewshot.algorithms.metasgd import MetaSGD
from metalearn_core.kinds.fewshot.algorithms.reptile import Reptile


def random_episode(rng, ways=3, shots=2, queries=3, input_shape=(28, 28)):
    """Random inputs, balanced labels: enough to exercise the algorithms' arithmetic."""

    def draw(per_class):
        y = np.repeat(np.arange(ways), per_class)
        return rng.normal(size=(len(y), *input_shape)).astype(np.float32), y

    (support_x, support_y), (query_x, query_y) = draw(shots), draw(queries)
    return SimpleNamespace(support_x=support_x, support_y=support_y, query_x=query_x, query_y=query_y)


def post_adaptation_query_loss(values, episode, spec, inner_lr, steps):
    """The MAML objective at ``values`` (numpy arrays), evaluated without any tape."""
    params = [tf.constant(v) for v in values]
    adapted = adapt(params, episode.support_x, episode.support_y, steps, inner_lr, spec)
    return float(loss(adapted, episode.query_x, episode.query_y, spec))


# --- the functional network -------------------------------------------------------------------


def test_init_params_shapes_for_both_architectures():
    mlp = init_params(NetworkSpec.mlp((64, 64)), ways=5, seed=0)
    assert [tuple(p.shape) for p in mlp] == [(784, 64), (64,), (64, 64), (64,), (64, 5), (5,)]
    assert [tuple(p.shape) for p in init_params((784, 64, 64), ways=5)] == [tuple(p.shape) for p in mlp]
    conv_spec = NetworkSpec.conv(filters=8)
    conv = init_params(conv_spec, ways=5, seed=0)
    # four blocks of (kernel, gamma, beta); 28 -> 14 -> 7 -> 4 -> 2 with SAME pooling; then the head
    assert [tuple(p.shape) for p in conv[:3]] == [(3, 3, 1, 8), (8,), (8,)]
    assert tuple(conv[3].shape) == (3, 3, 8, 8)
    assert [tuple(p.shape) for p in conv[-2:]] == [(2 * 2 * 8, 5), (5,)]
    assert len(param_names(conv_spec)) == len(conv) == 14
    np.testing.assert_array_equal(
        init_params(conv_spec, 5, seed=3)[0].numpy(), init_params(conv_spec, 5, seed=3)[0].numpy()
    )


def test_forward_logit_shapes_and_transductive_batch_norm():
    rng = np.random.default_rng(0)
    spec = NetworkSpec.conv(filters=4)
    params = init_params(spec, ways=5)
    x = rng.normal(size=(6, 28, 28)).astype(np.float32)
    assert forward(params, x, spec).shape == (6, 5)
    assert forward(init_params((784, 16), 5), x, (784, 16)).shape == (6, 5)
    # batch statistics: scaling the whole batch leaves the logits (almost: BN's epsilon) unchanged...
    np.testing.assert_allclose(forward(params, 3 * x, spec), forward(params, x, spec), atol=1e-3)
    # ...and a query point's logits depend on the rest of its batch (transductive batch norm)
    assert not np.allclose(forward(params, x[:3], spec)[0], forward(params, x, spec)[0], atol=1e-3)


def test_clear_errors_for_bad_inputs():
    spec = NetworkSpec.mlp((4,), input_shape=(6,))
    params = init_params(spec, ways=3)
    x, y = np.zeros((3, 6), np.float32), np.array([0, 1, 2])
    with pytest.raises(ValueError, match="parameter tensors"):
        forward(params[:-1], x, spec)
    with pytest.raises(ValueError, match="flatten"):
        forward(params, np.zeros((3, 7), np.float32), spec)
    with pytest.raises(ValueError, match="learning rate 1 has shape"):
        inner_step(params, x, y, [tf.ones_like(params[0]), tf.ones((2,)), *params[2:]], spec)
    with pytest.raises(ValueError, match="learning-rate tensors"):
        inner_step(params, x, y, [0.1, 0.1], spec)
    with pytest.raises(ValueError, match="kind"):
        NetworkSpec("rnn")
    learner = MAML(spec, ways=3)
    bad = SimpleNamespace(support_x=x, support_y=np.array([0, 1, 3]), query_x=x, query_y=y)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        learner.evaluate(bad)
    with pytest.raises(ValueError, match="missing"):
        learner.evaluate(SimpleNamespace(support_x=x, support_y=y))


# --- MAML meta-gradients ----------------------------------------------------------------------


def test_second_order_maml_meta_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    spec = NetworkSpec.mlp(hidden=(5,), input_shape=(6,))
    episode = random_episode(rng, ways=3, shots=2, queries=3, input_shape=(6,))
    learner = MAML(spec, ways=3, inner_lr=0.5, inner_steps=2, dtype=tf.float64, seed=1)
    grads, _ = learner.meta_gradients([episode])

    values = [p.numpy() for p in learner.params]
    h = 1e-6
    numeric = []
    for index, value in enumerate(values):
        numeric.append(np.zeros_like(value))
        for position in np.ndindex(value.shape):
            plus = [v.copy() for v in values]
            minus = [v.copy() for v in values]
            plus[index][position] += h
            minus[index][position] -= h
            numeric[index][position] = (
                post_adaptation_query_loss(plus, episode, spec, 0.5, 2)
                - post_adaptation_query_loss(minus, episode, spec, 0.5, 2)
            ) / (2 * h)
    analytic = np.concatenate([g.numpy().ravel() for g in grads])
    numeric = np.concatenate([n.ravel() for n in numeric])
    assert np.linalg.norm(analytic - numeric) <= 1e-6 * np.linalg.norm(numeric)


def test_second_order_maml_meta_gradient_through_conv_batch_norm_matches_directional_differences():
    rng = np.random.default_rng(2)
    spec = NetworkSpec.conv(filters=3, input_shape=(4, 4))
    episode = random_episode(rng, ways=2, shots=3, queries=3, input_shape=(4, 4))
    learner = MAML(spec, ways=2, inner_lr=0.3, inner_steps=1, dtype=tf.float64, seed=2)
    grads, _ = learner.meta_gradients([episode])
    values = [p.numpy() for p in learner.params]
    h = 1e-6
    for _ in range(3):
        direction = [rng.normal(size=v.shape) for v in values]
        plus = post_adaptation_query_loss(
            [v + h * d for v, d in zip(values, direction)], episode, spec, 0.3, 1
        )
        minus = post_adaptation_query_loss(
            [v - h * d for v, d in zip(values, direction)], episode, spec, 0.3, 1
        )
        analytic = sum(float(np.sum(g.numpy() * d)) for g, d in zip(grads, direction))
        assert analytic == pytest.approx((plus - minus) / (2 * h), rel=1e-5, abs=1e-8)


def test_first_order_maml_is_the_query_gradient_at_the_adapted_params():
    rng = np.random.default_rng(3)
    spec = NetworkSpec.mlp(hidden=(5,), input_shape=(6,))
    episode = random_episode(rng, ways=3, shots=2, queries=3, input_shape=(6,))
    settings = dict(ways=3, inner_lr=0.5, inner_steps=2, dtype=tf.float64, seed=3)
    first, _ = MAML(spec, first_order=True, **settings).meta_gradients([episode])
    second, _ = MAML(spec, first_order=False, **settings).meta_gradients([episode])

    # independently: adapt with no tape, then differentiate the query loss at the adapted point
    params = init_params(spec, 3, seed=3, dtype=tf.float64)
    adapted = [tf.constant(p) for p in adapt(params, episode.support_x, episode.support_y, 2, 0.5, spec)]
    with tf.GradientTape() as tape:
        tape.watch(adapted)
        query_loss = loss(adapted, episode.query_x, episode.query_y, spec)
    expected = tape.gradient(query_loss, adapted)

    for got, want in zip(first, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    flat_first = np.concatenate([g.numpy().ravel() for g in first])
    flat_second = np.concatenate([g.numpy().ravel() for g in second])
    assert np.linalg.norm(flat_first - flat_second) > 1e-3 * np.linalg.norm(flat_second)


def test_first_order_maml_through_conv_batch_norm_is_the_query_gradient_at_the_adapted_params():
    # The same property on the conv network with transductive batch norm, traced as in training.
    rng = np.random.default_rng(8)
    spec = NetworkSpec.conv(filters=3, input_shape=(8, 8))
    episode = random_episode(rng, ways=3, shots=2, queries=3, input_shape=(8, 8))
    learner = MAML(spec, ways=3, inner_lr=0.05, inner_steps=2, first_order=True, dtype=tf.float64, seed=8)
    first, _ = learner.meta_gradients([episode])

    params = init_params(spec, 3, seed=8, dtype=tf.float64)
    adapted = [tf.constant(p) for p in adapt(params, episode.support_x, episode.support_y, 2, 0.05, spec)]
    with tf.GradientTape() as tape:
        tape.watch(adapted)
        query_loss = loss(adapted, episode.query_x, episode.query_y, spec)
    for got, want in zip(first, tape.gradient(query_loss, adapted)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


def test_meta_sgd_with_constant_rates_reproduces_maml():
    rng = np.random.default_rng(4)
    spec = NetworkSpec.mlp(hidden=(5,), input_shape=(6,))
    episode = random_episode(rng, ways=3, shots=2, queries=3, input_shape=(6,))
    settings = dict(ways=3, inner_lr=0.25, inner_steps=2, dtype=tf.float64, seed=4)
    maml, meta_sgd = MAML(spec, **settings), MetaSGD(spec, **settings)
    assert all(np.all(rate.numpy() == 0.25) for rate in meta_sgd.rates)
    for a, b in zip(
        maml.adapt(episode.support_x, episode.support_y), meta_sgd.adapt(episode.support_x, episode.support_y)
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    maml_grads, maml_metrics = maml.meta_gradients([episode])
    sgd_grads, sgd_metrics = meta_sgd.meta_gradients([episode])
    assert len(sgd_grads) == 2 * len(maml_grads)  # the initialisation, then one rate tensor per parameter
    for a, b in zip(maml_grads, sgd_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    assert maml_metrics == pytest.approx(sgd_metrics)
    assert any(np.any(g.numpy() != 0) for g in sgd_grads[len(maml_grads) :])  # the rates are learned too


# --- adaptation and meta-training -------------------------------------------------------------

LEARNERS = {
    "maml": lambda spec, ways: MAML(spec, ways, inner_lr=0.1, inner_steps=3),
    "metasgd": lambda spec, ways: MetaSGD(spec, ways, inner_lr=0.1, inner_steps=3),
    "reptile": lambda spec, ways: Reptile(spec, ways, inner_lr=0.1, inner_steps=3),
    "reptile_adam": lambda spec, ways: Reptile(
        spec, ways, inner_lr=0.02, inner_steps=3, inner_optimizer="adam"
    ),
}


@pytest.mark.parametrize("spec", [NetworkSpec.mlp((16,)), NetworkSpec.conv(filters=4)], ids=["mlp", "conv"])
@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_support_loss_falls_after_adaptation(name, spec):
    episode = random_episode(np.random.default_rng(5), ways=3, shots=2)
    learner = LEARNERS[name](spec, 3)
    before = float(loss(learner.params, episode.support_x, episode.support_y, spec))
    adapted = learner.adapt(episode.support_x, episode.support_y)
    assert float(loss(adapted, episode.support_x, episode.support_y, spec)) < before - 0.05
    accuracies = learner.evaluate(episode, steps=2)
    assert len(accuracies) == 3 and all(0.0 <= a <= 1.0 for a in accuracies)
    assert learner.predict(episode.support_x, episode.support_y, episode.query_x).shape == (9, 3)


def test_reptile_moves_the_initialisation_toward_the_adapted_weights_with_annealed_step():
    rng = np.random.default_rng(6)
    spec = NetworkSpec.mlp(hidden=(5,), input_shape=(6,))
    episode = random_episode(rng, ways=3, shots=2, queries=3, input_shape=(6,))
    learner = Reptile(
        spec,
        3,
        inner_lr=0.2,
        inner_steps=3,
        outer_lr=0.5,
        total_iterations=4,
        inner_on_query=False,
        dtype=tf.float64,
    )
    theta = [p.numpy() for p in learner.params]
    phi = [p.numpy() for p in learner.adapt(episode.support_x, episode.support_y)]
    assert learner.outer_step_size == 0.5
    learner.meta_train_step([episode])
    for new, old, adapted in zip(learner.params, theta, phi):
        np.testing.assert_allclose(new.numpy(), old + 0.5 * (adapted - old), rtol=1e-10, atol=1e-12)
    assert learner.outer_step_size == pytest.approx(0.5 * 3 / 4)


def test_meta_train_streams_metrics_and_stops_when_the_callback_says_so():
    rng = np.random.default_rng(7)
    spec = NetworkSpec.mlp(hidden=(4,), input_shape=(6,))
    learner = MAML(spec, 3, inner_lr=0.1, first_order=True)
    seen = []
    history = meta_train(
        learner,
        lambda n: [random_episode(rng, input_shape=(6,)) for _ in range(n)],
        iterations=5,
        meta_batch_size=2,
        on_iteration=lambda i, metrics: seen.append((i, metrics)) or i < 2,
    )
    assert [i for i, _ in seen] == [0, 1, 2] and len(history) == 3
    assert set(history[0]) == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="meta_batch_size"):
        meta_train(learner, lambda n: [], iterations=1, meta_batch_size=0)


# A toy family where meta-learning clearly pays: 3-way tasks drawn from a pool of 8 classes whose
# means differ only in 3 of 12 input dimensions, the other 9 carrying large noise. From a random
# initialisation one inner step mostly fits the noise; a meta-learned one has learned where to look.
TOY_DIM, TOY_SIGNAL, TOY_CLASSES, TOY_WAYS = 12, 3, 8, 3
TOY_MEANS = 1.5 * np.random.default_rng(42).normal(size=(TOY_CLASSES, TOY_SIGNAL))


def toy_episode(rng, shots=3, queries=10):
    classes = rng.choice(TOY_CLASSES, TOY_WAYS, replace=False)

    def draw(per_class):
        y = np.repeat(np.arange(TOY_WAYS), per_class)
        signal = TOY_MEANS[classes[y]] + 0.5 * rng.normal(size=(len(y), TOY_SIGNAL))  # (n, 3)
        noise = 2.0 * rng.normal(size=(len(y), TOY_DIM - TOY_SIGNAL))  # (n, 9)
        return np.concatenate([signal, noise], axis=1).astype(np.float32), y

    (support_x, support_y), (query_x, query_y) = draw(shots), draw(queries)
    return SimpleNamespace(support_x=support_x, support_y=support_y, query_x=query_x, query_y=query_y)


def toy_accuracy(learner, steps, tasks=60):
    rng = np.random.default_rng(123)  # the same held-out tasks before and after meta-training
    return float(np.mean([learner.evaluate(toy_episode(rng), steps)[-1] for _ in range(tasks)]))


@pytest.mark.parametrize(
    ("make", "steps", "margin"),
    [
        (lambda spec: MAML(spec, TOY_WAYS, inner_lr=0.5, inner_steps=1, meta_lr=0.01), 1, 0.15),
        (lambda spec: MetaSGD(spec, TOY_WAYS, inner_lr=0.5, inner_steps=1, meta_lr=0.01), 1, 0.15),
        (lambda spec: Reptile(spec, TOY_WAYS, inner_lr=0.2, inner_steps=5, total_iterations=100), 5, 0.08),
    ],
    ids=["maml", "metasgd", "reptile"],
)
def test_short_meta_training_beats_the_untrained_initialisation(make, steps, margin):
    learner = make(NetworkSpec.mlp(hidden=(16,), input_shape=(TOY_DIM,)))
    before = toy_accuracy(learner, steps)
    rng = np.random.default_rng(0)
    history = meta_train(
        learner, lambda n: [toy_episode(rng) for _ in range(n)], iterations=100, meta_batch_size=4
    )
    after = toy_accuracy(learner, steps)
    assert after > before + margin, (before, after)
    assert np.mean([m["loss"] for m in history[-20:]]) < np.mean([m["loss"] for m in history[:20]])


# --- evaluation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda spec, traced: MAML(spec, 3, inner_lr=0.1, use_tf_function=traced),
        lambda spec, traced: MetaSGD(spec, 3, inner_lr=0.1, use_tf_function=traced),
        lambda spec, traced: Reptile(spec, 3, inner_lr=0.1, use_tf_function=traced),
        lambda spec, traced: Reptile(spec, 3, inner_lr=0.02, inner_optimizer="adam", use_tf_function=traced),
    ],
    ids=["maml", "metasgd", "reptile", "reptile_adam"],
)
def test_traced_evaluation_matches_eager_evaluation(make):
    # The bench and the dashboard score hundreds of episodes through the traced functions; they
    # must give exactly what the eager inner loop gives.
    spec = NetworkSpec.conv(filters=4, input_shape=(8, 8))
    episode = random_episode(np.random.default_rng(9), ways=3, shots=2, queries=4, input_shape=(8, 8))
    traced, eager = make(spec, True), make(spec, False)
    for learner in (traced, eager):
        learner.params[-2].assign(learner.params[-2] * 3)  # a less uniform head: accuracies vary by step
    got, want = traced.evaluate(episode, steps=4), eager.evaluate(episode, steps=4)
    assert len(got) == 5
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert traced.accuracy(episode, steps=4) == pytest.approx(want[-1], abs=1e-6)
    assert eager.accuracy(episode, steps=4) == pytest.approx(want[-1], abs=1e-6)


def test_eval_steps_is_the_default_number_of_steps_at_evaluation():
    spec = NetworkSpec.mlp(hidden=(4,), input_shape=(6,))
    episode = random_episode(np.random.default_rng(10), ways=3, shots=2, queries=3, input_shape=(6,))
    for learner in (
        MAML(spec, 3, inner_lr=0.1, inner_steps=1, eval_steps=4),
        MetaSGD(spec, 3, inner_lr=0.1, inner_steps=1, eval_steps=4),
        Reptile(spec, 3, inner_lr=0.1, inner_steps=2, eval_steps=4),
    ):
        assert len(learner.evaluate(episode)) == 5
        assert learner.accuracy(episode) == pytest.approx(learner.evaluate(episode)[-1])
    assert len(MAML(spec, 3, inner_steps=2).evaluate(episode)) == 3  # no eval_steps: the training steps
    with pytest.raises(ValueError, match="eval_steps must be >= 0"):
        MAML(spec, 3, eval_steps=-1)


def test_recommended_settings_use_the_config_vocabulary():
    """The recommended settings raise ConfigError ("where: name must be ...") for values no method can use."""
    with pytest.raises(ConfigError, match=r"^GradientSettings: inner_lr must be a positive finite number, got 0\.0$"):
        GradientSettings(inner_lr=0.0)
    with pytest.raises(ConfigError, match="ReptileSettings: outer_lr"):
        ReptileSettings(outer_lr=float("inf"))
    with pytest.raises(ConfigError, match="PrototypeSettings: pretrain_fraction must be below 1"):
        PrototypeSettings(pretrain_fraction=1.0)
    with pytest.raises(ConfigError, match="pretrain_fraction must be between 0 and 1"):
        PrototypeSettings(pretrain_fraction=-0.1)
    assert 0 < DEFAULTS["meta_baseline"].pretrain_fraction < 1 and DEFAULTS["maml"].learner_kwargs()["inner_lr"] > 0
