"""Adaptive learning: a run's learning rate over training, as the optimizer actually used it.

A hypergradient optimizer (``sgd_hd``, ``adam_hd``) changes its rate as it learns, a cosine
schedule lowers it on a fixed plan, a fixed rate stays flat. The training callback logs the rate
every epoch (metric ``learning_rate``) and in the live progress; these helpers turn those rows into
curves. Plotly only: no TensorFlow, no pandas import.

Example:
    >>> curve = learning_rate_curve(store.metrics(7), start=0.001)  # doctest: +SKIP
    >>> learning_rate_figure({"#7 sgd_hd": curve}).show()  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import plotly.graph_objects as go

from metalearn_core.style import TEMPLATE, series_colour

METRIC = "learning_rate"


@dataclass(frozen=True)
class RateCurve:
    """A learning rate against training time in epochs (0 is before the first step)."""

    x: tuple[float, ...]
    rate: tuple[float, ...]

    @property
    def varies(self) -> bool:
        """True when the rate moved by more than a millionth of its size (adapted or scheduled).

        Example:
            >>> RateCurve((0, 1), (0.1, 0.1)).varies, RateCurve((0, 1), (0.1, 0.2)).varies
            (False, True)
        """
        if len(self.rate) < 2:
            return False
        low, high = min(self.rate), max(self.rate)
        return high - low > 1e-6 * max(abs(high), abs(low), 1e-12)

    @property
    def change(self) -> float:
        """The last rate over the first (1.0 when there is none to compare).

        Example:
            >>> RateCurve((0, 1), (0.001, 0.004)).change
            4.0
        """
        return self.rate[-1] / self.rate[0] if len(self.rate) > 1 and self.rate[0] else 1.0


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def learning_rate_curve(rows: list[Mapping], start: float | None = None, series: str | None = None,
                        live: Mapping | None = None) -> RateCurve:
    """The per-epoch learning rates of one series from store metric rows (series, epoch, name, value).

    Args:
        rows: the run's metric history (``RunStore.metrics``).
        start: the configured rate, drawn at epoch 0 (the rate of the first step).
        series: the series to take ("train" for a base run); None takes the first with a rate.
        live: the run's progress while it trains; its ``learning_rate`` at ``x`` extends the curve.

    Example:
        >>> learning_rate_curve([{"series": "train", "epoch": 1, "name": "learning_rate", "value": 0.002}],
        ...                     start=0.001)
        RateCurve(x=(0.0, 1.0), rate=(0.001, 0.002))
    """
    rated = [row for row in rows if row["name"] == METRIC and _finite(row["value"])]
    if series is None and rated:
        series = rated[0]["series"]
    points = [(float(row["epoch"]), float(row["value"])) for row in rated if row["series"] == series]
    if start is not None:
        points.insert(0, (0.0, float(start)))
    if live and _finite(live.get(METRIC)) and live.get("x") is not None:
        if not points or float(live["x"]) > points[-1][0]:
            points.append((float(live["x"]), float(live[METRIC])))
    points.sort()
    return RateCurve(tuple(x for x, _ in points), tuple(rate for _, rate in points))


def learning_rate_figure(curves: Mapping[str, RateCurve], title: str = "Learning rate during training",
                         live: bool = False) -> go.Figure:
    """One line per run: the learning rate against epochs; ``live`` marks each line's last point as "now".

    Example:
        >>> learning_rate_figure({"a": RateCurve((0, 1), (0.1, 0.2))}).data[0].name
        'a'
    """
    figure = go.Figure()
    for index, (name, curve) in enumerate(curves.items()):
        colour = series_colour(index)
        figure.add_trace(go.Scatter(
            x=curve.x, y=curve.rate, mode="lines+markers", name=name, line={"color": colour, "width": 2},
            marker={"size": 6}, hovertemplate=f"{name}<br>epoch %{{x:.3g}}<br>rate %{{y:.4g}}<extra></extra>",
        ))
        if live and curve.x:
            figure.add_trace(go.Scatter(
                x=[curve.x[-1]], y=[curve.rate[-1]], mode="markers", showlegend=False,
                marker={"color": colour, "size": 12, "symbol": "circle-open", "line": {"width": 2}},
                hovertemplate=f"{name} now: %{{y:.4g}}<extra></extra>",
            ))
    if not curves:
        figure.add_annotation(text="no learning rates logged yet", showarrow=False, x=0.5, y=0.5,
                              xref="paper", yref="paper")
    figure.update_layout(template=TEMPLATE, height=320, title=title, xaxis_title="epoch",
                         yaxis_title="learning rate", yaxis_exponentformat="e", hovermode="closest",
                         margin={"t": 50, "b": 40})
    return figure
