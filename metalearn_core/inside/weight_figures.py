"""Figures of how weights and gradients moved while a run trained, from its stored layer statistics.

The rows are those of :meth:`~metalearn_core.runs.store.RunStore.layer_stats` (series, epoch,
position, layer, weight_norm, gradient_norm, edges, counts), computed by
:mod:`metalearn_core.models.layer_statistics`. This module imports neither TensorFlow nor streamlit,
so the Train and Compare pages draw these charts without loading TensorFlow.

Example:
    >>> rows = [{"series": "train", "epoch": 0, "position": 0, "layer": "dense_1", "weight_norm": 2.0,
    ...          "gradient_norm": 0.5, "edges": [-1.0, 0.0, 1.0], "counts": [3, 1]}]
    >>> norms_frame(rows)[["epoch", "weight_norm"]].values.tolist()
    [[0.0, 2.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metalearn_core.style import TEMPLATE, message_figure, series_colour

NORM_COLUMNS = ["series", "epoch", "position", "layer", "weight_norm", "gradient_norm"]
# TensorBoard's distribution bands: the percentiles at 0, ±0.5, ±1 and ±1.5 standard deviations
# of a normal distribution, and the extremes; drawn as nested bands around the median.
BAND_PERCENTILES = (0.0, 6.68, 15.87, 30.85, 50.0, 69.15, 84.13, 93.32, 100.0)
LAYERS_PER_ROW = 3
BLUE = "#636EFA"


def series_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The series that have layer statistics, in the order they first appear.

    Example:
        >>> series_names([{"series": "meta"}, {"series": "base 1 (network)"}, {"series": "meta"}])
        ['meta', 'base 1 (network)']
    """
    return list(dict.fromkeys(row["series"] for row in rows))


def _of_series(rows: Sequence[dict[str, Any]], series: str | None) -> list[dict[str, Any]]:
    series = series if series is not None else (series_names(rows) or [None])[0]
    return [row for row in rows if row["series"] == series]


def layer_titles(rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """Position -> a title such as ``"1. dense_2 (301,056 weights)"``, for one series' rows.

    Example:
        >>> layer_titles([{"position": 0, "layer": "logits", "counts": [2, 3]}])
        {0: '1. logits (5 weights)'}
    """
    return {row["position"]: f"{row['position'] + 1}. {row['layer']} ({sum(row['counts']):,} weights)"
            for row in rows}


def norms_frame(rows: Sequence[dict[str, Any]], series: str | None = None) -> pd.DataFrame:
    """Weight and gradient norms per epoch and layer of one series (the first when None).

    Columns: series, epoch, position, layer, weight_norm, gradient_norm (NaN where not finite).

    Example:
        >>> norms_frame([]).columns.tolist()
        ['series', 'epoch', 'position', 'layer', 'weight_norm', 'gradient_norm']
    """
    records = [{column: row[column] for column in NORM_COLUMNS} for row in _of_series(rows, series)]
    frame = pd.DataFrame.from_records(records, columns=NORM_COLUMNS)
    return frame.astype({"epoch": float, "position": "int64", "weight_norm": float, "gradient_norm": float})


def histogram_quantiles(edges: Sequence[float], counts: Sequence[int], percentiles: Sequence[float]) -> np.ndarray:
    """Percentiles of the values behind a histogram, taking values as spread evenly in each bin.

    Example:
        >>> histogram_quantiles([0.0, 1.0, 2.0], [1, 3], [0, 50, 100]).tolist()
        [0.0, 1.3333333333333333, 2.0]
    """
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts, dtype=float)
    if counts.size == 0 or counts.sum() == 0 or edges.size != counts.size + 1:
        return np.full(len(percentiles), np.nan)
    cumulative = np.cumsum(counts)
    targets = np.asarray(percentiles, dtype=float) / 100.0 * cumulative[-1]
    index = np.clip(np.searchsorted(cumulative, targets, side="left"), 0, counts.size - 1)
    before = cumulative[index] - counts[index]
    within = np.divide(targets - before, counts[index], out=np.zeros_like(targets), where=counts[index] > 0)
    return edges[index] + np.clip(within, 0.0, 1.0) * (edges[index + 1] - edges[index])


