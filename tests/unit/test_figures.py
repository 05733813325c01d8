import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from metalearn_core.analysis import ema, group_curve, metrics_frame
from metalearn_core.figures import (
    compare_curves_figure,
    confusion_diff_figure,
    confusion_figure,
    group_band_figure,
    live_curves_figure,
    parallel_coordinates_figure,
    probabilities_figure,
)

RNG = np.random.default_rng(3)


def epoch_rows(series: str, epochs: int, offset: float, elapsed: bool = True) -> list[dict]:
    rows = []
    for epoch in range(1, epochs + 1):
        values = {"loss": offset + 1 / epoch, "val_loss": offset + 1.2 / epoch + RNG.uniform(0, 0.1),
                  "accuracy": 1 - 0.5 / epoch, "val_accuracy": 1 - 0.6 / epoch}
        if elapsed:
            values["elapsed"] = 3.5 * epoch + offset
        rows += [{"series": series, "epoch": epoch, "name": name, "value": value} for name, value in values.items()]
    return rows


@pytest.fixture()
def two_runs() -> pd.DataFrame:
    return metrics_frame({1: epoch_rows("train", 6, 0.0), 2: epoch_rows("train", 4, 0.3)}, {1: "small", 2: "wide"})


def values_of(frame: pd.DataFrame, run_id: int, metric: str, column: str = "value") -> list[float]:
    rows = frame[(frame.run_id == run_id) & (frame.metric == metric)].sort_values("epoch")
    return rows[column].tolist()


def test_compare_curves_overlays_train_and_validation_per_run(two_runs):
    figure = compare_curves_figure(two_runs, "loss")
    assert len(figure.data) == 4
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["small · training"].y) == values_of(two_runs, 1, "loss")
    assert list(by_name["wide · validation"].y) == values_of(two_runs, 2, "val_loss")
    assert list(by_name["wide · training"].x) == [1, 2, 3, 4]
    assert by_name["small · training"].line.dash == "solid" and by_name["small · validation"].line.dash == "dash"
    assert by_name["small · training"].line.color == by_name["small · validation"].line.color
    assert by_name["small · training"].line.color != by_name["wide · training"].line.color
    assert figure.layout.xaxis.title.text == "epoch" and figure.layout.template == pio.templates["plotly_white"]

    timed = compare_curves_figure(two_runs, "loss", x="elapsed")
    trace = next(t for t in timed.data if t.name == "wide · training")
    assert list(trace.x) == values_of(two_runs, 2, "loss", "elapsed") and "wall-clock" in timed.layout.xaxis.title.text


def test_compare_curves_smoothing_keeps_raw_values_faintly(two_runs):
    figure = compare_curves_figure(two_runs, "loss", smoothing=0.6)
    assert len(figure.data) == 8
    raw = next(t for t in figure.data if t.name == "small · validation (raw)")
    smooth = next(t for t in figure.data if t.name == "small · validation")
    assert list(raw.y) == values_of(two_runs, 1, "val_loss") and raw.opacity < 1 and not raw.showlegend
    np.testing.assert_allclose(smooth.y, ema(raw.y, 0.6))
    assert not np.allclose(smooth.y, raw.y)


def test_compare_curves_labels_series_and_validates_arguments():
    frame = metrics_frame({5: epoch_rows("base 1 (network)", 2, 0.0) + epoch_rows("meta", 3, 0.1)
                           + [{"series": "base 2 (random forest)", "epoch": 1, "name": "accuracy", "value": 0.9}]},
                          {5: "stack"})
    figure = compare_curves_figure(frame, "accuracy")
    names = {trace.name for trace in figure.data}
    assert {"stack · meta · training", "stack · base 2 (random forest) · training"} <= names
    assert len(compare_curves_figure(frame, "accuracy", series="meta").data) == 2
    # the random forest has no wall-clock time, so it drops out of the elapsed view
    assert all("random forest" not in t.name for t in compare_curves_figure(frame, "accuracy", x="elapsed").data)
    for bad in ({"x": "time"}, {"smoothing": 1.0}):
        with pytest.raises(ValueError):
            compare_curves_figure(frame, "loss", **bad)
    with pytest.raises(ValueError, match="training metric"):
        compare_curves_figure(frame, "val_loss")
    assert compare_curves_figure(frame, "learning_rate").layout.annotations  # nothing to draw: says so


def test_live_curves_split_loss_and_accuracy():
    frame = metrics_frame({4: epoch_rows("train", 3, 0.0) + epoch_rows("meta", 2, 0.2)}, {4: "run"})
    figure = live_curves_figure(frame)
    assert len(figure.data) == 8
    for trace in figure.data:
        metric = "loss" if trace.xaxis == "x" else "accuracy"
        assert trace.xaxis in ("x", "x2")
        series, part = trace.name.split(" · ")
        expected = values_of(frame[frame.series == series], 4, ("val_" if part == "validation" else "") + metric)
        assert list(trace.y) == expected
        assert trace.line.dash == ("dash" if part == "validation" else "solid")
    colours = {trace.name.split(" · ")[0]: trace.line.color for trace in figure.data}
    assert colours["train"] != colours["meta"]
    assert sum(trace.showlegend is not False for trace in figure.data) == 4  # one legend entry per line kind

    points = [{"series": "train", "x": x, "loss": 2 - x, "accuracy": 0.3 + x / 10} for x in (0.25, 0.5, 0.75)]
    only_train = live_curves_figure(frame, series="train", points=points)
    assert len(only_train.data) == 6
    running = [t for t in only_train.data if "running" in t.name]
    assert [list(t.x) for t in running] == [[0.25, 0.5, 0.75]] * 2 and list(running[0].y) == [1.75, 1.5, 1.25]
    with pytest.raises(ValueError, match="one run"):
        live_curves_figure(metrics_frame({1: epoch_rows("train", 1, 0), 2: epoch_rows("train", 1, 0)}, {}))


