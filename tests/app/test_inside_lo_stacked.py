"""The Train page watching a finished tiny stacked run and a finished tiny learned-optimizer run shows
what is inside them: the meta network's weights per learner and digit, the learned update rule and
the update sizes along a held-out trajectory."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig
from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset
from metalearn_core.kinds.learned_optimizer.run import OPTIMIZER_FILE
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inside_home(tmp_path_factory, mnist, record_run):
    """A data home with a finished stacked run (meta network without hidden layers) and a finished
    learned-optimizer run (20 steps, 5 s of meta-training): (home, stacked id, learned-optimizer id)."""
    home = tmp_path_factory.mktemp("inside")
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16)))
    stacked = RunConfig(kind="stacked", name="stack", base=tiny, meta=NetworkConfig(()),
                        training=TrainingConfig(epochs=1, train_limit=1500, test_limit=300),
                        settings=StackingConfig(learners=(LearnerConfig("network"), LearnerConfig("random_forest")),
                                                meta_input="logits", meta_epochs=3))
    stacked_id = record_run(store, stacked, mnist)
    settings = LearnedOptimizerConfig(steps=20, unroll=10, budget_seconds=5, eval_inits=5, tune_trajectories=1,
                                      grid_points=2)
    learned = learned_optimizer_preset().replace(name="tiny learned optimizer", settings=settings)
    learned_id = record_run(store, learned, mnist)
    return home, stacked_id, learned_id


def _train_page(home: Path, run_id: int, monkeypatch) -> AppTest:
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/train.py")
    at.query_params["run"] = str(run_id)
    return at.run()


def _charts(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page by its widget key (the end of its element id), as figure JSON."""
    charts = {}
    for element in at.get("plotly_chart"):
        charts[element.proto.id] = json.loads(element.proto.spec)
    return charts


def _chart(charts: dict[str, dict], key: str) -> dict:
    matches = [figure for element_id, figure in charts.items() if element_id.endswith(key) or key in element_id]
    assert matches, f"no chart {key} among {list(charts)}"
    return matches[0]


def _values(array) -> np.ndarray:
    """A figure JSON array: a plain list, or plotly's typed array ``{"dtype", "bdata"}`` (base64)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def _text(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info])


def test_a_stacked_run_shows_which_learner_its_meta_network_trusts(inside_home, monkeypatch):
    home, run_id, _ = inside_home
    at = _train_page(home, run_id, monkeypatch)
    assert not at.exception, at.exception
    assert "Inside the meta network" in _text(at) and "standardised" in _text(at)
    assert "red diagonal" in _text(at)  # no hidden layers: the (input, output class) reading
    charts = _charts(at)
    trust = _chart(charts, f"stacked.inside.trust.{run_id}")["data"][0]
    assert trust["y"] == ["base 1 (network)", "base 2 (random forest)"] and trust["x"][0] == "digit 0"
    kernel = _chart(charts, f"stacked.inside.kernel.{run_id}")["data"][0]
    assert len(kernel["y"]) == 20 and kernel["y"][13] == "base 2 (random forest) · 3"


def test_a_stacked_run_without_its_meta_file_says_so(inside_home, monkeypatch, tmp_path):
    home, run_id, _ = inside_home
    store = RunStore(home)
    meta = store.run_folder(run_id) / "meta.keras"
    hidden = tmp_path / "meta.keras"
    meta.rename(hidden)
    st.cache_resource.clear()  # the earlier test loaded this run's models into the server's cache
    try:
        at = _train_page(home, run_id, monkeypatch)
    finally:
        hidden.rename(meta)
    assert not at.exception, at.exception
    assert any("meta.keras" in info.value for info in at.info)


def test_a_learned_optimizer_run_draws_its_rule_and_its_update_sizes(inside_home, monkeypatch):
    home, _, run_id = inside_home
    at = _train_page(home, run_id, monkeypatch)
    assert not at.exception, at.exception
    assert "Inside the learned optimizer" in _text(at) and "remember past gradients" in _text(at)
    charts = _charts(at)
    rule = _chart(charts, f"lo.inside.rule.{run_id}")
    names = {trace["name"] for trace in rule["data"]}
    assert names == {"learned optimizer", "SGD", "Adam"}
    titles = [annotation["text"] for annotation in rule["layout"]["annotations"]]
    assert titles[0] == "first step" and titles[1].startswith("after 10 steps of gradient +")
    sizes = _chart(charts, f"lo.inside.sizes.{run_id}")
    lines = [trace for trace in sizes["data"] if trace.get("mode") == "lines"]
    assert {trace["name"] for trace in lines} == {"learned optimizer", "SGD", "momentum", "RMSprop", "Adam"}
    assert all(len(_values(trace["y"])) == 20 for trace in lines)  # one point per step of the run's trajectories
    at.radio(key=f"lo.inside.sweep.{run_id}").set_value("linear").run()
    assert not at.exception, at.exception
    linear = _chart(_charts(at), f"lo.inside.rule.{run_id}")
    assert "ticktext" not in linear["layout"]["xaxis"]  # plain axes in the linear view


def test_a_learned_optimizer_run_without_its_optimizer_file_says_so(inside_home, monkeypatch, tmp_path):
    home, _, run_id = inside_home
    path = RunStore(home).run_folder(run_id) / OPTIMIZER_FILE
    hidden = tmp_path / OPTIMIZER_FILE
    path.rename(hidden)
    try:
        at = _train_page(home, run_id, monkeypatch)
    finally:
        hidden.rename(path)
    assert not at.exception, at.exception
    assert any("optimizer.npz" in info.value for info in at.info)
