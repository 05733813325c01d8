"""Layer statistics (issue 10): weight and gradient norms and weight histograms per layer, checked
against references computed here from the model's variables, streamed by the one fit loop into the
store, drawn without TensorFlow, and absent (but harmless) in an old data home."""

import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.data.mnist import prepare_images
from metalearn_core.inside import weight_figures
from metalearn_core.models.layer_statistics import LayerStatistics, histogram, probe_batch, weighted_layers
from metalearn_core.models.networks import build_network
from metalearn_core.models.training import StreamingCallback, fit_network
from metalearn_core.runs.reporting import Reporter
from metalearn_core.runs.store import RunStore
from metalearn_core.worker import StoreReporter

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "home-v1"
CONV = NetworkConfig((LayerConfig("conv2d", filters=4, kernel_size=3), LayerConfig("max_pool"),
                      LayerConfig("flatten"), LayerConfig("dense", units=16)))
TINY = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=24)))


def reference_gradient_norms(model: keras.Model, x: np.ndarray, y: np.ndarray) -> list[float]:
    """The cross-entropy gradient written out by hand: -mean(log p[label])."""
    kernels = [layer.kernel for layer in weighted_layers(model)]
    with tf.GradientTape() as tape:
        probabilities = model(tf.constant(x), training=False)
        picked = tf.gather(probabilities, tf.constant(y), axis=1, batch_dims=1)
        loss = -tf.reduce_mean(tf.math.log(picked))
    return [float(np.linalg.norm(np.asarray(gradient).ravel())) for gradient in tape.gradient(loss, kernels)]


def images(mnist, count: int) -> tuple[np.ndarray, np.ndarray]:
    return prepare_images(mnist.x_train[:count]), mnist.y_train[:count].astype(np.int64)


def test_stats_equal_norms_and_gradients_computed_from_the_variables(mnist):
    keras.utils.set_random_seed(3)
    model = build_network(CONV)
    x, y = images(mnist, 64)
    rows = LayerStatistics(model, x, y, bins=20)()
    layers = weighted_layers(model)
    assert [row["layer"] for row in rows] == [layer.name for layer in layers] == ["conv2d_1", "dense_4", "logits"]
    for row, layer, gradient_norm in zip(rows, layers, reference_gradient_norms(model, x, y)):
        kernel = np.asarray(layer.kernel)
        assert row["weight_norm"] == pytest.approx(np.linalg.norm(kernel.ravel()), rel=1e-5)
        assert row["gradient_norm"] == pytest.approx(gradient_norm, rel=1e-4)
        assert row["gradient_norm"] > 0
        assert sum(row["counts"]) == kernel.size and len(row["counts"]) == 20 and len(row["edges"]) == 21
        assert row["edges"][0] == pytest.approx(kernel.min()) and row["edges"][-1] == pytest.approx(kernel.max())


def test_a_stacked_meta_network_is_looked_into():
    from metalearn_core.kinds.stacked.run import build_meta_model

    keras.utils.set_random_seed(0)
    run = RunConfig(kind="stacked", meta=NetworkConfig((LayerConfig("dense", units=8),)))
    model = build_meta_model(run, np.zeros(20, np.float32), np.ones(20, np.float32))
    x = np.random.default_rng(1).normal(size=(32, 20)).astype(np.float32)
    y = np.arange(32) % 10
    rows = LayerStatistics(model, x, y)()
    assert [row["layer"] for row in rows] == ["dense_1", "logits"]  # inside the "meta_inner" model
    assert [row["gradient_norm"] for row in rows] == pytest.approx(reference_gradient_norms(model, x, y), rel=1e-4)


def test_histogram_keeps_only_finite_values():
    edges, counts = histogram(np.array([np.nan, 1.0, 2.0, np.inf, 2.0]), bins=4)
    assert sum(counts) == 3 and edges[0] == 1.0 and edges[-1] == 2.0
    assert histogram(np.array([np.nan, np.inf])) == ([], [])


def test_probe_batch_is_spread_over_the_trained_part_only():
    x = np.arange(1000)
    probe_x, probe_y = probe_batch(x, x * 2, size=256, validation_split=0.2)
    assert len(probe_x) == 256 and probe_x.max() <= 799 and probe_x.min() == 0
    assert np.all(probe_y == probe_x * 2) and np.all(np.diff(probe_x) > 0)
    assert len(probe_batch(x[:10], x[:10], size=256)[0]) == 10
    with pytest.raises(ValueError, match="matching"):
        probe_batch(x, x[:5])


