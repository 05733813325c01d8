"""The Online page: its setup on an empty store, and a finished online run's chart, drift and table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import RunConfig
from metalearn_core.kinds.online.config import OnlineConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def online_page(run_id: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/online.py")  # as a user clicking the sidebar would
    if run_id is not None:
        at.query_params["run"] = str(run_id)
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info, *at.error])


@pytest.fixture(scope="module")
def online_home(tmp_path_factory, mnist, fashion, record_run):
    home = tmp_path_factory.mktemp("online-page")
    store = RunStore(home)
    settings = OnlineConfig(stream="switch", length=200, learners=("sgd", "adam"), report_every=20, window=50)
    run_id = record_run(store, RunConfig(kind="online", name="tiny-switch", settings=settings), mnist)
    return home, run_id


def test_empty_store_shows_the_setup_and_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(tmp_path / "empty"))
    at = online_page()
    assert not at.exception, at.exception
    assert at.title[0].value == "Online learning"
    assert "Launch a run to watch" in texts(at)
    assert "needs a finished MAML, Meta-SGD or Reptile run" in texts(at)
    launch = [button for button in at.button if button.label == "Launch"]
    assert launch and not launch[0].disabled
    at.multiselect(key="online.learners").set_value([]).run()
    assert "choose at least one learner" in texts(at)
    assert [button for button in at.button if button.label == "Launch"][0].disabled


def test_a_finished_run_shows_every_learner_the_drift_and_the_table(online_home, monkeypatch):
    home, run_id = online_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = online_page(run_id)
    assert not at.exception, at.exception
    spec = next(chart for chart in charts(at) if "Prequential" in str(chart["layout"].get("title", {})))
    names = {trace["name"] for trace in spec["data"]}
    assert {"from scratch, SGD", "from scratch, Adam"} <= names
    drift = [shape for shape in spec["layout"].get("shapes", []) if shape.get("x0") == 100]
    assert drift, "the drift point (example 100 of 200) is marked"
    assert "Fashion-MNIST clothes" in texts(at)
    table = at.dataframe[0].value
    assert list(table["learner"]) == ["from scratch, SGD", "from scratch, Adam"]
    assert {"final", "AUC", "after drift"} <= set(table.columns)
    assert table["final"].str.endswith("%").all()


def test_a_run_without_its_results_file_says_so(online_home, monkeypatch):
    home, run_id = online_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    path = RunStore(home).run_folder(run_id) / "online.json"
    saved = path.read_text()
    path.unlink()
    try:
        at = online_page(run_id)
        assert not at.exception, at.exception
        assert "online.json is missing" in texts(at)
    finally:
        path.write_text(saved)


def _draw_tab() -> None:
    from dashboard import common
    from dashboard.kinds import online

    online.draw_tab(common.current_store())


def test_the_draw_tab_panel_offers_the_runs_and_starts_a_learner(online_home, monkeypatch):
    home, _ = online_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = AppTest.from_function(_draw_tab, default_timeout=APP_TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="draw.online.start").options == ["a fresh network (random weights)"]  # no base run here
    assert "Draw a digit to see the model's guess." in texts(at)
    assert "Right first guesses" in [metric.label for metric in at.metric]


def test_a_running_run_shows_its_live_curves_so_far(tmp_path, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(tmp_path / "live"))
    store = RunStore(tmp_path / "live")
    run_id = store.create_run(RunConfig(kind="online", settings=OnlineConfig(stream="switch", length=400,
                                                                          report_every=50, window=100)))
    store.mark_running(run_id)
    for point, seen in enumerate((50, 100, 150), start=1):
        store.log_metrics(run_id, "sgd", point, {"prequential_accuracy": 0.2 * point, "window_accuracy": 0.3,
                                                 "examples": float(seen)})
    store.set_progress(run_id, {"series": "sgd", "fraction": 0.2, "label": "from scratch, SGD: 150/400 examples"})
    at = online_page(run_id)
    assert not at.exception, at.exception
    spec = charts(at)[0]
    sgd = next(trace for trace in spec["data"] if trace["name"] == "from scratch, SGD")
    assert sgd["x"] == [50.0, 100.0, 150.0] and sgd["y"] == pytest.approx([0.2, 0.4, 0.6])
    assert spec["layout"]["xaxis"]["range"] == [0, 400]  # the whole stream, so the chart does not jump
    assert any(shape.get("x0") == 200 for shape in spec["layout"]["shapes"])  # the switch, known from the config
    assert "Cancel" in [button.label for button in at.button]
