"""The ``online`` run kind: several learners meet the same stream and are scored prequentially.

:func:`train_online` builds the stream (:mod:`~metalearn_core.kinds.online.streams`) and the
learners (:mod:`~metalearn_core.kinds.online.learners`), then feeds the stream to each learner in
turn, in the same order, a batch at a time: predict, record, learn
(:func:`~metalearn_core.kinds.online.prequential.prequential`). Every ``report_every`` examples
it reports a point per learner (series = the learner, epoch = the point's number, about examples seen /
``report_every`` (a batch may end past the mark),
metrics ``prequential_accuracy``, ``window_accuracy`` and ``examples``), and at the end it writes
``online.json``: the stream (with its drift point), and per learner its curve, its per-example
correctness, its final and area-under-curve prequential accuracy and its accuracy before and after
the drift.

Example:
    >>> config = RunConfig(kind="online", settings=OnlineConfig(stream="rotate", length=2000))  # doctest: +SKIP
    >>> train_online(config, load_mnist(), Reporter(), folder).summary["final_adam"]  # doctest: +SKIP
    0.83
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np

from metalearn_core.config import RunConfig
from metalearn_core.data.domains import load_domain
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.online.config import OnlineConfig
from metalearn_core.kinds.online.learners import OnlineError, OnlineLearner, build_learners
from metalearn_core.kinds.online.prequential import PrequentialRecord, prequential
from metalearn_core.kinds.online.results import RESULTS_FILE
from metalearn_core.kinds.online.streams import Stream, make_stream, stream_summary
from metalearn_core.runs.reporting import Reporter, RunResult

BUILD_SHARE = 0.05  # of the progress bar: building the learners (and the in-run pre-training)


def load_stream(settings: OnlineConfig, data: MnistData) -> Stream:
    """The run's stream; the switch stream loads Fashion-MNIST (DataError with a hint when it is missing)."""
    fashion = None
    if settings.stream == "switch":
        fashion = load_domain("fashion_mnist")
    return make_stream(settings, data, fashion)


def _learner_result(learner: OnlineLearner, record: PrequentialRecord, points: list[dict[str, float]],
                    stream: Stream, window: int) -> dict[str, Any]:
    result = {"label": learner.label, "final": record.final, "auc": record.auc, "seconds": record.seconds,
              "examples_per_second": len(stream) / max(record.seconds, 1e-9),
              "points": points, "correct": record.correct.astype(int).tolist(),
              "final_window": float(record.window_accuracy(window)[-1])}
    if stream.drift_at is not None:
        result["before_drift"] = float(np.mean(record.correct[:stream.drift_at]))
        result["after_drift"] = float(np.mean(record.correct[stream.drift_at:]))
    return result


def _run_learner(learner: OnlineLearner, position: int, count: int, stream: Stream, settings: OnlineConfig,
                 reporter: Reporter) -> tuple[PrequentialRecord, list[dict[str, float]]]:
    points: list[dict[str, float]] = []

    def on_point(seen: int, running: float, recent: float) -> None:
        metrics = {"prequential_accuracy": running, "window_accuracy": recent, "examples": float(seen)}
        points.append(metrics)
        reporter.on_epoch(learner.name, len(points), metrics)  # point k: about k * report_every examples
        done = (position + seen / len(stream)) / count
        reporter.on_progress({"series": learner.name, "phase": "streaming", "batch": seen,
                              "fraction": BUILD_SHARE + (1 - BUILD_SHARE) * done,
                              "label": f"{learner.label}: {seen:,}/{len(stream):,} examples, "
                                       f"prequential accuracy {running:.1%}"})

    record = prequential(learner, stream.x, stream.y, settings.batch_size, settings.report_every,
                         settings.window, on_point)
    return record, points


def train_online(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Stream the examples to every learner, prequentially, and save ``online.json`` in ``folder``.

    Returns a RunResult whose summary has, per learner, ``final_<name>`` and ``auc_<name>``, and the
    stream's length and drift point; a learner that cannot be built fails the run with its reason.
    """
    settings = config.settings
    keras.utils.set_random_seed(settings.seed)
    reporter.on_progress({"series": "stream", "phase": "preparing the stream", "fraction": 0.0,
                          "label": "preparing the stream and the learners"})
    stream = load_stream(settings, data)

    def on_pretrain_epoch(epoch: int) -> None:
        reporter.on_progress({"series": "pretrained", "phase": "pre-training", "fraction":
                              BUILD_SHARE * epoch / settings.pretrain_epochs,
                              "label": f"pre-training on {settings.pretrain_examples:,} training images: "
                                       f"epoch {epoch}/{settings.pretrain_epochs}"})

    try:
        learners = build_learners(settings, data, folder, on_pretrain_epoch)
    except OnlineError as error:
        return RunResult("failed", {"data_source": data.source}, None, str(error))
    results: dict[str, Any] = {"stream": stream_summary(stream), "drift_at": stream.drift_at,
                               "batch_size": settings.batch_size, "window": settings.window,
                               "report_every": settings.report_every, "learners": {}}
    for position, learner in enumerate(learners):
        record, points = _run_learner(learner, position, len(learners), stream, settings, reporter)
        results["learners"][learner.name] = _learner_result(learner, record, points, stream, settings.window)
    if folder is not None:
        (Path(folder) / RESULTS_FILE).write_text(json.dumps(results))
    summary: dict[str, Any] = {"stream": stream.name, "examples": len(stream), "drift_at": stream.drift_at,
                               "data_source": data.source}
    for name, result in results["learners"].items():
        summary.update({f"final_{name}": result["final"], f"auc_{name}": result["auc"],
                        f"seconds_{name}": result["seconds"]})
    return RunResult("completed", summary, None)
