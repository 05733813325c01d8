"""Plotly figures for the dashboard: live and compared learning curves, confusion matrices, seed
bands, a parallel-coordinates view of settings and a probability bar chart.

Every function returns a ``plotly.graph_objects.Figure`` in the shared style
(:mod:`metalearn_core.style`) with titles, axis labels and hover text; none of them imports
streamlit or TensorFlow. Frames are the long metric frames of
:func:`metalearn_core.analysis.metrics_frame`.

Example:
    >>> probabilities_figure([0.1] * 9 + [0.9]).data[0].marker.color[-1] == HIGHLIGHT
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from metalearn_core.analysis import confusion_difference, digit_classifier_kinds, ema, normalize_confusion
from metalearn_core.style import DIVERGING, HIGHLIGHT, PLAIN, TEMPLATE, message_figure, rgba, series_colour

RAW_OPACITY = 0.25  # TensorBoard draws the unsmoothed curve faintly behind the smoothed one
PARALLEL_DIMENSIONS = (
    ("kind", "kind"), ("epochs", "epochs"), ("batch_size", "batch size"),
    ("learning_rate", "learning rate (log)"), ("validation_split", "validation split"), ("seed", "seed"),
    ("base_layers", "base layers"), ("dense_units", "dense units"), ("test_accuracy", "test accuracy"),
)


def _pretty(metric: str) -> str:
    return metric.replace("val_", "validation ").replace("_", " ")


def _markers(count: int) -> str:
    # Markers show single points (a random forest's one accuracy) and short runs; long curves
    # read better as plain lines.
    return "lines+markers" if count <= 30 else "lines"


# -- learning curves --------------------------------------------------------------------------
def live_curves_figure(frame: pd.DataFrame, series: str | None = None,
                       points: list[dict[str, Any]] | None = None, x_title: str = "epoch") -> go.Figure:
    """Loss and accuracy against epoch, side by side, for one run's metric frame.

    Training curves are solid, validation curves dashed, each series (``train``, ``base 1
    (network)``, ``meta``…) in its own colour. ``series`` keeps only that series. ``points`` (the
    rows of ``RunStore.points``) add the running in-epoch values as a thin line, so the chart
    moves during the first epoch already (their x is in epochs: 0.5 is halfway through epoch 1).

    Example:
        >>> live_curves_figure(pd.DataFrame(columns=["run_id", "series", "epoch", "metric", "value"])).layout.annotations[0].text
        'no metrics yet: the curves appear with the first batches'
    """
    if frame["run_id"].nunique() > 1:
        raise ValueError(f"live_curves_figure draws one run, got runs {sorted(frame['run_id'].unique())}; "
                         "use compare_curves_figure for several")
    points = [point for point in points or [] if series is None or point.get("series") == series]
    if series is not None:
        frame = frame[frame["series"] == series]
    names = list(dict.fromkeys([*frame["series"], *(point.get("series", "train") for point in points)]))
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.1)
    shown: set[str] = set()
    for index, name in enumerate(names):
        colour = series_colour(index)
        rows = frame[frame["series"] == name]
        own_points = sorted((p for p in points if p.get("series", "train") == name), key=lambda p: p["x"])
        for column, metric in enumerate(("loss", "accuracy"), start=1):
            running = [(p["x"], p.get(metric)) for p in own_points if p.get(metric) is not None]
            if running:
                legend = f"{name} · running (within epoch)"
                figure.add_trace(go.Scatter(
                    x=[x for x, _ in running], y=[y for _, y in running], mode="lines", name=legend,
                    legendgroup=legend, showlegend=legend not in shown, opacity=0.45,
                    line={"color": colour, "width": 1},
                    hovertemplate=f"{name} · running<br>epoch %{{x:.2f}}<br>{metric} %{{y:.4f}}<extra></extra>",
                ), row=1, col=column)
                shown.add(legend)
            for prefix, dash, part in (("", "solid", "training"), ("val_", "dash", "validation")):
                data = rows[rows["metric"] == prefix + metric].sort_values("epoch")
                if data.empty:
                    continue
                legend = f"{name} · {part}"
                figure.add_trace(go.Scatter(
                    x=data["epoch"], y=data["value"], mode=_markers(len(data)), name=legend,
                    legendgroup=legend, showlegend=legend not in shown,
                    line={"color": colour, "dash": dash}, marker={"size": 6},
                    hovertemplate=f"{legend}<br>{x_title} %{{x}}<br>{metric} %{{y:.4f}}<extra></extra>",
                ), row=1, col=column)
                shown.add(legend)
    if not figure.data:
        return message_figure("no metrics yet: the curves appear with the first batches")
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(title_text="loss", row=1, col=1)
    figure.update_yaxes(title_text="accuracy", row=1, col=2)
    figure.update_layout(template=TEMPLATE, height=380, hovermode="closest",
                         legend={"orientation": "h", "y": -0.2},
                         title="Learning curves (solid: training, dashed: validation)")
    return figure


def _curve_labels(frame: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Legend labels per (run, series): the run name, plus the series when a run has several and
    the id when two runs share a name."""
    pairs = list(dict.fromkeys(zip(frame["run_id"], frame["series"])))
    names = dict(zip(frame["run_id"], frame["run"]))
    series_per_run = pd.Series([run_id for run_id, _ in pairs]).value_counts()
    runs_per_name = pd.Series(list(names.values())).value_counts()
    labels = {}
    for run_id, series in pairs:
        label = str(names[run_id])
        if runs_per_name[names[run_id]] > 1:
            label += f" (#{run_id})"
        if series_per_run[run_id] > 1:
            label += f" · {series}"
        labels[(run_id, series)] = label
    return labels


