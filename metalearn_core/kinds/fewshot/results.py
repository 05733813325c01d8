"""A finished few-shot run's results (``fewshot.json``) read back, with their tables, figures and
the episode viewer.

Everything here turns the results dict written by :func:`metalearn_core.kinds.fewshot.run.train_fewshot`
into pandas frames, plotly figures and plain image lists; the Few-shot page only lays them out.

Example:
    >>> results = read_results(run.folder)  # doctest: +SKIP
    >>> results_table(results).columns.tolist()  # doctest: +SKIP
    ['method', '5-way 1-shot', '5-way 5-shot']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from metalearn_core.data import domains
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.fewshot.config import DOMAIN_SHORT
from metalearn_core.kinds.fewshot.episodes import parse_class_id
from metalearn_core.kinds.fewshot.setup import ALGORITHM_LABELS
from metalearn_core.runs.run_files import DamagedFile, check_shape, read_run_json
from metalearn_core.style import TEMPLATE, series_colour

RESULTS_FILE = "fewshot.json"  # written by metalearn_core.kinds.fewshot.run
BASELINE_LABELS = {"pixels": "Nearest centroid on pixels (no training)",
                   "pretrain": "Pre-train then nearest centroid (Chen et al. 2019)"}


def read_results(folder: Path) -> dict[str, Any] | None:
    """A finished few-shot run's ``fewshot.json``, or None when it is missing; DamagedFile (naming the
    run and the file) when it is unreadable or lacks the scores the pages show."""
    results = read_run_json(folder, RESULTS_FILE, {"iterations": float, "meta_train_seconds": float,
                                                   "settings": dict})
    if results is None:
        return None
    for shots, setting in results["settings"].items():
        score = {"mean": float, "ci95": float}
        if not shots.isdigit() or check_shape(setting, {"learner": dict, "pixels": dict}) or any(
                check_shape(setting[method], score) for method in ("learner", "pixels")):
            raise DamagedFile.of(folder, RESULTS_FILE, "its scores are not what the run wrote")
    return results


def _label(results: dict[str, Any]) -> str:
    return ALGORITHM_LABELS.get(results.get("algorithm", ""), results.get("algorithm", "learner"))


def _methods(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, label) of the learner and of each baseline present in every setting."""
    methods = [("learner", f"{_label(results)} (this run)"), ("pixels", BASELINE_LABELS["pixels"])]
    if all(setting.get("pretrain") for setting in results["settings"].values()):
        methods.append(("pretrain", BASELINE_LABELS["pretrain"]))
    return methods


def result_domains(results: dict[str, Any]) -> tuple[str, str]:
    """(meta-training domain, evaluation domain) of a results dict; runs from before domains: MNIST.

    Example:
        >>> result_domains({"train_domain": "mnist", "eval_domain": "fashion_mnist"})
        ('mnist', 'fashion_mnist')
    """
    return results.get("train_domain", "mnist"), results.get("eval_domain", "mnist")


def domains_caption(results: dict[str, Any]) -> str:
    """A plain sentence on where the learner was meta-trained and where it was scored.

    Example:
        >>> domains_caption({"train_domain": "mnist", "eval_domain": "fashion_mnist"})
        'cross-domain: meta-trained on MNIST digits, evaluated on Fashion-MNIST clothes'
    """
    train, evaluation = result_domains(results)
    if train != evaluation:
        return (f"cross-domain: meta-trained on {domains.DOMAIN_LABELS[train]}, "
                f"evaluated on {domains.DOMAIN_LABELS[evaluation]}")
    return f"in-domain: meta-trained and evaluated on {domains.DOMAIN_LABELS[evaluation]} (other classes)"


def _ways(results: dict[str, Any]) -> int:
    for setting in results["settings"].values():
        if setting.get("viewer"):
            return len(setting["viewer"][0]["classes"])
    return int(results.get("ways", 5))


