"""A finished learned-optimizer run's results (``learned_optimizer.json``) read back, with their
table and figures.

The comparison the paper draws (Andrychowicz et al. 2016, figure 4): the base network's training
loss after each step under each optimizer, averaged over held-out initialisations, on a log scale.

Example:
    >>> results = read_results(run.folder)  # doctest: +SKIP
    >>> optimizer_table(results)["optimizer"].tolist()  # doctest: +SKIP
    ['learned (LSTM)', 'adam', 'rmsprop', 'momentum', 'sgd']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from metalearn_core.runs.run_files import DamagedFile, check_shape, read_run_json
from metalearn_core.style import TEMPLATE, rgba, series_colour

RESULTS_FILE = "learned_optimizer.json"  # written by metalearn_core.kinds.learned_optimizer.run
LABELS = {"learned": "learned optimizer", "sgd": "SGD", "momentum": "momentum", "rmsprop": "RMSprop",
          "adam": "Adam"}


def read_results(folder: Path) -> dict[str, Any] | None:
    """A finished run's ``learned_optimizer.json``, or None when missing; DamagedFile (naming the run
    and the file) when it is unreadable or lacks the evaluation the pages show."""
    results = read_run_json(folder, RESULTS_FILE, {"evaluation": dict})
    if results is None:
        return None
    evaluation, curve = results["evaluation"], {"final_loss_mean": (float, type(None)), "loss_curves": list}
    if (check_shape(evaluation, {"optimizers": dict, "steps": int}, "evaluation")
            or "learned" not in evaluation["optimizers"]
            or any(check_shape(score, curve) for score in evaluation["optimizers"].values())):
        raise DamagedFile.of(folder, RESULTS_FILE, "its evaluation of the optimizers is not what the run wrote")
    return results


def _ordered(results: dict[str, Any]) -> list[str]:
    names = list(results["evaluation"]["optimizers"])
    return ["learned", *sorted((n for n in names if n != "learned"), key=list(LABELS).index)]


def optimizer_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per optimizer: tuned learning rate, final training loss (mean ± 95%), test accuracy.

    Example:
        >>> score = {"final_loss_mean": 0.2, "final_loss_ci95": 0.01, "test_accuracy_mean": 0.9,
        ...          "test_accuracy_ci95": 0.01, "diverged": 0}
        >>> table = optimizer_table({"evaluation": {"steps": 100, "optimizers": {"learned": score, "adam": score}},
        ...                          "tuning": {"adam": {"learning_rate": 0.02}}})
        >>> table.iloc[1]["learning rate"], table.iloc[0]["final loss (step 100)"]
        ('0.02', '0.2000 ± 0.0100')
    """
    evaluation, tuning = results["evaluation"], results.get("tuning", {})
    steps = evaluation["steps"]
    rows = []
    for name in _ordered(results):
        score = evaluation["optimizers"][name]
        final = score["final_loss_mean"]
        rows.append({
            "optimizer": LABELS.get(name, name),
            "learning rate": "learned" if name == "learned" else f"{tuning.get(name, {}).get('learning_rate', float('nan')):g}",
            f"final loss (step {steps})": "diverged" if final is None else f"{final:.4f} ± {score['final_loss_ci95']:.4f}",
            "test accuracy": f"{100 * score['test_accuracy_mean']:.1f} ± {100 * score['test_accuracy_ci95']:.1f}%",
            "diverged runs": score.get("diverged", 0),
        })
    return pd.DataFrame(rows)


def verdict(results: dict[str, Any]) -> tuple[bool, str]:
    """(learned optimizer beats the best-tuned hand optimizer, one honest sentence with the numbers)."""
    scores = results["evaluation"]["optimizers"]
    steps = results["evaluation"]["steps"]
    hand = [(scores[n]["final_loss_mean"], n) for n in scores if n != "learned" and scores[n]["final_loss_mean"] is not None]
    learned = scores["learned"]["final_loss_mean"]
    if not hand:
        return learned is not None, "every hand-written optimizer diverged"
    best, name = min(hand)
    if learned is None:
        return False, f"the learned optimizer diverged; the best hand-tuned optimizer, {LABELS[name]}, reached {best:.4f}"
    wins = learned < best
    return wins, (f"at step {steps} the learned optimizer's mean training loss is {learned:.4f} against "
                  f"{best:.4f} for the best hand-tuned optimizer ({LABELS[name]}): it "
                  f"{'wins' if wins else 'loses'} by {abs(best - learned) / best:.0%}")


def loss_curves_figure(results: dict[str, Any], title: str = "") -> go.Figure:
    """Mean training loss per step for each optimizer, with a band from the 10th to the 90th
    percentile across initialisations; log scale, as in the paper's figure 4."""
    figure = go.Figure()
    for index, name in enumerate(_ordered(results)):
        curves = np.array([[np.nan if v is None else v for v in curve]
                           for curve in results["evaluation"]["optimizers"][name]["loss_curves"]], dtype=float)
        finite = curves[np.all(np.isfinite(curves), axis=1)]  # (inits, steps + 1)
        if not len(finite):
            continue
        steps = np.arange(finite.shape[1])
        colour = series_colour(index)
        low, high = np.percentile(finite, 10, axis=0), np.percentile(finite, 90, axis=0)
        figure.add_trace(go.Scatter(x=np.concatenate([steps, steps[::-1]]), y=np.concatenate([high, low[::-1]]),
                                    fill="toself", fillcolor=rgba(colour, 0.15), line={"width": 0},
                                    hoverinfo="skip", showlegend=False, legendgroup=name))
        figure.add_trace(go.Scatter(x=steps, y=finite.mean(axis=0), mode="lines", name=LABELS.get(name, name),
                                    legendgroup=name, line={"color": colour, "width": 3 if name == "learned" else 2},
                                    hovertemplate=f"{LABELS.get(name, name)}<br>step %{{x}}: %{{y:.4f}}<extra></extra>"))
    inits = len(results["evaluation"].get("init_seeds", []))
    figure.update_layout(template=TEMPLATE, height=420, xaxis_title="training step of the base network",
                         yaxis_title="training loss (log scale)", yaxis_type="log",
                         legend={"orientation": "h", "y": -0.2},
                         title=title or f"Base network's loss under each optimizer: mean of {inits} held-out "
                                        "initialisations, band 10th-90th percentile")
    return figure
