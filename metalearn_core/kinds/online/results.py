"""An online run's results: ``online.json`` read back, its table, and the prequential-accuracy chart.

The chart is the same while the run streams (its points come from the run store) and once it has
finished (from ``online.json``): one line per learner, the running (prequential) accuracy solid and
the accuracy over the last ``window`` examples dotted, the drift point marked.

Example:
    >>> rows = [{"series": "sgd", "epoch": 1, "name": "prequential_accuracy", "value": 0.5},
    ...         {"series": "sgd", "epoch": 1, "name": "examples", "value": 50.0}]
    >>> curves_from_metrics(rows)["sgd"]["examples"]
    [50.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metalearn_core.kinds.online.config import LEARNER_LABELS
from metalearn_core.runs.run_files import DamagedFile, check_shape, damaged_metric_row, read_run_json

RESULTS_FILE = "online.json"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def read_results(folder: Path) -> dict[str, Any] | None:
    """The run's ``online.json``, or None when it is missing (a run that did not finish); DamagedFile
    (naming the run and the file) when it is unreadable or lacks the learners' curves and scores."""
    results = read_run_json(folder, RESULTS_FILE, {"learners": dict, "stream": dict, "window": int,
                                                   "drift_at": (int, type(None))})
    if results is None:
        return None
    point = {metric: (float, type(None)) for metric in ("examples", "prequential_accuracy", "window_accuracy")}
    for learner in results["learners"].values():
        if (check_shape(learner, {"points": list, "final": (float, type(None)), "auc": (float, type(None))})
                or any(check_shape(item, point) for item in learner["points"])):
            raise DamagedFile.of(folder, RESULTS_FILE, "its learners' results are not what the run wrote")
    return results


def curves_from_metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """The store's metric rows of an online run as ``{learner: {metric: values in epoch order}}``; rows
    a damaged store holds as text are left out (see :func:`~metalearn_core.runs.run_files.metric_damage`)."""
    by_series: dict[str, dict[int, dict[str, float]]] = {}
    for row in rows:
        if not damaged_metric_row(row):
            by_series.setdefault(row["series"], {}).setdefault(int(row["epoch"]), {})[row["name"]] = row["value"]
    curves = {}
    for series, epochs in by_series.items():
        points = [epochs[epoch] for epoch in sorted(epochs) if "examples" in epochs[epoch]]
        curves[series] = {metric: [point.get(metric) for point in points]
                          for metric in ("examples", "prequential_accuracy", "window_accuracy")}
    return curves


def curves_from_results(results: dict[str, Any]) -> dict[str, dict[str, list[float]]]:
    """The finished run's curves, shaped as :func:`curves_from_metrics`."""
    return {name: {metric: [point[metric] for point in learner["points"]]
                   for metric in ("examples", "prequential_accuracy", "window_accuracy")}
            for name, learner in results["learners"].items()}


def results_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per learner: final and area-under-curve prequential accuracy, before / after the
    drift when the stream has one, and its speed."""
    rows = []
    for name, learner in results["learners"].items():
        row = {"learner": learner.get("label", name), "final": learner["final"], "auc": learner["auc"],
               f"last {results.get('window', 0)}": learner.get("final_window")}
        if results.get("drift_at") is not None:
            row.update(before_drift=learner.get("before_drift"), after_drift=learner.get("after_drift"))
        row["examples_per_second"] = learner.get("examples_per_second")
        rows.append(row)
    return rows


def prequential_figure(curves: dict[str, dict[str, list[float]]], length: int, drift_at: int | None = None,
                       max_angle: float = 0.0, title: str = ""):
    """The prequential accuracy of every learner against examples seen, on one chart.

    Args:
        curves: ``{learner: {"examples", "prequential_accuracy", "window_accuracy": [...]}}``.
        length: the stream's length (the x range, so a live chart does not jump).
        drift_at: a sudden drift's first example, drawn as a vertical line.
        max_angle: the final angle of a rotating stream: the angles are marked along the top.
    """
    import plotly.graph_objects as go  # heavy: plotly

    figure = go.Figure()
    for index, (name, curve) in enumerate(curves.items()):
        colour, label = COLOURS[index % len(COLOURS)], LEARNER_LABELS.get(name, name)
        figure.add_trace(go.Scatter(x=curve["examples"], y=curve["prequential_accuracy"], name=label,
                                    mode="lines", line={"color": colour, "width": 2.5}, legendgroup=name))
        figure.add_trace(go.Scatter(x=curve["examples"], y=curve["window_accuracy"], name=f"{label} · recent",
                                    mode="lines", line={"color": colour, "width": 1, "dash": "dot"},
                                    legendgroup=name, opacity=0.7))
    if drift_at is not None:
        figure.add_vline(x=drift_at, line={"color": "black", "dash": "dash"},
                         annotation_text="drift: Fashion-MNIST from here", annotation_position="top left")
    if max_angle:
        for quarter in (1, 2, 3, 4):
            x = (length - 1) * quarter / 4
            figure.add_vline(x=x, line={"color": "grey", "width": 1, "dash": "dot"},
                             annotation_text=f"{max_angle * quarter / 4:.0f}°", annotation_position="top")
    if not curves:
        figure.add_annotation(text="no points yet: the curves appear after the first examples",
                              showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_layout(title=title or None, height=420, margin={"t": 50, "b": 40, "l": 50, "r": 20},
                         legend={"orientation": "h", "y": -0.18}, hovermode="x unified")
    figure.update_xaxes(title="examples seen", range=[0, length])
    figure.update_yaxes(title="accuracy", range=[0, 1.02], tickformat=".0%")
    return figure


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows of equal keys as a markdown table, fractions as percentages.

    Example:
        >>> print(markdown_table([{"learner": "sgd", "final": 0.5}]))
        | learner | final |
        | --- | --- |
        | sgd | 50.0% |
    """
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.1%}" if 0.0 <= value <= 1.0 else f"{value:,.0f}"
        return "" if value is None else str(value)

    keys = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    lines += ["| " + " | ".join(cell(row.get(key)) for key in keys) + " |" for row in rows]
    return "\n".join(lines)