def compare_curves_figure(frame: pd.DataFrame, metric: str, smoothing: float = 0.0, x: str = "epoch",
                          series: str | None = None) -> go.Figure:
    """One metric of several runs overlaid: training solid, ``val_<metric>`` dashed, one colour
    per run (per run and series when a stacked run has several; ``series`` keeps one).

    ``smoothing`` is the weight of :func:`~metalearn_core.analysis.ema`; above 0 the raw values
    stay faintly behind the smoothed ones, as in TensorBoard. ``x`` is ``"epoch"`` or
    ``"elapsed"`` (wall-clock seconds since the run's first batch; rows without it are left out).

    Example:
        >>> compare_curves_figure(pd.DataFrame(columns=["run_id", "run", "series", "epoch", "metric", "value", "elapsed"]),
        ...                       "loss").layout.annotations[0].text
        'no loss values to compare yet'
    """
    if x not in ("epoch", "elapsed"):
        raise ValueError(f"x must be 'epoch' or 'elapsed', got {x!r}")
    if metric.startswith("val_"):
        raise ValueError(f"pass the training metric ({metric[4:]!r}); its validation curve is drawn dashed")
    ema([], smoothing)  # checks the weight before any drawing
    if series is not None:
        frame = frame[frame["series"] == series]
    frame = frame[frame["metric"].isin([metric, f"val_{metric}"])]
    if x == "elapsed":
        frame = frame.dropna(subset=["elapsed"])
    if frame.empty:
        return message_figure(f"no {_pretty(metric)} values to compare yet")
    x_title = "epoch" if x == "epoch" else "wall-clock time (s since the first batch)"
    figure = go.Figure()
    for index, ((run_id, name), label) in enumerate(_curve_labels(frame).items()):
        colour = series_colour(index)
        rows = frame[(frame["run_id"] == run_id) & (frame["series"] == name)]
        for prefix, dash, part in (("", "solid", "training"), ("val_", "dash", "validation")):
            data = rows[rows["metric"] == prefix + metric].sort_values(x)
            if data.empty:
                continue
            xs, raw = data[x].to_numpy(), data["value"].to_numpy(dtype=float)
            legend = f"{label} · {part}"
            hover = f"{legend}<br>{x} %{{x:.4g}}<br>{metric} %{{y:.4f}}"
            if smoothing > 0:
                figure.add_trace(go.Scatter(
                    x=xs, y=raw, mode=_markers(len(xs)), name=f"{legend} (raw)", legendgroup=label,
                    showlegend=False, opacity=RAW_OPACITY, line={"color": colour, "dash": dash},
                    marker={"size": 4}, hovertemplate=hover + " (raw)<extra></extra>",
                ))
                figure.add_trace(go.Scatter(
                    x=xs, y=ema(raw, smoothing), mode="lines", name=legend, legendgroup=label,
                    line={"color": colour, "dash": dash, "width": 2}, customdata=raw,
                    hovertemplate=hover + " smoothed (raw %{customdata:.4f})<extra></extra>",
                ))
            else:
                figure.add_trace(go.Scatter(
                    x=xs, y=raw, mode=_markers(len(xs)), name=legend, legendgroup=label,
                    line={"color": colour, "dash": dash}, marker={"size": 6},
                    hovertemplate=hover + "<extra></extra>",
                ))
    smoothing_note = f", smoothed (weight {smoothing:g})" if smoothing > 0 else ""
    figure.update_layout(
        template=TEMPLATE, height=420, hovermode="closest",
        title=f"{_pretty(metric).capitalize()} by run (solid: training, dashed: validation{smoothing_note})",
        xaxis_title=x_title, yaxis_title=_pretty(metric),
    )
    return figure