def test_quantiles_and_rebinning_agree_with_numpy():
    values = np.random.default_rng(0).normal(size=20_000)
    edges, counts = histogram(values, bins=30)
    width = edges[1] - edges[0]
    estimated = weight_figures.histogram_quantiles(edges, counts, [0, 15.87, 50, 84.13, 100])
    exact = np.percentile(values, [0, 15.87, 50, 84.13, 100])
    assert np.all(np.abs(estimated - exact) <= width)
    assert estimated[0] == pytest.approx(values.min()) and estimated[-1] == pytest.approx(values.max())
    assert weight_figures.rebin(edges, counts, edges).tolist() == pytest.approx(counts)
    coarse = weight_figures.rebin(edges, counts, edges[::3])
    assert coarse.tolist() == pytest.approx(np.add.reduceat(counts, np.arange(0, 30, 3)).tolist())


# Epoch 0's call also traces the gradient function, so only epoch 1's cost sets the pace.
@pytest.mark.parametrize(("share", "expected"), [(1e-6, [0, 1, 6]), (1e6, [0, 1, 2, 3, 4, 5, 6])])
def test_callback_takes_layer_stats_at_most_a_share_of_the_time(share, expected):
    def slow_stats() -> list[dict]:
        time.sleep(0.02)
        return []

    seen: list[int] = []
    x, y = np.random.default_rng(0).random((64, 4), dtype=np.float32), np.arange(64) % 2
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    reporter = Reporter(on_layer_stats=lambda series, epoch, stats: seen.append(epoch))
    callback = StreamingCallback(reporter, layer_stats=slow_stats, stats_share=share)
    model.fit(x, y, epochs=6, batch_size=32, callbacks=[callback], verbose=0)
    assert seen == expected  # before training, after the last epoch, in between when cheap


def test_a_tiny_fit_network_run_stores_its_stats(tmp_path, mnist):
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(RunConfig(name="tiny"))
    writer = StoreReporter(store, run_id, time.time())
    reporter = Reporter(on_epoch=writer.on_epoch, on_layer_stats=writer.on_layer_stats)
    training = TrainingConfig(epochs=2, batch_size=64, validation_split=0.2, train_limit=1500)
    keras.utils.set_random_seed(0)
    model = build_network(TINY)
    x, y = images(mnist, 1500)
    fit_network(model, x, y, training, reporter)

    rows = store.layer_stats(run_id)
    epochs = sorted({row["epoch"] for row in rows})
    assert epochs[0] == 0 and epochs[-1] == 2
    last = [row for row in rows if row["epoch"] == 2]
    layers = weighted_layers(model)
    assert [row["layer"] for row in last] == [layer.name for layer in layers]
    probe_x, probe_y = probe_batch(x, y, validation_split=0.2)
    for row, layer, gradient_norm in zip(last, layers, reference_gradient_norms(model, probe_x, probe_y)):
        assert row["weight_norm"] == pytest.approx(np.linalg.norm(np.asarray(layer.kernel)), rel=1e-5)
        assert row["gradient_norm"] == pytest.approx(gradient_norm, rel=1e-4)
        assert sum(row["counts"]) == np.asarray(layer.kernel).size
    first = {row["layer"]: row["weight_norm"] for row in rows if row["epoch"] == 0}
    assert any(abs(first[row["layer"]] - row["weight_norm"]) > 1e-3 for row in last)  # training moved them
    # The curves' metrics are untouched: the statistics live in their own table.
    assert {row["name"] for row in store.metrics(run_id)} >= {"loss", "accuracy"}
    assert not any("norm" in row["name"] for row in store.metrics(run_id))

    figure = weight_figures.norms_figure(rows)
    assert len(figure.data) == 2 * len(layers)
    assert list(figure.data[0].x) == [float(epoch) for epoch in epochs]
    assert len(weight_figures.distributions_figure(rows).data) == 5 * len(layers)  # 4 bands and a median
    compared = weight_figures.compare_norms_figure({"a": rows, "b": rows, "none": []}, "gradient_norm")
    assert {trace.name for trace in compared.data} == {"a", "b"}

    store.finish(run_id, "completed")
    store.delete(run_id)
    assert store.layer_stats(run_id) == []


def test_a_reporter_without_a_listener_costs_nothing(mnist, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("layer statistics were computed with nobody listening")

    monkeypatch.setattr("metalearn_core.models.training.LayerStatistics", refuse)
    x, y = images(mnist, 200)
    outcome = fit_network(build_network(TINY), x, y, TrainingConfig(epochs=1, batch_size=100), Reporter())
    assert outcome.status == "completed"


def test_an_old_home_opens_with_no_layer_stats(tmp_path):
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    store = RunStore(home)
    runs = store.list_runs()
    assert len(runs) == 6 and all(store.layer_stats(run.id) == [] for run in runs)
    assert weight_figures.norms_figure([]).layout.annotations[0].text == "no layer statistics for this run"
    store.log_layer_stats(runs[0].id, "train", 1, [{"layer": "dense_1", "weight_norm": float("nan"),
                                                     "gradient_norm": 0.5, "edges": [0.0, 1.0], "counts": [3]}])
    stored = store.layer_stats(runs[0].id)
    assert stored[0]["weight_norm"] is None and stored[0]["counts"] == [3]
