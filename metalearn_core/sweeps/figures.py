"""Plotly figures of a sweep: the objective of each trial with the best so far, the sampled
settings as parallel coordinates, the settings' importances and each trial's objective per step.

They are built from :func:`metalearn_core.sweeps.analysis.trials_frame` and friends (pandas), import
neither streamlit nor TensorFlow, and use the dashboard's ``plotly_white`` template. Pruned trials
are grey everywhere, so a student sees at once which trials the pruner stopped early.

Example:
    >>> frame = pd.DataFrame({"trial": [0, 1], "state": ["complete", "complete"], "objective": [0.8, 0.9]})
    >>> list(best_so_far_figure(frame, "maximize").data[-1].y)
    [0.8, 0.9]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from metalearn_core.style import TEMPLATE, message_figure
from metalearn_core.sweeps.analysis import best_so_far, param_columns
from metalearn_core.sweeps.space import SearchSpace

PRUNED_GREY = "#BDBDBD"
FAILED_RED = "#D62728"
COMPLETE_BLUE = "#636EFA"
RUNNING_ORANGE = "#FFA15A"
BEST_COLOUR = "#00A67E"
STATE_STYLES = {  # state: (colour, marker symbol, legend label)
    "complete": (COMPLETE_BLUE, "circle", "complete"),
    "pruned": (PRUNED_GREY, "square", "pruned (stopped early: its last score)"),
    "failed": (FAILED_RED, "x", "failed"),
}
SENTINEL_SHARE = 0.1  # the grey band at the bottom of the parallel plot's colour scale, for pruned trials


def _setting_name(column: str) -> str:
    """The setting behind a parameter column: ``units_2`` is the second layer's ``units``."""
    head, _, tail = column.rpartition("_")
    return head if head == "units" and tail.isdigit() else column


def _objective_points(frame: pd.DataFrame, state: str, floor: float) -> pd.DataFrame:
    """The trials in ``state`` with a y to plot: their objective, or ``floor`` when they have none."""
    rows = frame[frame["state"] == state].copy()
    rows["y"] = rows["objective"].astype(float).fillna(floor)
    return rows


def best_so_far_figure(frame: pd.DataFrame, direction: str, objective_label: str = "validation accuracy"
                       ) -> go.Figure:
    """Every finished trial's objective as a point (complete in colour, pruned grey, failed as a red
    cross at the bottom when it has no score) and the best complete score so far as a step line.

    Example:
        >>> best_so_far_figure(pd.DataFrame(columns=["trial", "state", "objective"]), "maximize").layout.annotations[0].text
        'no finished trial yet'
    """
    title = f"{objective_label} of each trial, and the best so far"
    finished = frame[frame["state"].isin(list(STATE_STYLES))] if not frame.empty else frame
    if finished.empty:
        return message_figure("no finished trial yet", title)
    known = finished["objective"].dropna().astype(float)
    floor = float(known.min()) if not known.empty else 0.0
    figure = go.Figure()
    for state, (colour, symbol, label) in STATE_STYLES.items():
        rows = _objective_points(finished, state, floor)
        if rows.empty:
            continue
        hover = [f"trial {trial}: {state}" + (f", {value:.4f}" if pd.notna(value) else ", no score")
                 + (f"<br>{outcome}" if outcome else "")
                 for trial, value, outcome in zip(rows["trial"], rows["objective"], rows.get("outcome", [""] * len(rows)))]
        figure.add_trace(go.Scatter(x=rows["trial"], y=rows["y"], mode="markers", name=label, text=hover,
                                    hoverinfo="text", marker={"color": colour, "symbol": symbol, "size": 10}))
    best = best_so_far(frame, direction)
    if not best.empty:
        figure.add_trace(go.Scatter(x=best["trial"], y=best["best"].astype(float), mode="lines", name="best so far",
                                    line={"color": BEST_COLOUR, "width": 3, "shape": "hv"}))
    figure.update_layout(template=TEMPLATE, height=380, title=title, xaxis_title="trial number",
                         yaxis_title=objective_label, hovermode="closest",
                         legend={"orientation": "h", "y": -0.25})
    figure.update_xaxes(dtick=1 if len(finished) <= 20 else None)
    return figure