# -- confusion matrices -----------------------------------------------------------------------
def _matrix_layout(figure: go.Figure, size: int, title: str) -> go.Figure:
    labels = [str(k) for k in range(size)]
    # Categories keep every digit labelled; reversed puts digit 0 at the top like a printed table.
    figure.update_xaxes(title_text="predicted digit", type="category", categoryarray=labels, side="bottom")
    figure.update_yaxes(title_text="true digit", type="category", categoryarray=labels, autorange="reversed",
                        scaleanchor="x", constrain="domain")
    figure.update_layout(template=TEMPLATE, title=title or None, height=520)
    return figure


def confusion_figure(confusion: Sequence[Sequence[int]] | np.ndarray, normalize: bool = False,
                     title: str = "") -> go.Figure:
    """Heatmap of a confusion matrix: rows are the true digit (0 at the top), columns the
    predicted digit, each cell annotated with its count or, with ``normalize``, its share of the
    row (recall per digit; empty rows stay 0).

    Example:
        >>> confusion_figure([[3, 1], [0, 4]], normalize=True).data[0].z[0].tolist()
        [0.75, 0.25]
    """
    counts = np.asarray(confusion)
    fractions = normalize_confusion(counts)  # also rejects a table that is not square
    z = fractions if normalize else counts
    labels = [str(k) for k in range(len(z))]
    text = [[f"{value:.2f}" if normalize else f"{int(value)}" for value in row] for row in z]
    what = "share of the true digit" if normalize else "count"
    figure = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, text=text, texttemplate="%{text}", colorscale="Blues",
        zmin=0, zmax=1 if normalize else None, colorbar={"title": {"text": what}},
        hovertemplate=f"true %{{y}}, predicted %{{x}}<br>{what}: %{{text}}<extra></extra>",
    ))
    return _matrix_layout(figure, len(z), title)


