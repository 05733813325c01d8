"""Plotly figures of :mod:`metalearn_core.kinds.learned_optimizer.inside`: the update rules drawn as
functions, and the size of the updates along a training trajectory. No TensorFlow here.

Example:
    >>> curves, magnitudes = run_inside(folder, results, data)  # doctest: +SKIP
    >>> rule_figure(curves).show()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metalearn_core.kinds.learned_optimizer.inside import RuleCurves, UpdateMagnitudes
from metalearn_core.kinds.learned_optimizer.results import LABELS
from metalearn_core.style import TEMPLATE, rgba, series_colour


def _colour_of(name: str) -> str:
    """The colour the loss-curves figure gives this optimizer (same order: learned, SGD, ... Adam)."""
    return series_colour(list(LABELS).index(name) if name in LABELS else len(LABELS))


def symlog(values: np.ndarray, threshold: float) -> np.ndarray:
    """``sign(v) * log10(1 + |v| / threshold)``: logarithmic on each side of zero, linear near it.

    Example:
        >>> symlog(np.array([-9.0, 0.0, 99.0]), 1.0).round(6).tolist()
        [-1.0, 0.0, 2.0]
    """
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log10(1.0 + np.abs(values) / threshold)


def _symlog_ticks(threshold: float, largest: float) -> tuple[list[float], list[str]]:
    """Tick positions and labels at 0 and ±10^k for 10^k from ``threshold`` up to ``largest``."""
    low, high = int(np.ceil(np.log10(threshold))), int(np.floor(np.log10(max(largest, threshold))))
    powers = [10.0**k for k in range(low, high + 1)]
    if len(powers) > 5:  # keep the labels readable: every other decade
        powers = powers[::-1][::2][::-1]
    values = [-p for p in powers[::-1]] + [0.0] + powers
    return [float(symlog(np.array(v), threshold)) for v in values], [f"{v:g}" for v in values]


def _threshold(values: np.ndarray) -> float:
    """The linear zone of a symlog axis: the smallest non-zero magnitude, at most 1e-6 of the largest."""
    magnitudes = np.abs(values[np.isfinite(values)])
    magnitudes = magnitudes[magnitudes > 0]
    if not magnitudes.size:
        return 1.0
    return float(max(magnitudes.min(), magnitudes.max() * 1e-6))


def rule_figure(curves: RuleCurves, names: tuple[str, ...] = ("learned", "sgd", "adam"),
                scale: str = "symlog", title: str = "") -> go.Figure:
    """The update against the gradient, one panel per history, one line per rule.

    Args:
        curves: from :func:`metalearn_core.kinds.learned_optimizer.inside.rule_curves`.
        names: the rules to draw (those missing from ``curves`` are skipped).
        scale: ``"symlog"`` (both axes logarithmic on each side of zero) or ``"linear"``.

    Example:
        >>> figure = rule_figure(rule_curves(rules, gradient_sweep(), default_histories(0.01)))  # doctest: +SKIP
    """
    if scale not in ("symlog", "linear"):
        raise ValueError(f"scale must be 'symlog' or 'linear', got {scale!r}")
    names = tuple(name for name in names if name in curves.updates)
    shown = np.concatenate([u for name in names for u in curves.updates[name]]) if names else np.zeros(1)
    x_zone, y_zone = _threshold(curves.gradients), _threshold(shown)
    transform_x = (lambda v: symlog(v, x_zone)) if scale == "symlog" else np.asarray
    transform_y = (lambda v: symlog(v, y_zone)) if scale == "symlog" else np.asarray
    # One panel per history, stacked: the Train page shows results in a narrow column.
    figure = make_subplots(rows=len(curves.histories), cols=1, shared_xaxes=True, vertical_spacing=0.07,
                           subplot_titles=[history.name for history in curves.histories])
    for row, _ in enumerate(curves.histories, start=1):
        for name in names:
            updates = curves.updates[name][row - 1]
            figure.add_trace(go.Scatter(
                x=transform_x(curves.gradients), y=transform_y(updates), mode="lines", name=LABELS.get(name, name),
                legendgroup=name, showlegend=row == 1,
                line={"color": _colour_of(name), "width": 3 if name == "learned" else 2},
                customdata=np.stack([curves.gradients, updates], axis=1),
                hovertemplate=f"{LABELS.get(name, name)}<br>gradient %{{customdata[0]:.3g}}<br>"
                              "update %{customdata[1]:.3g}<extra></extra>"), row=row, col=1)
    if scale == "symlog":
        x_ticks = _symlog_ticks(x_zone, float(np.max(np.abs(curves.gradients))))
        y_ticks = _symlog_ticks(y_zone, float(np.max(np.abs(shown))))
        figure.update_xaxes(tickvals=x_ticks[0], ticktext=x_ticks[1], tickangle=-45)
        figure.update_yaxes(tickvals=y_ticks[0], ticktext=y_ticks[1])
    figure.update_xaxes(zeroline=True)
    figure.update_xaxes(title_text="gradient of one weight", row=len(curves.histories), col=1)
    figure.update_yaxes(title_text="update", zeroline=True)
    figure.update_layout(template=TEMPLATE, height=260 * len(curves.histories) + 120,
                         legend={"orientation": "h", "y": -0.12 if scale == "symlog" else -0.08},
                         title=title or "Update against the gradient" + (" (symmetric log axes)" if scale == "symlog" else ""))
    return figure


def _band(steps: np.ndarray, low: np.ndarray, high: np.ndarray, colour: str, group: str) -> go.Scatter:
    """A filled band from ``low`` to ``high``; a log axis cannot show 0 (a step where no weight moved),
    so the floor is the smallest positive value."""
    positive = np.concatenate([low, high])
    floor = positive[positive > 0].min() if np.any(positive > 0) else 1e-12
    low, high = np.maximum(low, floor), np.maximum(high, floor)
    return go.Scatter(x=np.concatenate([steps, steps[::-1]]), y=np.concatenate([high, low[::-1]]), fill="toself",
                      fillcolor=rgba(colour, 0.15), line={"width": 0}, hoverinfo="skip", showlegend=False,
                      legendgroup=group)


def magnitudes_figure(magnitudes: UpdateMagnitudes, bands: tuple[str, ...] = ("learned", "adam"),
                      title: str = "") -> go.Figure:
    """Mean ``|update|`` per step for each rule, with a band from the 10th to the 90th percentile
    over the weights that moved for the rules in ``bands`` (more overlap into a blur); log scale.

    Example:
        >>> magnitudes_figure(update_magnitudes(rules, spec, x_eval, y_eval, init_seed=0))  # doctest: +SKIP
    """
    figure = go.Figure()
    for name, mean in magnitudes.mean.items():
        steps = np.arange(1, len(mean) + 1)
        colour, label = _colour_of(name), LABELS.get(name, name)
        if name in bands:
            figure.add_trace(_band(steps, magnitudes.low[name], magnitudes.high[name], colour, name))
        figure.add_trace(go.Scatter(x=steps, y=mean, mode="lines", name=label, legendgroup=name,
                                    line={"color": colour, "width": 3 if name == "learned" else 2},
                                    hovertemplate=f"{label}<br>step %{{x}}: mean |update| %{{y:.3g}}<extra></extra>"))
    figure.update_layout(template=TEMPLATE, height=400, yaxis_type="log", legend={"orientation": "h", "y": -0.2},
                         xaxis_title="training step of the base network", yaxis_title="|update| per weight (log scale)",
                         title=title or "Update size per step (mean over the weights)")
    return figure