def _log_axis(values: np.ndarray) -> dict[str, Any]:
    """Parcoords has no log scale: plot log10 and label the ticks with the values themselves."""
    distinct = np.unique(values[np.isfinite(values)])
    shown = distinct if len(distinct) <= 8 else distinct[np.linspace(0, len(distinct) - 1, 8).round().astype(int)]
    return {"values": np.log10(values), "tickvals": np.log10(shown).tolist(),
            "ticktext": [f"{value:.3g}" for value in shown]}


def _categorical_axis(values: pd.Series, order: Sequence[Any]) -> dict[str, Any]:
    """Choices as integer codes 0, 1, ... in the space's order, labelled with their names."""
    present = [choice for choice in order if choice in set(values)]
    present += sorted(set(values) - set(present), key=str)  # values the space no longer lists
    codes = {choice: index for index, choice in enumerate(present)}
    return {"values": np.array([codes[value] for value in values], dtype=float),
            "tickvals": list(range(len(present))), "ticktext": [str(choice) for choice in present],
            "range": [-0.25, len(present) - 0.75] if len(present) > 1 else [-1, 1]}


def _with_missing(axis: dict[str, Any]) -> dict[str, Any]:
    """A trial without this setting (a layer it did not have) sits on a tick "none" below the others."""
    values = np.asarray(axis["values"], dtype=float)
    missing = ~np.isfinite(values)
    if not missing.any():
        return axis
    known = values[~missing]
    low, high = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
    below = low - max(high - low, 1.0) * 0.25
    values = np.where(missing, below, values)
    ticks = list(axis.get("tickvals") or [low, high])
    texts = list(axis.get("ticktext") or [f"{low:.3g}", f"{high:.3g}"])
    return {**axis, "values": values, "tickvals": [below, *ticks], "ticktext": ["none", *texts],
            "range": [below, axis["range"][1] if "range" in axis else high]}


def _padded(axis: dict[str, Any]) -> dict[str, Any]:
    """A constant axis would have no height: centre its single value."""
    values = np.asarray(axis["values"], dtype=float)
    if "range" in axis or not values.size or values.min() != values.max():
        return axis
    pad = abs(float(values[0])) * 0.1 or 1.0
    return {**axis, "range": [float(values[0]) - pad, float(values[0]) + pad]}


def _setting_axis(frame: pd.DataFrame, column: str, space: SearchSpace | None) -> dict[str, Any]:
    name = _setting_name(column)
    dimension = space.get(name) if space is not None else None
    values = frame[column]
    label = column.replace("_", " ")
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        order = dimension.choices if dimension is not None else sorted(set(values.dropna()), key=str)
        filled = values.fillna("none")
        return {"label": label, **_categorical_axis(filled, [*order, "none"])}
    numbers = values.to_numpy(dtype=float)
    if dimension is not None and dimension.log and (numbers[np.isfinite(numbers)] > 0).all():
        axis = {"label": f"{label} (log)", **_log_axis(numbers)}
    else:
        axis = {"label": label, "values": numbers}
    return _padded(_with_missing(axis))


def _grey_bottom_colorscale(share: float, reverse: bool) -> list[list[Any]]:
    """Grey below ``share`` (pruned trials sit there), then Viridis (reversed when lower is better)."""
    viridis = plotly.colors.sequential.Viridis
    colours = list(reversed(viridis)) if reverse else list(viridis)
    scale: list[list[Any]] = [[0.0, PRUNED_GREY], [share * 0.999, PRUNED_GREY]]
    for index, colour in enumerate(colours):
        scale.append([round(share + (1 - share) * index / (len(colours) - 1), 6), colour])
    scale[-1][0] = 1.0  # plotly.js ignores a scale (and falls back to its default) unless it ends at exactly 1
    return scale