def confusion_diff_figure(a: Sequence[Sequence[int]], b: Sequence[Sequence[int]], name_a: str,
                          name_b: str) -> go.Figure:
    """Heatmap of ``a - b`` on a diverging colour scale centred on 0 (white: no difference).

    Positive on the diagonal means A is right more often for that digit; positive off it means
    A makes that particular mistake more often.

    Example:
        >>> confusion_diff_figure([[2, 0], [0, 2]], [[1, 1], [0, 2]], "A", "B").data[0].zmid
        0
    """
    difference = confusion_difference(a, b)
    labels = [str(k) for k in range(len(difference))]
    text = [[f"{value:+d}" if value else "0" for value in row] for row in difference.tolist()]
    figure = go.Figure(go.Heatmap(
        z=difference, x=labels, y=labels, text=text, texttemplate="%{text}", colorscale=DIVERGING, zmid=0,
        colorbar={"title": {"text": f"{name_a} − {name_b}"}},
        hovertemplate=(f"true %{{y}}, predicted %{{x}}<br>{name_a} − {name_b}: %{{text}}<extra></extra>"),
    ))
    title = (f"{name_a} − {name_b}: positive on the diagonal: {name_a} is right more often"
             f"<br><sup>positive off the diagonal: {name_a} makes that mistake more often</sup>")
    return _matrix_layout(figure, len(difference), title)


# -- groups and settings ----------------------------------------------------------------------
def group_band_figure(curves: dict[str, pd.DataFrame], metric_label: str) -> go.Figure:
    """Per group of runs (:func:`~metalearn_core.analysis.group_curve` frames), the mean line
    with a band of ±1 standard deviation (no band where only one run has a value).

    Example:
        >>> curve = pd.DataFrame({"epoch": [1, 2], "mean": [0.5, 0.6], "std": [0.1, 0.1], "count": [3, 3]})
        >>> len(group_band_figure({"g": curve}, "accuracy").data)
        2
    """
    figure = go.Figure()
    for index, (label, curve) in enumerate(item for item in curves.items() if not item[1].empty):
        colour = series_colour(index)
        curve = curve.sort_values("epoch")
        epochs, mean = curve["epoch"].tolist(), curve["mean"].to_numpy(dtype=float)
        spread = np.nan_to_num(curve["std"].to_numpy(dtype=float))  # one run: a line without a band
        figure.add_trace(go.Scatter(
            x=epochs + epochs[::-1], y=np.concatenate([mean + spread, (mean - spread)[::-1]]),
            fill="toself", fillcolor=rgba(colour, 0.2), line={"width": 0}, mode="lines",
            name=f"{label} ± 1 std", legendgroup=label, showlegend=False, hoverinfo="skip",
        ))
        figure.add_trace(go.Scatter(
            x=epochs, y=mean, mode=_markers(len(epochs)), name=label, legendgroup=label,
            line={"color": colour}, customdata=np.column_stack([curve["std"], curve["count"]]),
            hovertemplate=(f"{label}<br>epoch %{{x}}<br>mean %{{y:.4f}} ± %{{customdata[0]:.4f}}"
                           " (%{customdata[1]} runs)<extra></extra>"),
        ))
    if not figure.data:
        return message_figure("no groups with values to show yet")
    figure.update_layout(template=TEMPLATE, height=420, title=f"{metric_label}: mean ± 1 std across seeds",
                         xaxis_title="epoch", yaxis_title=metric_label, hovermode="closest")
    return figure


def _dimension(frame: pd.DataFrame, column: str, label: str) -> dict[str, Any]:
    values = frame[column].to_numpy(dtype=float)
    dimension: dict[str, Any] = {"label": label, "values": values}
    if column == "kind":
        kinds = digit_classifier_kinds()  # base, stacked: see analysis.parallel_frame
        dimension.update(tickvals=list(range(len(kinds))), ticktext=list(kinds), range=[0, len(kinds) - 1])
        return dimension
    if column == "learning_rate":
        # Parcoords has no log axis; learning rates span decades, so plot log10 and label the ticks.
        dimension["values"] = np.log10(values)
        distinct = np.unique(values)
        dimension.update(tickvals=np.log10(distinct).tolist(), ticktext=[f"{value:g}" for value in distinct])
        values = dimension["values"]
    low, high = float(np.min(values)), float(np.max(values))
    if low == high:  # a constant axis would have zero height; centre its single value
        pad = abs(low) * 0.1 or 1.0
        dimension["range"] = [low - pad, high + pad]
    return dimension


