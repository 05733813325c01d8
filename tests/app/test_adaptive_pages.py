"""The adaptive-learning panel (dashboard/adaptive.py) for finished tiny runs: an SGD-HD run shows
its adapted learning-rate curve, a cosine run its schedule, a fixed-rate run nothing; and the
learning rates of several runs overlaid for the Compare page. Rendered with streamlit's AppTest."""

from __future__ import annotations

import json

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from dashboard import adaptive
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore


@pytest.fixture(scope="module")
def rates_home(tmp_path_factory, mnist, record_run):
    home = tmp_path_factory.mktemp("adaptive")
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    for name, changes in (("hd", {"optimizer": "sgd_hd", "learning_rate": 0.001, "hypergradient_rate": 0.01}),
                          ("cosine", {"lr_schedule": "cosine"}), ("fixed", {})):
        record_run(store, RunConfig(name=name, base=tiny, training=TrainingConfig(
            epochs=2, train_limit=1500, test_limit=300, batch_size=64, **changes)), mnist, layer_stats=False)
    return home


def _panel(run_id: int) -> None:
    import os

    from dashboard import adaptive
    from metalearn_core.runs.store import RunStore

    store = RunStore(os.environ["METALEARN_HOME"])
    adaptive.learning_rate_panel(store, store.get(run_id))


def _compare(run_ids: list[int]) -> None:
    import os

    from dashboard import adaptive
    from metalearn_core.runs.store import RunStore

    store = RunStore(os.environ["METALEARN_HOME"])
    runs = [store.get(run_id) for run_id in run_ids]
    adaptive.compare_learning_rates(store, runs, {run.id: f"#{run.id} {run.name}" for run in runs})


def _render(function, argument) -> AppTest:
    at = AppTest.from_function(function, args=(argument,), default_timeout=APP_TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _traces(at: AppTest) -> list[dict]:
    return [trace for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]


def test_a_finished_sgd_hd_run_shows_its_adapted_learning_rate(rates_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(rates_home))
    at = _render(_panel, 1)
    captions = " ".join(caption.value for caption in at.caption)
    assert adaptive.HD_CAPTION in captions and adaptive.EXPLAINER in captions
    (trace,) = _traces(at)
    assert trace["name"] == "SGD-HD"
    assert trace["x"] == [0.0, 1.0, 2.0] and trace["y"][0] == pytest.approx(0.001)
    logged = [row["value"] for row in RunStore(rates_home).metrics(1) if row["name"] == "learning_rate"]
    assert trace["y"][1:] == pytest.approx(logged) and logged[-1] != pytest.approx(0.001)
    assert [metric.label for metric in at.metric] == ["Start", "End", "Change"]


def test_a_cosine_run_shows_its_schedule_and_a_fixed_run_nothing(rates_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(rates_home))
    cosine = _render(_panel, 2)
    (trace,) = _traces(cosine)
    assert trace["y"] == sorted(trace["y"], reverse=True) and trace["y"][-1] < trace["y"][0] / 2
    assert adaptive.SCHEDULE_CAPTION in " ".join(caption.value for caption in cosine.caption)
    fixed = _render(_panel, 3)
    assert not fixed.get("plotly_chart") and not fixed.caption


def test_compare_overlays_the_learning_rates_of_the_chosen_runs(rates_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(rates_home))
    at = _render(_compare, [1, 2, 3])
    assert [trace["name"] for trace in _traces(at)] == ["#1 hd", "#2 cosine", "#3 fixed"]
    only_fixed = _render(_compare, [3])
    assert not only_fixed.get("plotly_chart")


def test_while_a_hypergradient_run_trains_its_current_rate_extends_the_curve(rates_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(rates_home))
    store = RunStore(rates_home)
    run_id = store.create_run(RunConfig(name="live", training=TrainingConfig(
        optimizer="adam_hd", learning_rate=0.002, epochs=3)))
    store.mark_running(run_id)
    store.log_metrics(run_id, "train", 1, {"loss": 0.5, "learning_rate": 0.0025})
    store.set_progress(run_id, {"series": "train", "epoch": 2, "batch": 10, "x": 1.5, "loss": 0.4,
                                "learning_rate": 0.003})
    at = _render(_panel, run_id)
    line, now = _traces(at)
    assert line["x"] == [0.0, 1.0, 1.5] and line["y"] == pytest.approx([0.002, 0.0025, 0.003])
    assert now["x"] == [1.5] and now["y"] == pytest.approx([0.003])  # the "now" marker
    assert [metric.label for metric in at.metric] == ["Start", "Now", "Change"]