def rebin(edges: Sequence[float], counts: Sequence[int], new_edges: Sequence[float]) -> np.ndarray:
    """A histogram's counts moved onto other bin edges, taking values as spread evenly in each bin;
    values outside ``new_edges`` are dropped.

    Example:
        >>> rebin([0.0, 2.0], [4], [0.0, 1.0, 2.0]).tolist()
        [2.0, 2.0]
    """
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts, dtype=float)
    if counts.size == 0:
        return np.zeros(len(new_edges) - 1)
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    return np.diff(np.interp(np.asarray(new_edges, dtype=float), edges, cumulative))


def _layer_grid(titles: dict[int, str]) -> go.Figure:
    """One small chart per layer, ``LAYERS_PER_ROW`` to a row, with the legend below them all."""
    columns = min(LAYERS_PER_ROW, len(titles))
    rows = math.ceil(len(titles) / columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=list(titles.values()),
                           horizontal_spacing=0.08, vertical_spacing=0.25 / rows)
    figure.update_annotations(font_size=13)
    return figure.update_layout(template=TEMPLATE, height=150 + 250 * rows, margin={"t": 40, "b": 30},
                                legend={"orientation": "h", "y": -0.2 / rows, "yanchor": "top"})


def _short_titles(rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    return {row["position"]: f"{row['position'] + 1}. {row['layer']}" for row in rows}


def _cell(index: int) -> dict[str, int]:
    return {"row": index // LAYERS_PER_ROW + 1, "col": index % LAYERS_PER_ROW + 1}


def norms_figure(rows: Sequence[dict[str, Any]], series: str | None = None) -> go.Figure:
    """Two charts side by side: each layer's weight norm and gradient norm (log scale) by epoch.

    Epoch 0 is the network as initialised, before the first batch.

    Example:
        >>> norms_figure([]).layout.annotations[0].text
        'no layer statistics for this run'
    """
    frame = norms_frame(rows, series)
    if frame.empty:
        return message_figure("no layer statistics for this run", height=260)
    titles = layer_titles(_of_series(rows, series))
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "Weight norm ‖W‖", "Gradient norm ‖∂loss/∂W‖ (log)"))
    for index, (position, title) in enumerate(titles.items()):
        layer = frame[frame["position"] == position].sort_values("epoch")
        for column, metric in ((1, "weight_norm"), (2, "gradient_norm")):
            figure.add_trace(go.Scatter(
                x=layer["epoch"], y=layer[metric], mode="lines+markers", name=title, legendgroup=title,
                showlegend=column == 1, line={"color": series_colour(index)},
                hovertemplate=f"{title}<br>epoch %{{x}}<br>{metric.replace('_', ' ')} %{{y:.4g}}<extra></extra>",
            ), row=1, col=column)
    figure.update_xaxes(title_text="epoch (0 = before training)", dtick=1 if frame["epoch"].max() <= 12 else None)
    figure.update_yaxes(type="log", row=1, col=2)
    return figure.update_layout(template=TEMPLATE, height=400, margin={"t": 40},
                                legend={"orientation": "h", "y": -0.22, "yanchor": "top"})


def distributions_figure(rows: Sequence[dict[str, Any]], series: str | None = None) -> go.Figure:
    """TensorBoard-style distributions: per layer, the spread of its weights over the epochs.

    Nested bands from the outside in hold 100%, 87%, 68% and 38% of the weights (the
    percentiles of :data:`BAND_PERCENTILES`, read from the stored histograms); the line is the
    median.

    Example:
        >>> distributions_figure([]).layout.annotations[0].text
        'no layer statistics for this run'
    """
    rows = _of_series(rows, series)
    if not rows:
        return message_figure("no layer statistics for this run", height=260)
    titles = _short_titles(rows)
    figure = _layer_grid(titles)
    half = len(BAND_PERCENTILES) // 2
    for index, position in enumerate(titles):
        layer = sorted((row for row in rows if row["position"] == position), key=lambda row: row["epoch"])
        epochs = [row["epoch"] for row in layer]
        values = np.array([histogram_quantiles(row["edges"], row["counts"], BAND_PERCENTILES) for row in layer])
        for band in range(half):  # outermost first, so the inner bands are drawn on top
            low, high = values[:, band], values[:, -1 - band]
            share = BAND_PERCENTILES[-1 - band] - BAND_PERCENTILES[band]
            figure.add_trace(go.Scatter(
                x=[*epochs, *epochs[::-1]], y=[*low, *high[::-1]], fill="toself", mode="none",
                fillcolor=f"rgba(99, 110, 250, {0.15 + 0.15 * band})", hoverinfo="skip",
                name="all the weights" if band == 0 else f"middle {share:.0f}%", legendgroup=f"band{band}",
                showlegend=index == 0,
            ), **_cell(index))
        figure.add_trace(go.Scatter(
            x=epochs, y=values[:, half], mode="lines+markers", line={"color": BLUE}, name="median",
            legendgroup="median", showlegend=index == 0,
            hovertemplate="epoch %{x}<br>median weight %{y:.4f}<extra></extra>",
        ), **_cell(index))
    figure.update_yaxes(title_text="weight value", col=1)
    return figure.update_xaxes(title_text="epoch")