def parallel_figure(frame: pd.DataFrame, direction: str = "maximize", objective_label: str = "validation accuracy",
                    space: SearchSpace | None = None) -> go.Figure:
    """One vertical axis per sampled setting and one for the objective, one line per complete or
    pruned trial; complete trials coloured by their objective (brighter is better), pruned ones grey.
    Choices are integer-coded axes labelled with their names; log-scale ranges (``space``) are
    plotted as log10 with the values as ticks.

    Example:
        >>> parallel_figure(pd.DataFrame(columns=["trial", "state", "objective"])).layout.annotations[0].text
        'no complete or pruned trial yet'
    """
    title = f"Settings against {objective_label} (one line per trial; drag along an axis to filter)"
    rows = frame[frame["state"].isin(("complete", "pruned")) & frame["objective"].notna()] if not frame.empty \
        else frame
    if rows.empty:
        return message_figure("no complete or pruned trial yet", title)
    rows = rows.reset_index(drop=True)
    dimensions = [_setting_axis(rows, column, space) for column in param_columns(rows)]
    objective = rows["objective"].to_numpy(dtype=float)
    dimensions.append(_padded({"label": objective_label, "values": objective}))
    complete = (rows["state"] == "complete").to_numpy()
    scored = objective[complete] if complete.any() else objective
    low, high = float(scored.min()), float(scored.max())
    spread = (high - low) or max(abs(high) * 0.1, 1e-3)
    sentinel = low - spread * SENTINEL_SHARE / (1 - SENTINEL_SHARE)
    colour = np.where(complete, objective, sentinel)
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": colour, "cmin": sentinel, "cmax": low + spread if high == low else high,
              "colorscale": _grey_bottom_colorscale(SENTINEL_SHARE, reverse=direction == "minimize"),
              "showscale": True, "colorbar": {"title": {"text": objective_label}}},
    ))
    figure.update_layout(template=TEMPLATE, height=460, margin={"l": 70, "r": 70, "t": 90}, title=title)
    return figure


def importances_figure(importances: Mapping[str, float]) -> go.Figure:
    """Each setting's share of the objective's variance (fANOVA) as horizontal bars, largest on top.

    Example:
        >>> list(importances_figure({"learning_rate": 0.7, "units_1": 0.3}).data[0].y)
        ['units_1', 'learning_rate']
    """
    title = "Importance of each setting (fANOVA)"
    if not importances:
        return message_figure("no importances yet", title)
    ordered = sorted(importances.items(), key=lambda item: item[1])  # plotly draws the first bar at the bottom
    names, shares = [name for name, _ in ordered], [float(share) for _, share in ordered]
    figure = go.Figure(go.Bar(x=shares, y=names, orientation="h", marker={"color": COMPLETE_BLUE},
                              text=[f"{100 * share:.0f}%" for share in shares], textposition="auto"))
    figure.update_layout(template=TEMPLATE, height=150 + 36 * len(names), title=title,
                         margin={"t": 60, "b": 50}, yaxis={"type": "category", "automargin": True},
                         xaxis={"title": "share of the objective's variance", "tickformat": ".0%",
                                "range": [0, max(1.0, max(shares))]})
    return figure


def trial_curves_figure(curves: Mapping[int, Sequence[tuple[int, float]]], states: Mapping[int, str],
                        objective_label: str = "validation accuracy", x_title: str = "epoch") -> go.Figure:
    """Each trial's objective as it reported it, step by step: complete trials in colour, pruned
    ones grey and dashed, ending in a cross where the pruner stopped them.

    Example:
        >>> figure = trial_curves_figure({0: [(1, 0.5), (2, 0.7)], 1: [(1, 0.3)]}, {0: "complete", 1: "pruned"})
        >>> figure.data[1].line.color == PRUNED_GREY
        True
    """
    title = f"{objective_label} of each trial per {x_title}"
    drawn = {trial: curve for trial, curve in curves.items() if curve}
    if not drawn:
        return message_figure("no trial has reported a score yet", title)
    figure = go.Figure()
    colours = plotly.colors.qualitative.Plotly
    for index, (trial, curve) in enumerate(sorted(drawn.items())):
        state = states.get(trial, "running")
        steps, values = zip(*curve)
        pruned = state == "pruned"
        colour = PRUNED_GREY if pruned else FAILED_RED if state == "failed" else colours[index % len(colours)]
        symbols = ["circle"] * (len(steps) - 1) + ["x" if pruned else "circle"]
        figure.add_trace(go.Scatter(
            x=list(steps), y=list(values), mode="lines+markers", name=f"trial {trial} ({state})",
            line={"color": colour, "dash": "dash" if pruned else "solid"},
            marker={"symbol": symbols, "size": [6] * (len(steps) - 1) + [11 if pruned else 6]}))
    figure.update_layout(template=TEMPLATE, height=380, title=title, xaxis_title=x_title,
                         yaxis_title=objective_label, hovermode="closest")
    if max(len(curve) for curve in drawn.values()) <= 20:
        figure.update_xaxes(dtick=1)
    return figure

