"""Plotly figures of :mod:`metalearn_core.kinds.stacked.inside`: the meta network's trust in each base
learner per digit, and its first layer's full weight matrix. No TensorFlow here.

Example:
    >>> trust_figure(meta_weights(predictor, labels)).show()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from metalearn_core.kinds.stacked.inside import MetaWeights, trust_matrix
from metalearn_core.style import TEMPLATE

DIVERGING = "RdBu_r"  # blue negative, white zero, red positive


def trust_figure(weights: MetaWeights, title: str = "") -> go.Figure:
    """Heatmap, learners x classes (and "features"): the mean absolute first-layer weight on each input.

    Example:
        >>> figure = trust_figure(weights)  # doctest: +SKIP
    """
    columns, matrix = trust_matrix(weights)
    figure = go.Figure(go.Heatmap(
        z=matrix, x=[f"digit {c}" if c.isdigit() else c for c in columns], y=list(weights.learners),
        colorscale="Blues", zmin=0, colorbar={"title": "mean |weight|"}, texttemplate="%{z:.2f}",
        hovertemplate="%{y}, %{x}: mean |weight| %{z:.3f}<extra></extra>"))
    figure.update_layout(template=TEMPLATE, height=200 + 45 * len(weights.learners), margin={"t": 110, "b": 20},
                         yaxis={"autorange": "reversed"}, xaxis={"side": "top"},
                         title=title or "Trust: mean |weight| per learner and digit")
    return figure


def _block_edges(weights: MetaWeights) -> list[float]:
    """Positions (between rows) where one learner's inputs end and the next one's begin."""
    return [index - 0.5 for index in range(1, len(weights.inputs))
            if weights.inputs[index].learner != weights.inputs[index - 1].learner]


def kernel_figure(weights: MetaWeights, title: str = "") -> go.Figure:
    """The full first-layer kernel, signed. Without hidden layers: rows are the inputs, columns the
    output classes; otherwise rows are the hidden units, columns the inputs. Lines separate learners.

    Example:
        >>> figure = kernel_figure(weights)  # doctest: +SKIP
    """
    labels = weights.labels
    limit = float(np.max(np.abs(weights.kernel))) or 1.0
    style = {"colorscale": DIVERGING, "zmin": -limit, "zmax": limit, "colorbar": {"title": "weight"}}
    edges = _block_edges(weights)
    if weights.is_output:
        figure = go.Figure(go.Heatmap(z=weights.kernel, y=labels, x=[f"→ {c}" for c in range(weights.kernel.shape[1])],
                                      hovertemplate="input %{y}<br>output class %{x}: weight %{z:.3f}<extra></extra>",
                                      **style))
        lines = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": e, "y1": e} for e in edges]
        figure.update_layout(xaxis={"title": "output class (the meta network's answer)", "side": "top"},
                             yaxis={"title": "input (learner · class score)", "autorange": "reversed"},
                             height=min(1400, 180 + 16 * len(labels)), margin={"t": 120, "b": 30})
        default = "Weights from each learner's scores to the answer"
    else:
        figure = go.Figure(go.Heatmap(z=weights.kernel.T, x=labels, y=list(range(weights.kernel.shape[1])),
                                      hovertemplate="unit %{y}<br>input %{x}: weight %{z:.3f}<extra></extra>",
                                      **style))
        lines = [{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": e, "x1": e} for e in edges]
        figure.update_layout(xaxis={"title": "input (learner · class score or feature)", "tickangle": -60},
                             yaxis={"title": f"unit of the first hidden layer ({weights.layer})"},
                             height=min(900, 300 + 10 * weights.kernel.shape[1]), margin={"t": 70, "b": 170})
        default = "Every weight of the first hidden layer"
    for line in lines:
        line["line"] = {"color": "black", "width": 1}
    figure.update_layout(template=TEMPLATE, shapes=lines, title=title or default)
    return figure