def histograms_figure(rows: Sequence[dict[str, Any]], series: str | None = None, bins: int = 30) -> go.Figure:
    """Per layer, a heatmap of its weight histogram at each epoch (colour: share of the weights).

    Each epoch's histogram is moved onto one grid of ``bins`` bins spanning all its epochs, so the
    columns can be compared: a column that spreads out means the weights grew apart.

    Example:
        >>> histograms_figure([]).layout.annotations[0].text
        'no layer statistics for this run'
    """
    rows = [row for row in _of_series(rows, series) if row["counts"]]
    if not rows:
        return message_figure("no layer statistics for this run", height=260)
    titles = _short_titles(rows)
    figure = _layer_grid(titles)
    for index, position in enumerate(titles):
        layer = sorted((row for row in rows if row["position"] == position), key=lambda row: row["epoch"])
        low = min(row["edges"][0] for row in layer)
        high = max(row["edges"][-1] for row in layer)
        grid = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        shares = np.array([rebin(row["edges"], row["counts"], grid) / sum(row["counts"]) for row in layer])
        figure.add_trace(go.Heatmap(
            x=[row["epoch"] for row in layer], y=(grid[:-1] + grid[1:]) / 2, z=shares.T, coloraxis="coloraxis",
            hovertemplate="epoch %{x}<br>weight ≈ %{y:.3f}<br>%{z:.1%} of the weights<extra></extra>",
        ), **_cell(index))
    figure.update_xaxes(title_text="epoch", dtick=1)
    figure.update_yaxes(title_text="weight value", col=1)
    return figure.update_layout(coloraxis={"colorscale": "Blues", "colorbar": {"title": "share", "tickformat": ".0%"}})


def compare_norms_figure(rows_by_run: dict[str, Sequence[dict[str, Any]]], metric: str = "weight_norm",
                         series_by_run: dict[str, str] | None = None) -> go.Figure:
    """One norm of several runs overlaid, one chart per layer position, one colour per run.

    ``rows_by_run`` maps a run label to its stored rows; ``series_by_run`` picks the series of
    each (its first when missing). Runs without statistics are left out.

    Example:
        >>> compare_norms_figure({"a": []}).layout.annotations[0].text
        'none of these runs has layer statistics'
    """
    if metric not in ("weight_norm", "gradient_norm"):
        raise ValueError(f"metric must be 'weight_norm' or 'gradient_norm', got {metric!r}")
    frames = {label: norms_frame(rows, (series_by_run or {}).get(label)) for label, rows in rows_by_run.items()}
    frames = {label: frame for label, frame in frames.items() if not frame.empty}
    if not frames:
        return message_figure("none of these runs has layer statistics", height=260)
    positions = sorted({position for frame in frames.values() for position in frame["position"]})
    figure = _layer_grid({position: f"layer {position + 1}" for position in positions})
    for run_index, (label, frame) in enumerate(frames.items()):
        for index, position in enumerate(positions):
            layer = frame[frame["position"] == position].sort_values("epoch")
            if layer.empty:
                continue
            figure.add_trace(go.Scatter(
                x=layer["epoch"], y=layer[metric], mode="lines+markers", name=label, legendgroup=label,
                showlegend=index == 0, line={"color": series_colour(run_index)},
                hovertemplate=f"{label} · {layer['layer'].iloc[-1]}<br>epoch %{{x}}<br>%{{y:.4g}}<extra></extra>",
            ), **_cell(index))
    figure.update_xaxes(title_text="epoch (0 = before training)")
    if metric == "gradient_norm":
        figure.update_yaxes(type="log")
    return figure