def test_confusion_figure_counts_and_normalised_rows():
    counts = RNG.integers(0, 50, (10, 10))
    counts[3] = 0  # a digit missing from the test slice
    figure = confusion_figure(counts.tolist(), title="test")
    heatmap = figure.data[0]
    np.testing.assert_array_equal(np.asarray(heatmap.z), counts)
    assert heatmap.text[2][7] == str(counts[2, 7]) and heatmap.colorscale[0][1] != heatmap.colorscale[-1][1]
    assert list(heatmap.y) == [str(k) for k in range(10)] and figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.xaxis.title.text == "predicted digit" and figure.layout.yaxis.title.text == "true digit"
    normalised = np.asarray(confusion_figure(counts, normalize=True).data[0].z)
    expected_sums = np.where(counts.sum(axis=1) > 0, 1.0, 0.0)
    np.testing.assert_allclose(normalised.sum(axis=1), expected_sums)
    assert normalised[0, 1] == pytest.approx(counts[0, 1] / counts[0].sum())
    with pytest.raises(ValueError, match="square"):
        confusion_figure([[1, 2]])


def test_confusion_diff_is_centred_on_zero():
    a, b = RNG.integers(0, 30, (10, 10)), RNG.integers(0, 30, (10, 10))
    figure = confusion_diff_figure(a.tolist(), b.tolist(), "deep", "shallow")
    heatmap = figure.data[0]
    assert heatmap.zmid == 0
    np.testing.assert_array_equal(np.asarray(heatmap.z), a - b)
    assert "positive on the diagonal: deep is right more often" in figure.layout.title.text
    with pytest.raises(ValueError, match="shape"):
        confusion_diff_figure(a.tolist(), np.eye(5, dtype=int).tolist(), "a", "b")


def test_group_band_has_mean_line_and_std_band():
    rows = {run_id: epoch_rows("train", 5, 0.1 * run_id) for run_id in range(3)}
    frame = metrics_frame(rows, {})
    curves = {"wide (3 seeds)": group_curve(frame, [0, 1, 2], "train", "loss"),
              "one (1 seed)": group_curve(frame, [0], "train", "loss"), "empty": group_curve(frame, [], "train", "loss")}
    figure = group_band_figure(curves, "loss")
    assert len(figure.data) == 4
    band, line = figure.data[0], figure.data[1]
    curve = curves["wide (3 seeds)"]
    assert band.fill == "toself" and list(line.y) == curve["mean"].tolist()
    np.testing.assert_allclose(band.y[:5], curve["mean"] + curve["std"])
    np.testing.assert_allclose(band.y[5:], (curve["mean"] - curve["std"])[::-1])
    np.testing.assert_allclose(figure.data[2].y[:5], figure.data[3].y)  # one run: the band has no width
    assert group_band_figure({}, "loss").layout.annotations


def test_parallel_coordinates_colour_by_accuracy():
    empty = parallel_coordinates_figure(pd.DataFrame())
    assert empty.layout.annotations[0].text == "no completed runs yet" and not empty.data
    frame = pd.DataFrame({"id": [1, 2, 3], "kind": [0, 1, 0], "epochs": [5, 5, 5], "batch_size": [32, 64, 128],
                          "learning_rate": [1e-3, 1e-2, 1e-4], "test_accuracy": [0.97, 0.95, 0.9]})
    figure = parallel_coordinates_figure(frame)
    parcoords = figure.data[0]
    assert isinstance(parcoords, go.Parcoords)
    assert list(parcoords.line.color) == [0.97, 0.95, 0.9]
    dimensions = {d.label: d for d in parcoords.dimensions}
    np.testing.assert_allclose(dimensions["learning rate (log)"].values, [-3, -2, -4])
    assert list(dimensions["kind"].ticktext) == ["base", "stacked"]
    assert dimensions["epochs"].range[0] < 5 < dimensions["epochs"].range[1]  # a constant axis still shows


def test_probabilities_highlight_the_most_likely_digit():
    probabilities = RNG.dirichlet(np.ones(10))
    figure = probabilities_figure(probabilities.tolist())
    colours = list(figure.data[0].marker.color)
    best = int(np.argmax(probabilities))
    assert all(colour != colours[best] for k, colour in enumerate(colours) if k != best)
    assert len(set(colours)) == 2 and list(figure.data[0].x) == list(range(10))
    assert tuple(figure.layout.yaxis.range) == (0, 1) and str(best) in figure.layout.title.text
    for bad in ([], [[0.5, 0.5]], [0.5, float("nan")]):
        with pytest.raises(ValueError, match="probabilities"):
            probabilities_figure(bad)
