"""The "Inside the training" panel on the Train page (a finished base run) and its section on the
Compare page (two runs overlaid), rendered with streamlit's AppTest."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from dashboard import inside_train
from dashboard.text import plain
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page(path)
    return at


@pytest.fixture(scope="module")
def stats_home(tmp_path_factory, mnist, record_run):
    home = tmp_path_factory.mktemp("inside-train")
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    for seed, rate in ((0, 0.001), (1, 0.01)):
        record_run(store, RunConfig(name=f"rate-{rate}", base=tiny, training=TrainingConfig(
            epochs=2, train_limit=1500, test_limit=300, seed=seed, learning_rate=rate)), mnist)
    record_run(store, RunConfig(name="no-stats", base=tiny, training=TrainingConfig(
        epochs=1, train_limit=1500, test_limit=300)), mnist, layer_stats=False)
    return home


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.subheader, *at.caption, *at.info, *at.markdown])


def test_train_page_shows_the_finished_runs_weights_and_gradients(stats_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(stats_home))
    at = page("pages/train.py")
    at.query_params["run"] = "1"
    at.run()
    assert not at.exception, at.exception
    assert inside_train.TITLE in texts(at)
    assert inside_train.NORMS_CAPTION in texts(at) and inside_train.DISTRIBUTIONS_CAPTION in texts(at)
    keys = [chart.proto.id for chart in at.get("plotly_chart")]
    assert sum(".inside.1." in key for key in keys) == 3, keys  # norms, distributions, histograms
    norms = next(json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
                 if chart.proto.id.endswith(".inside.1.norms"))
    assert {trace["name"] for trace in norms["data"]} == {"1. dense_2 (25,088 weights)",
                                                        "2. logits (320 weights)"}


def test_train_page_says_when_a_run_has_no_layer_statistics(stats_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(stats_home))
    at = page("pages/train.py")
    at.query_params["run"] = "3"
    at.run()
    assert not at.exception, at.exception
    assert "No layer statistics for this run" in texts(at)


def test_the_live_panel_shows_the_statistics_so_far(stats_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(stats_home))
    store = RunStore(stats_home)
    run_id = store.create_run(RunConfig(name="live"))
    store.mark_running(run_id)
    store.set_pid(run_id, os.getpid())
    first_epoch = [row for row in store.layer_stats(1) if row["epoch"] == 0]
    store.log_layer_stats(run_id, "train", 0, first_epoch)
    with open(store.worker_lock_path(run_id), "a") as lock:  # this process plays the run's worker
        fcntl.flock(lock, fcntl.LOCK_EX)
        at = page("pages/train.py")
        at.query_params["run"] = str(run_id)
        at.run()
        assert not at.exception, at.exception
        assert inside_train.TITLE in texts(at)
        assert any(button.label == "Cancel" for button in at.button)  # the live panel, not the results
    store.finish(run_id, "cancelled")


def test_compare_overlays_the_chosen_runs_norms(stats_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(stats_home))
    at = page("pages/compare.py")
    at.query_params["runs"] = "1,2,3"
    at.run()
    assert not at.exception, at.exception
    assert inside_train.TITLE in texts(at) and f"Without statistics: {plain('#3 no-stats')}" in texts(at)
    chart = next(chart for chart in at.get("plotly_chart") if chart.proto.id.endswith("compare.inside.norms"))
    names = {trace["name"] for trace in json.loads(chart.proto.spec)["data"]}
    assert names == {"#1 rate-0.001", "#2 rate-0.01"}
    at.radio(key="compare.inside.metric").set_value("gradient_norm").run()
    assert not at.exception, at.exception
    chart = next(chart for chart in at.get("plotly_chart") if chart.proto.id.endswith("compare.inside.norms"))
    assert json.loads(chart.proto.spec)["layout"]["yaxis"]["type"] == "log"