def results_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per method, one column per shot setting: ``"mean ± 95% interval"`` in percent.

    Example:
        >>> setting = {"learner": {"mean": .8, "ci95": .01, "episodes": 600}, "pixels": {"mean": .5,
        ...            "ci95": .02, "episodes": 600}, "pretrain": None, "per_step": [], "viewer": []}
        >>> results_table({"algorithm": "maml", "settings": {"1": setting}}).iloc[0, 1]
        '80.0 ± 1.0%'
    """
    ways = _ways(results)
    rows = []
    for key, label in _methods(results):
        row = {"method": label}
        for shots, setting in sorted(results["settings"].items(), key=lambda item: int(item[0])):
            score = setting[key]
            row[f"{ways}-way {shots}-shot"] = f"{100 * score['mean']:.1f} ± {100 * score['ci95']:.1f}%"
        rows.append(row)
    return pd.DataFrame(rows)


def _score_cell(score: dict[str, float]) -> str:
    return f"{100 * score['mean']:.1f} ± {100 * score['ci95']:.1f}%"


def same_episodes_table(results: dict[str, Any], others: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame | None:
    """This run beside the ``(name, results)`` of other runs scored on the very same episodes, or None.

    Another run counts when every shot setting of this run has the same ``episodes_digest`` there
    (same evaluation domain, classes, ways and queries): so an in-domain run and a cross-domain run
    of one evaluation domain line up, row by row, on identical tasks.

    Example:
        >>> same_episodes_table(cross_results, [("run 3", in_domain_results)])  # doctest: +SKIP
    """
    def digests(found: dict[str, Any]) -> dict[str, str | None]:
        return {shots: found["settings"].get(shots, {}).get("episodes_digest") for shots in results["settings"]}

    mine = digests(results)
    if None in mine.values():
        return None  # a run from before the digests: its episodes cannot be matched
    matching = [(name, found) for name, found in others if digests(found) == mine]
    if not matching:
        return None
    ways = _ways(results)
    rows = []
    for name, found in [("this run", results), *matching]:
        train, _ = result_domains(found)
        row = {"run": name, "method": _label(found), "meta-trained on": DOMAIN_SHORT[train]}
        for shots in sorted(results["settings"], key=int):
            row[f"{ways}-way {shots}-shot"] = _score_cell(found["settings"][shots]["learner"])
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_figure(results: dict[str, Any]) -> go.Figure:
    """Grouped bars: each method's accuracy per setting, with 95% intervals as error bars."""
    figure = go.Figure()
    settings = sorted(results["settings"].items(), key=lambda item: int(item[0]))
    ways = _ways(results)
    for index, (key, label) in enumerate(_methods(results)):
        scores = [setting[key] for _, setting in settings]
        figure.add_trace(go.Bar(
            x=[f"{ways}-way {shots}-shot" for shots, _ in settings], y=[100 * s["mean"] for s in scores],
            error_y={"type": "data", "array": [100 * s["ci95"] for s in scores]}, name=label,
            marker_color=series_colour(index),
            hovertemplate=f"{label}<br>%{{x}}: %{{y:.1f}}%<extra></extra>"))
    figure.add_hline(y=100 / ways, line_dash="dot", annotation_text="chance", line_color="grey")
    train, evaluation = result_domains(results)
    where = (f"{DOMAIN_SHORT[evaluation]}, meta-trained on {DOMAIN_SHORT[train]}" if train != evaluation
             else f"held-out {DOMAIN_SHORT[evaluation]} classes")
    figure.update_layout(template=TEMPLATE, barmode="group", height=360, yaxis_title="query accuracy (%)",
                         yaxis_range=[0, 100], legend={"orientation": "h", "y": -0.2},
                         title=f"Accuracy on the evaluation episodes, 95% intervals<br><sup>{where}</sup>")
    return figure


def per_step_figure(results: dict[str, Any]) -> go.Figure:
    """Mean query accuracy before adapting (step 0) and after each inner step, per setting."""
    figure = go.Figure()
    for index, (shots, setting) in enumerate(sorted(results["settings"].items(), key=lambda item: int(item[0]))):
        curve = setting.get("per_step") or []
        figure.add_trace(go.Scatter(x=list(range(len(curve))), y=[100 * v for v in curve], mode="lines+markers",
                                    name=f"{shots}-shot", line={"color": series_colour(index)},
                                    hovertemplate=f"{shots}-shot<br>after %{{x}} steps: %{{y:.1f}}%<extra></extra>"))
    figure.update_layout(template=TEMPLATE, height=320, xaxis_title="inner steps on the support set",
                         yaxis_title="query accuracy (%)", legend={"orientation": "h", "y": -0.25},
                         title="How fast it learns: query accuracy after each inner step")
    figure.update_xaxes(dtick=1)
    return figure


@dataclass
class EpisodeView:
    """An episode ready to draw: support images with their digits, queries with the prediction."""

    support: list[np.ndarray]
    support_captions: list[str]
    query: list[np.ndarray]
    query_captions: list[str]
    accuracy: float
    per_step: list[float]
    query_positions: list[int]  # which of the episode's queries are shown, in order
    class_names: list[str]  # class_names[label] names each label, e.g. "7"


def _class_name(class_id: str, domain: str) -> str:
    label, degrees = parse_class_id(class_id)
    name = domains.class_names(domain)[label]
    return f"{name} (rotated {degrees}°)" if degrees else name


def class_names(entry: dict[str, Any], domain: str = "mnist") -> list[str]:
    """What each label of a stored episode of ``domain`` stands for, e.g. ``["5", "9", "7"]``.

    Example:
        >>> class_names({"classes": ["5", "9r90"]})
        ['5', '9 (rotated 90°)']
        >>> class_names({"classes": ["5", "9"]}, "fashion_mnist")
        ['Sandal', 'Ankle boot']
    """
    return [_class_name(c, domain) for c in entry["classes"]]


def episode_view(entry: dict[str, Any], data: MnistData, max_queries: int = 25, domain: str = "mnist") -> EpisodeView:
    """Images and captions of one stored evaluation episode (test split of ``data``, the images of
    ``domain``), queries capped at ``max_queries``.

    Each query caption is a tick and the class, or a cross with the true class and the adapted
    learner's answer (``"✗ 8 → 9"``), so the viewer shows at a glance what the learner got wrong.
    """
    names = class_names(entry, domain)
    support = [data.x_test[i] for i in entry["support_index"]]
    support_captions = [f"digit {names[label]}" if domain == "mnist" else names[label] for label in entry["support_y"]]
    chosen = _spread(len(entry["query_index"]), max_queries)
    query, captions = [], []
    for position in chosen:
        truth, guess = entry["query_y"][position], entry["predictions"][position]
        query.append(data.x_test[entry["query_index"][position]])
        captions.append(f"✓ {names[guess]}" if truth == guess else f"✗ {names[truth]} → {names[guess]}")
    accuracy = float(np.mean(np.asarray(entry["predictions"]) == np.asarray(entry["query_y"])))
    return EpisodeView(support, support_captions, query, captions, accuracy, list(entry.get("per_step", [])),
                       chosen, names)


def _spread(count: int, limit: int) -> list[int]:
    """Up to ``limit`` positions spread evenly over ``count`` (so every class shows up)."""
    if count <= limit:
        return list(range(count))
    return sorted({int(round(p)) for p in np.linspace(0, count - 1, limit)})
