"""A finished transfer run's results: its ``transfer.json``, a table and the learning-curve figure.

No TensorFlow: the Train page draws these while it shows the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from metalearn_core.data.domains import DOMAIN_LABELS
from metalearn_core.kinds.transfer.config import shots_label
from metalearn_core.runs.run_files import DamagedFile, check_shape, read_run_json
from metalearn_core.style import TEMPLATE, rgba, series_colour

RESULTS_FILE = "transfer.json"  # written by metalearn_core.kinds.transfer.run
MODE_LABELS = {"scratch": "from scratch", "frozen": "frozen features + new head", "all": "all layers fine-tuned"}
MODE_SHORT = {"scratch": "scratch", "frozen": "frozen + new head", "all": "all layers"}


def read_results(folder: Path) -> dict[str, Any] | None:
    """The run's ``transfer.json``, or None when it is missing or holds no point (a run that did not
    complete); DamagedFile (naming the run and the file) when it is unreadable or not shaped as the run
    writes it.

    Example:
        >>> read_results(Path("/nowhere")) is None
        True
    """
    results = read_run_json(folder, RESULTS_FILE, {
        "summary": list, "modes": list, "shots": list, "train_samples": float, "test_samples": float,
        "repeats": float, "source_run": float, "source_dataset": str, "target": str})
    if not results or not results["summary"]:
        return None
    row = {"mode": str, "shots": int, "mean": float, "std": float}
    if (any(check_shape(item, row) for item in results["summary"])
            or not all(isinstance(shots, int) for shots in results["shots"])
            or not all(mode in MODE_LABELS for mode in results["modes"])):
        raise DamagedFile.of(folder, RESULTS_FILE, "its learning curve is not what the run wrote")
    return results


def examples_per_class(results: dict[str, Any], shots: int) -> float:
    """Where a point sits on the x axis: its examples per class ("all" is the split's mean per class)."""
    return shots or results["train_samples"] / 10


def curve_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per mode and number of examples: mean, spread (std) and range of the test accuracy."""
    frame = pd.DataFrame(results["summary"])
    frame["per_class"] = [examples_per_class(results, shots) for shots in frame["shots"]]
    return frame


def results_table(results: dict[str, Any]) -> pd.DataFrame:
    """Rows: examples per class; columns: test accuracy (%) of each mode, mean ± std over repeats,
    and what the best transfer mode gains over scratch, in points."""
    frame = curve_frame(results)
    table = pd.DataFrame({"examples per class": [shots_label(k) for k in results["shots"]]})
    for mode in results["modes"]:
        rows = frame[frame["mode"] == mode].set_index("shots").loc[results["shots"]]
        table[MODE_SHORT.get(mode, mode)] = [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in zip(rows["mean"], rows["std"])]
    transfer = [mode for mode in results["modes"] if mode != "scratch"]
    if transfer:
        by = frame.pivot(index="shots", columns="mode", values="mean").loc[results["shots"]]
        table["gain (points)"] = [f"{100 * gain:+.1f}" for gain in by[transfer].max(axis=1) - by["scratch"]]
    return table


def title(results: dict[str, Any]) -> str:
    """``"MNIST digits → Fashion-MNIST clothes (run 3)"``."""
    source = DOMAIN_LABELS.get(results["source_dataset"], results["source_dataset"])
    target = DOMAIN_LABELS.get(results["target"], results["target"])
    return f"{source} → {target} (from run {results['source_run']})"


def learning_curve_figure(results: dict[str, Any]) -> go.Figure:
    """Test accuracy against labelled examples per class (log axis), one line per mode with a band
    of ± one standard deviation over the repeats."""
    frame = curve_frame(results)
    figure = go.Figure()
    for index, mode in enumerate(results["modes"]):
        rows = frame[frame["mode"] == mode].sort_values("per_class")
        x, mean, std = rows["per_class"].tolist(), (100 * rows["mean"]).tolist(), (100 * rows["std"]).tolist()
        colour = series_colour(index)
        figure.add_trace(go.Scatter(x=x + x[::-1], y=[m + s for m, s in zip(mean, std)]
                                    + [m - s for m, s in zip(mean[::-1], std[::-1])],
                                    mode="lines", fill="toself", fillcolor=rgba(colour, 0.15), line={"width": 0},
                                    hoverinfo="skip", showlegend=False))
        figure.add_trace(go.Scatter(x=x, y=mean, mode="lines+markers", name=MODE_LABELS.get(mode, mode),
                                    line={"color": colour},
                                    customdata=[shots_label(k) for k in rows["shots"]],
                                    hovertemplate="%{customdata} per class: %{y:.1f}%<extra>" + mode + "</extra>"))
    figure.update_layout(template=TEMPLATE, title=title(results), height=380, margin={"t": 50, "b": 40},
                         legend={"orientation": "h", "y": -0.2}, yaxis_title="test accuracy (%)",
                         xaxis={"type": "log", "title": "labelled examples per class (log scale)",
                                "tickvals": [examples_per_class(results, k) for k in results["shots"]],
                                "ticktext": [shots_label(k) for k in results["shots"]]})
    return figure
