"""Inside a few-shot learner: per-step predictions, Meta-SGD's rates, ProtoNet's embedding projection."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.kinds.fewshot import inside_figures as fewshot_figures
from metalearn_core.kinds.fewshot.algorithms.protonet import ProtoNet, episode_logits
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.inside import (
    episode_images,
    nearest,
    protonet_projection,
    rate_summary,
    step_accuracy,
    step_probabilities,
)
from metalearn_core.kinds.fewshot.run import FewShotError, FewShotModel, build_learner, fewshot_network

DENSE = fewshot_network("dense", hidden=(16,))
CONV = fewshot_network("conv", filters=4, blocks=2)


def model_for(algorithm: str, network=DENSE, **settings) -> FewShotModel:
    config = FewShotConfig(algorithm=algorithm, ways=3, inner_lr=0.1, eval_inner_steps=3, **settings)
    if algorithm == "protonet":
        tf.keras.utils.set_random_seed(0)
        return FewShotModel(config, ProtoNet.from_network(network))
    return FewShotModel(config, build_learner(config, network))


def task(mnist, digits=(5, 6, 7), shots=2, queries=4):
    """Support and query images of ``digits`` from the test split, labels 0..n-1."""
    support, support_y, query, query_y = [], [], [], []
    for label, digit in enumerate(digits):
        rows = np.flatnonzero(mnist.y_test == digit)[:shots + queries]
        support += list(rows[:shots])
        query += list(rows[shots:])
        support_y += [label] * shots
        query_y += [label] * queries
    entry = {"support_index": support, "support_y": support_y, "query_index": query, "query_y": query_y}
    return episode_images(entry, mnist)


@pytest.mark.parametrize(("algorithm", "network"), [("maml", DENSE), ("reptile", DENSE), ("metasgd", CONV)])
def test_step_predictions_start_at_the_initialisation_and_end_at_the_adapted_model(algorithm, network, mnist):
    model = model_for(algorithm, network)
    support_x, support_y, query_x, _ = task(mnist)
    steps = step_probabilities(model, support_x, support_y, query_x)
    before, after = model.adapt_predict(support_x, support_y, query_x)
    assert steps.shape == (4, len(query_x), 3)  # eval_inner_steps = 3
    np.testing.assert_allclose(steps[0], before, atol=1e-5)
    np.testing.assert_allclose(steps[-1], after, atol=1e-5)
    assert np.abs(steps[1] - steps[0]).max() > 1e-4  # an inner step changes the answer
    # Scored alone, as the run's evaluation and viewer did (batch norm sees only the queries).
    alone = step_probabilities(model, support_x, support_y, query_x, steps=2, with_support=False)
    np.testing.assert_allclose(alone[-1], model.learner.predict(support_x, support_y, query_x, steps=2), atol=1e-5)


def test_step_predictions_refuse_protonet_and_too_many_digits(mnist):
    support_x, support_y, query_x, _ = task(mnist, digits=(5, 6, 7, 8))
    with pytest.raises(FewShotError, match="no inner steps"):
        step_probabilities(model_for("protonet"), support_x, support_y, query_x)
    with pytest.raises(FewShotError, match="at most 3"):
        step_probabilities(model_for("maml"), support_x, support_y, query_x)


def test_step_accuracy_counts_right_answers_and_the_right_class_probability():
    probabilities = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.9, 0.1], [0.3, 0.7]]])  # (2 steps, 2 queries, 2)
    correct, right = step_accuracy(probabilities, [0, 1])
    np.testing.assert_allclose(correct, [0.0, 1.0])
    np.testing.assert_allclose(right, [(0.2 + 0.4) / 2, (0.9 + 0.7) / 2])


def test_metasgd_rate_summary_matches_the_rate_variables():
    model = model_for("metasgd")
    rng = np.random.default_rng(1)
    for rate in model.learner.rates:
        rate.assign(rng.normal(0.05, 0.1, rate.shape).astype(np.float32))
    summary = rate_summary(model)
    assert summary["variable"].tolist() == ["dense1/kernel", "dense1/bias", "head/kernel", "head/bias"]
    for (_, row), rate in zip(summary.iterrows(), model.learner.rates):
        values = rate.numpy().ravel()
        assert row["count"] == values.size
        np.testing.assert_allclose(row[["mean", "median", "min", "max"]].to_numpy(float),
                                   [values.mean(), np.median(values), values.min(), values.max()], rtol=1e-5)
        assert row["negative share"] == pytest.approx((values < 0).mean())
    assert fewshot_figures.rate_figure(summary).data[0].type == "box"
    with pytest.raises(FewShotError, match="only Meta-SGD"):
        rate_summary(model_for("maml"))


def test_protonet_projection_keeps_prototypes_as_class_means_and_regions_around_them(mnist):
    model = model_for("protonet")
    support_x, support_y, query_x, query_y = task(mnist, shots=3)
    projection = protonet_projection(model, support_x, support_y, query_x, grid=60)
    # PCA is affine: the projected class mean is the mean of the projected support points.
    for label in range(3):
        np.testing.assert_allclose(projection.prototypes[label], projection.support[support_y == label].mean(axis=0),
                                   atol=1e-6)
    # And it is the projection of the class mean computed here, independently, in the original space.
    support_embeddings = model.learner.embedding(support_x, training=False).numpy()
    means = np.stack([support_embeddings[support_y == label].mean(axis=0) for label in range(3)])
    np.testing.assert_allclose(projection.pca.transform(means), projection.prototypes, atol=1e-4)
    # Each projected prototype lies in its own region.
    for label, (x, y) in enumerate(projection.prototypes):
        row, column = np.abs(projection.grid_y - y).argmin(), np.abs(projection.grid_x - x).argmin()
        assert projection.regions[row, column] == label
    # The predictions are the network's own (nearest prototype in the original space).
    logits = episode_logits(model.learner.embedding, tf.constant(support_x), tf.constant(support_y),
                            tf.constant(query_x), 3)
    np.testing.assert_array_equal(projection.predictions, np.argmax(logits.numpy(), axis=1))
    assert 0 < projection.explained <= 1 and 0 <= projection.agreement() <= 1
    figure = fewshot_figures.embedding_figure(projection, ["5", "6", "7"], query_y)
    assert len(figure.data) == 1 + 2 * 3 + 1  # regions, support and prototype per class, queries
    with pytest.raises(FewShotError, match="only Prototypical"):
        protonet_projection(model_for("maml"), support_x, support_y, query_x)


def test_nearest_picks_the_closest_prototype():
    prototypes = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.array([[1.0, 1.0], [9.0, -1.0], [2.0, 7.0], [6.0, 0.0]])
    assert nearest(points, prototypes).tolist() == [0, 1, 2, 1]


def test_step_figures_mark_the_chosen_step():
    figure = fewshot_figures.step_heatmap(np.array([[0.5, 0.5], [0.1, 0.9]]), ["5", "7"], step=1, truth=1)
    assert figure.layout.shapes[0].y0 == 0.5 and list(figure.data[0].x) == ["5", "7 ✓"]
    curve = fewshot_figures.adaptation_figure([0.5, 1.0], [0.5, 0.8], step=1)
    assert [trace.y[-1] for trace in curve.data] == [100.0, 80.0]
