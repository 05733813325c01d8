import time

import numpy as np
import pytest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.base.run import train_base
from metalearn_core.models.networks import build_network
from metalearn_core.models.training import StreamingCallback, fit_network
from metalearn_core.runs.reporting import Reporter


class Recorder:
    def __init__(self):
        self.epochs, self.progress = [], []

    def reporter(self):
        return Reporter(on_epoch=lambda s, e, m: self.epochs.append((s, e, m)),
                        on_progress=lambda p: self.progress.append((time.perf_counter(), p)))


def test_base_run_learns_and_streams_every_epoch(mnist, tmp_path):
    config = RunConfig(training=TrainingConfig(epochs=3, batch_size=32, train_limit=2000, test_limit=500))
    recorder = Recorder()
    result = train_base(config, mnist, recorder.reporter(), tmp_path)
    assert result.status == "completed"
    assert [e for _, e, _ in recorder.epochs] == [1, 2, 3]
    losses = [m["loss"] for _, _, m in recorder.epochs]
    assert losses[-1] < losses[0]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time", "elapsed"):
        assert key in recorder.epochs[0][2]
    assert result.summary["test_accuracy"] > 0.8  # chance is 0.1
    evaluation = result.evaluation
    assert np.array(evaluation.confusion).sum() == 500
    assert len(evaluation.misclassified) == round(500 * (1 - evaluation.accuracy))
    assert (tmp_path / "model.keras").exists()


def test_progress_is_throttled(mnist):
    model = build_network(NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))))
    recorder = Recorder()
    x = mnist.x_train[:4000].astype(np.float32) / 255
    y = mnist.y_train[:4000]
    training = TrainingConfig(epochs=2, batch_size=8, validation_split=0.0)  # 1000 small batches
    fit_network(model, x, y, training, recorder.reporter())
    stamps = [t for t, _ in recorder.progress]
    gaps = np.diff(stamps)
    assert len(stamps) >= 2
    assert gaps.min() >= 0.25 * 0.99  # never more than four writes a second
    assert {p["batches"] for _, p in recorder.progress} == {500}
    assert all(0 <= p["batch"] < 500 and p["epoch"] in (1, 2) for _, p in recorder.progress)


def test_nan_loss_stops_with_diverged(mnist):
    # A linear layer on raw 0-255 pixels with SGD at a learning rate of 100 overflows within a few batches.
    net = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64, activation="linear")))
    config = RunConfig(base=net, training=TrainingConfig(epochs=5, batch_size=32, optimizer="sgd",
                                                         learning_rate=100.0, scale_pixels=False,
                                                         train_limit=3000, test_limit=100))
    recorder = Recorder()
    result = train_base(config, mnist, recorder.reporter(), None)
    assert result.status == "diverged"
    assert "diverged" in result.message and "learning rate" in result.message
    assert result.summary["epochs_done"] < 5
    assert result.evaluation is None


def test_streaming_callback_alone_reports_to_plain_functions():
    seen = []
    callback = StreamingCallback(Reporter(on_epoch=lambda *a: seen.append(a)), series="x")
    model = build_network(NetworkConfig((LayerConfig("flatten"),)))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((8, 28, 28)), np.zeros(8), epochs=2, verbose=0, callbacks=[callback])
    assert [(series, epoch) for series, epoch, _ in seen] == [("x", 1), ("x", 2)]
    with pytest.raises(KeyError):
        seen[0][2]["val_loss"]