def parallel_coordinates_figure(frame: pd.DataFrame) -> go.Figure:
    """Settings of completed runs (:func:`~metalearn_core.analysis.parallel_frame`) as parallel
    axes, one line per run coloured by test accuracy.

    Example:
        >>> parallel_coordinates_figure(pd.DataFrame()).layout.annotations[0].text
        'no completed runs yet'
    """
    if frame.empty:
        return message_figure("no completed runs yet", "Settings against test accuracy")
    if "test_accuracy" not in frame:
        raise ValueError("parallel_coordinates_figure needs a test_accuracy column (see parallel_frame)")
    dimensions = [_dimension(frame, column, label) for column, label in PARALLEL_DIMENSIONS if column in frame]
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": frame["test_accuracy"].to_numpy(dtype=float), "colorscale": "Viridis",
              "showscale": True, "colorbar": {"title": {"text": "test accuracy"}}},
    ))
    figure.update_layout(template=TEMPLATE, height=460, margin={"l": 60, "r": 60, "t": 90},
                         title="Settings against test accuracy (one line per completed run; drag an axis to filter)")
    return figure


def probabilities_figure(probabilities: Sequence[float], title: str = "") -> go.Figure:
    """Bar chart of the predicted probability of each digit, the most likely one highlighted.

    Example:
        >>> probabilities_figure([0.2, 0.8]).layout.yaxis.range
        (0, 1)
    """
    values = np.asarray(probabilities, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"probabilities must be a non-empty list of finite numbers, got shape {values.shape}")
    best = int(np.argmax(values))
    figure = go.Figure(go.Bar(
        x=list(range(len(values))), y=values, marker={"color": [HIGHLIGHT if k == best else PLAIN
                                                                for k in range(len(values))]},
        text=[f"{value:.0%}" for value in values], textposition="outside", cliponaxis=False,
        hovertemplate="digit %{x}: %{y:.3f}<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, height=320, title=title or f"Most likely digit: {best} ({values[best]:.1%})",
        xaxis={"title": "digit", "tickmode": "linear", "dtick": 1}, yaxis={"title": "probability", "range": [0, 1]},
    )
    return figure


def probabilities_bars_html(probabilities: Sequence[float], labels: Sequence[object] | None = None) -> str:
    """The probabilities as a small HTML bar chart, the most likely digit highlighted.

    Bars are labelled 0, 1, 2... unless ``labels`` names them (e.g. the digits a few-shot learner
    was taught).

    A plain-HTML chart appears with the text around it; a plotly chart costs the browser a few
    hundred milliseconds to draw, too slow for a prediction that should follow the pen.

    Example:
        >>> probabilities_bars_html([0.1, 0.9]).count("<div class='bar'")
        2
    """
    values = np.asarray(probabilities, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"probabilities must be a non-empty list of finite numbers, got shape {values.shape}")
    best = int(np.argmax(values))
    names = list(range(values.size)) if labels is None else list(labels)
    if len(names) != values.size:
        raise ValueError(f"{len(names)} labels for {values.size} probabilities")
    bars = "".join(
        f"<div class='bar' title='digit {names[digit]}: {value:.3f}' style='display:flex;flex-direction:column;"
        f"align-items:center;justify-content:flex-end;height:100%;flex:1'>"
        f"<span style='font-size:0.75em'>{value:.0%}</span>"
        f"<div style='width:70%;height:{max(value, 0.005) * 100:.1f}%;"
        f"background:{HIGHLIGHT if digit == best else PLAIN};border-radius:2px'></div>"
        f"<span style='font-weight:{700 if digit == best else 400}'>{names[digit]}</span></div>"
        for digit, value in enumerate(values)
    )
    return (f"<div role='img' aria-label='probability of each digit' "
            f"style='display:flex;gap:4px;height:180px;align-items:flex-end'>{bars}</div>")
