"""Plotly figures of a few-shot learner's inner workings (arrays from
:mod:`metalearn_core.kinds.fewshot.inside`).

No TensorFlow here: each figure takes plain arrays, so the pages can import this module freely.

Example:
    >>> figure = step_heatmap(np.full((3, 2), 0.5), ["5", "7"], step=1)
    >>> figure.data[0].type
    'heatmap'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from metalearn_core.style import HIGHLIGHT, TEMPLATE, rgba, series_colour


def step_heatmap(probabilities: np.ndarray, class_names: Sequence[str], step: int | None = None,
                 truth: int | None = None) -> go.Figure:
    """Steps x classes: one query's probability of each class before adapting and after each inner step.

    Args:
        probabilities: (K + 1, n) for one query.
        class_names: the n class labels (e.g. the digits).
        step: a step to outline (the page's slider), or None.
        truth: the query's true class, marked in the column title, or None.
    """
    values = 100 * np.asarray(probabilities, float)  # (K + 1, n)
    names = [f"{name} ✓" if index == truth else str(name) for index, name in enumerate(class_names)]
    steps = [f"step {k}" for k in range(len(values))]
    figure = go.Figure(go.Heatmap(
        z=values, x=names, y=steps, zmin=0, zmax=100, colorscale="Blues", colorbar={"title": "%"},
        text=np.round(values).astype(int), texttemplate="%{text}", hovertemplate=(
            "%{y}, digit %{x}: %{z:.1f}%<extra></extra>")))
    if step is not None:
        figure.add_shape(type="rect", x0=-0.5, x1=len(names) - 0.5, y0=step - 0.5, y1=step + 0.5,
                         line={"color": HIGHLIGHT, "width": 3})
    figure.update_layout(template=TEMPLATE, height=140 + 24 * len(values), margin={"t": 70, "b": 20},
                         title="Its answer after each inner step", yaxis={"autorange": "reversed"},
                         xaxis={"side": "top", "type": "category"})
    return figure


def adaptation_figure(accuracy: Sequence[float], right_probability: Sequence[float],
                      step: int | None = None) -> go.Figure:
    """Query accuracy and mean probability of the right digit after each inner step (step 0: not adapted)."""
    steps = list(range(len(accuracy)))
    figure = go.Figure()
    for index, (values, name) in enumerate(((accuracy, "queries right"),
                                            (right_probability, "mean probability of the right digit"))):
        figure.add_trace(go.Scatter(x=steps, y=[100 * v for v in values], mode="lines+markers", name=name,
                                    line={"color": series_colour(index)},
                                    hovertemplate=f"after %{{x}} steps: %{{y:.1f}}% {name}<extra></extra>"))
    if step is not None:
        figure.add_vline(x=step, line_dash="dot", line_color="grey")
    figure.update_layout(template=TEMPLATE, height=300, yaxis_range=[0, 100], yaxis_title="%",
                         xaxis_title="inner steps on the support set", legend={"orientation": "h", "y": -0.3},
                         title="This episode, step by step", margin={"t": 40})
    figure.update_xaxes(dtick=1)
    return figure


def rate_figure(summary: pd.DataFrame) -> go.Figure:
    """One box per parameter tensor from Meta-SGD's rate summary (whiskers: min and max)."""
    figure = go.Figure()
    for index, row in enumerate(summary.itertuples(index=False)):
        figure.add_trace(go.Box(
            name=row.variable, x=[row.variable], q1=[row.q1], median=[row.median], q3=[row.q3], lowerfence=[row.min],
            upperfence=[row.max], mean=[row.mean], marker_color=series_colour(index), boxpoints=False))
    figure.add_hline(y=0, line_dash="dot", line_color="grey")
    figure.update_layout(template=TEMPLATE, height=340, showlegend=False, yaxis_title="inner learning rate",
                         title="Learned inner learning rates per layer", margin={"t": 40})
    return figure


def embedding_figure(projection: Any, class_names: Sequence[str], query_y: Sequence[int] | None = None) -> go.Figure:
    """Support digits, queries and prototypes in the 2-D PCA plane, over the projected prototypes' regions.

    Args:
        projection: an :class:`~metalearn_core.kinds.fewshot.inside.EmbeddingProjection`.
        class_names: names of the classes, e.g. the digits.
        query_y: the queries' true classes (hover text) when known.
    """
    ways = len(class_names)
    # Each class owns an equal slice of [0, 1] on the colour scale; stitch the slice edges together.
    scale = [[(k + edge) / ways, rgba(series_colour(k), 0.16)] for k in range(ways) for edge in (0, 1)]
    figure = go.Figure(go.Heatmap(x=projection.grid_x, y=projection.grid_y, z=projection.regions, zmin=-0.5,
                                  zmax=ways - 0.5, colorscale=scale, showscale=False, hoverinfo="skip"))
    for label, name in enumerate(class_names):
        colour = series_colour(label)
        points = projection.support[projection.support_y == label]
        figure.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=f"support {name}",
                                    legendgroup=str(label), marker={"color": colour, "size": 10},
                                    hovertemplate=f"support digit {name}<extra></extra>"))
        figure.add_trace(go.Scatter(
            x=projection.prototypes[label:label + 1, 0], y=projection.prototypes[label:label + 1, 1],
            mode="markers", name=f"prototype {name}", legendgroup=str(label),
            marker={"color": colour, "size": 20, "symbol": "star", "line": {"color": "black", "width": 1.5}},
            hovertemplate=f"prototype of {name} (mean of its support)<extra></extra>"))
    said = [class_names[p] for p in projection.predictions]
    truth = ["?"] * len(said) if query_y is None else [class_names[y] for y in query_y]
    figure.add_trace(go.Scatter(
        x=projection.query[:, 0], y=projection.query[:, 1], mode="markers", name="queries",
        marker={"color": [series_colour(p) for p in projection.predictions], "size": 9, "symbol": "x",
                "line": {"color": "black", "width": 0.5}},
        customdata=np.column_stack([truth, said]),
        hovertemplate="query: is %{customdata[0]}, network says %{customdata[1]}<extra></extra>"))
    figure.update_layout(template=TEMPLATE, height=460, margin={"t": 40},
                         title=f"Embedding space, 2 principal components ({100 * projection.explained:.0f}% "
                               f"of the variance)", xaxis_title="component 1", yaxis_title="component 2",
                         legend={"orientation": "h", "y": -0.18})
    return figure
