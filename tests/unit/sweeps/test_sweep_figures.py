"""The sweep figures: pruned trials grey, the best-so-far line, the parallel axes, the importances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.colors
import pytest

from metalearn_core.sweeps import figures
from metalearn_core.sweeps.space import SearchSpace


def trials(states, objectives, **params) -> pd.DataFrame:
    count = len(states)
    return pd.DataFrame({"trial": range(count), "state": states, "objective": objectives, "steps": [2] * count,
                         "run": range(1, count + 1), "run_status": ["completed"] * count,
                         "test_accuracy": [0.5] * count, "seconds": [1.0] * count, "outcome": [""] * count,
                         **params})


def colour_at(scale, position: float) -> str:
    """The colour a plotly colour scale gives at ``position`` (0..1): the last stop at or below it."""
    return [colour for stop, colour in scale if stop <= position][-1]


@pytest.fixture()
def frame():
    return trials(["complete", "pruned", "complete", "failed", "complete", "pruned"],
                  [0.70, 0.40, 0.65, None, 0.90, 0.55],
                  learning_rate=[1e-3, 1e-2, 3e-4, 1e-4, 2e-3, 5e-2],
                  optimizer=["adam", "sgd", "adam", "sgd", "sgd", "adam"],
                  units_1=[32, 64, 128, 16, 256, 8])


SPACE = SearchSpace.from_dict({"units": {"low": 8, "high": 256}, "optimizer": ["sgd", "adam"],
                               "learning_rate": {"low": 1e-4, "high": 1e-1}})


def test_best_so_far_line_is_monotone_and_only_counts_complete_trials(frame):
    figure = figures.best_so_far_figure(frame, "maximize")
    line = next(trace for trace in figure.data if trace.name == "best so far")
    assert list(line.x) == [0, 2, 4]  # the complete trials
    assert np.all(np.diff(line.y) >= 0)
    assert list(line.y) == [0.70, 0.70, 0.90]
    lower = figures.best_so_far_figure(frame.assign(objective=1 - frame["objective"]), "minimize")
    best = next(trace for trace in lower.data if trace.name == "best so far").y
    assert np.all(np.diff(best) <= 0) and best[-1] == pytest.approx(0.10)


def test_best_so_far_points_grey_for_pruned_and_a_cross_for_failed(frame):
    figure = figures.best_so_far_figure(frame, "maximize")
    by_name = {trace.name.split(" ")[0]: trace for trace in figure.data}
    assert by_name["pruned"].marker.color == figures.PRUNED_GREY
    assert list(by_name["pruned"].x) == [1, 5]
    assert by_name["complete"].marker.color != figures.PRUNED_GREY
    failed = by_name["failed"]
    assert failed.marker.symbol == "x" and list(failed.x) == [3]
    assert failed.y[0] == pytest.approx(0.40)  # no score: drawn at the bottom of the others


def test_parallel_has_an_axis_per_setting_plus_the_objective(frame):
    figure = figures.parallel_figure(frame, "maximize", "validation accuracy", SPACE)
    dimensions = figure.data[0].dimensions
    assert len(dimensions) == 3 + 1
    assert dimensions[-1].label == "validation accuracy"
    assert len(dimensions[-1]["values"]) == 5  # the failed trial has no score: no line


def test_parallel_greys_pruned_lines_and_colours_complete_ones(frame):
    line = figures.parallel_figure(frame, "maximize", space=SPACE).data[0].line
    shown = frame[frame["state"] != "failed"].reset_index(drop=True)
    assert line.colorscale[0][0] == 0.0 and line.colorscale[-1][0] == 1.0  # else plotly.js drops the scale
    span = line.cmax - line.cmin
    for state, value in zip(shown["state"], line.color):
        colour = colour_at(line.colorscale, (value - line.cmin) / span)
        if state == "pruned":
            assert colour == figures.PRUNED_GREY
        else:
            assert colour != figures.PRUNED_GREY and colour in plotly.colors.sequential.Viridis
    best = shown["objective"].idxmax()
    assert colour_at(line.colorscale, (line.color[best] - line.cmin) / span) == plotly.colors.sequential.Viridis[-1]
    flipped = figures.parallel_figure(frame, "minimize", space=SPACE).data[0].line
    assert colour_at(flipped.colorscale, 1.0) == plotly.colors.sequential.Viridis[0]  # lower is better: bright low


def test_parallel_codes_choices_and_plots_log_ranges_as_log10(frame):
    dimensions = {dimension.label: dimension for dimension in figures.parallel_figure(frame, space=SPACE).data[0]
                  .dimensions}
    optimizer = dimensions["optimizer"]
    assert list(optimizer.ticktext) == ["sgd", "adam"]  # the space's order
    shown = frame[frame["state"] != "failed"]
    codes = [list(optimizer.ticktext).index(name) for name in shown["optimizer"]]
    assert list(optimizer["values"]) == codes
    rate = dimensions["learning rate (log)"]
    assert np.allclose(rate["values"], np.log10(shown["learning_rate"]))
    assert "0.001" in rate.ticktext


def test_parallel_puts_a_missing_layer_on_a_none_tick():
    frame = trials(["complete", "complete"], [0.5, 0.6], units_1=[16, 32], units_2=[64, np.nan])
    units_2 = figures.parallel_figure(frame).data[0].dimensions[1]
    assert units_2.ticktext[0] == "none"
    assert units_2["values"][1] == units_2.tickvals[0] < units_2["values"][0]


def test_empty_sweeps_say_so():
    empty = trials([], [])
    assert figures.best_so_far_figure(empty, "maximize").layout.annotations[0].text == "no finished trial yet"
    assert "no complete or pruned" in figures.parallel_figure(empty).layout.annotations[0].text
    assert figures.importances_figure({}).layout.annotations[0].text == "no importances yet"


def test_importances_largest_bar_on_top():
    figure = figures.importances_figure({"learning_rate": 0.6, "units_1": 0.3, "dropout": 0.1})
    bars = figure.data[0]
    assert list(bars.y)[-1] == "learning_rate"  # plotly draws the last bar at the top
    assert list(bars.x) == sorted(bars.x)
    assert list(bars.text) == ["10%", "30%", "60%"]


def test_trial_curves_grey_dashed_for_pruned_trials():
    figure = figures.trial_curves_figure({0: [(1, 0.5), (2, 0.7), (3, 0.8)], 1: [(1, 0.3)], 2: []},
                                         {0: "complete", 1: "pruned"})
    assert len(figure.data) == 2  # a trial without a score yet draws nothing
    complete, pruned = figure.data
    assert pruned.line.color == figures.PRUNED_GREY and pruned.line.dash == "dash"
    assert pruned.marker.symbol[-1] == "x"
    assert complete.line.color != figures.PRUNED_GREY and list(complete.y) == [0.5, 0.7, 0.8]
