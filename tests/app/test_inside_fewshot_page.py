"""The few-shot inner-loop views in the app: per-step answers, Meta-SGD's rates, ProtoNet's embedding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import RunConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.run import fewshot_network
from metalearn_core.kinds.fewshot.setup import recommended_settings
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(iterations=20, validation_every=10, validation_episodes=3, evaluation_episodes=10, baseline_seconds=0.5)


@pytest.fixture(scope="module")
def fewshot_home(tmp_path_factory, mnist, record_run):
    home = tmp_path_factory.mktemp("inside-fewshot")
    store = RunStore(home)
    ids = {}
    for algorithm in ("protonet", "metasgd"):
        settings = {} if algorithm == "protonet" else {**recommended_settings("metasgd"), "eval_inner_steps": 4}
        settings.update(TINY)
        ids[algorithm] = record_run(store, RunConfig(kind="fewshot", name=algorithm,
                                                 base=fewshot_network("dense", hidden=(32,)),
                                                 settings=FewShotConfig(algorithm=algorithm, **settings)), mnist)
    return home, ids


def fewshot_page(run_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/fewshot.py")
    at.query_params["run"] = str(run_id)
    return at.run()


def chart(at: AppTest, title: str) -> dict:
    """The spec of the first plotly chart whose title contains ``title``."""
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if title in str(spec["layout"].get("title", {}).get("text", "")):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info])


def test_metasgd_run_shows_answers_per_inner_step_and_its_learned_rates(fewshot_home, monkeypatch):
    home, ids = fewshot_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = fewshot_page(ids["metasgd"])
    assert not at.exception, at.exception
    slider = at.slider(key=f"fewshot.viewer.step.{ids['metasgd']}")
    assert slider.value == 4 and "Queries after 4 inner steps" in texts(at)
    heatmap = chart(at, "Its answer after each inner step")
    assert heatmap["data"][0]["y"] == [f"step {k}" for k in range(5)]
    assert heatmap["layout"]["shapes"][0]["y0"] == 3.5  # the slider's step is outlined
    rates = chart(at, "Learned inner learning rates")
    assert [box["name"] for box in rates["data"]] == ["dense1/kernel", "dense1/bias", "head/kernel", "head/bias"]
    assert "learned its own inner step size" in texts(at)
    slider.set_value(0).run()
    assert not at.exception, at.exception
    assert "Queries after 0 inner steps" in texts(at)
    assert chart(at, "Its answer after each inner step")["layout"]["shapes"][0]["y0"] == -0.5


def test_protonet_run_says_it_has_no_inner_steps_and_shows_its_embedding(fewshot_home, monkeypatch):
    home, ids = fewshot_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = fewshot_page(ids["protonet"])
    assert not at.exception, at.exception
    assert "take no inner steps" in texts(at)
    embedding = chart(at, "Embedding space")
    names = [trace.get("name") for trace in embedding["data"]]
    assert "queries" in names and sum(str(name).startswith("prototype") for name in names) == 5
    assert "approximation" in texts(at)
    assert not [s for s in at.get("slider") if str(s.key).startswith("fewshot.viewer.step")]


def test_fewshot_page_preselects_the_best_measured_method(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/fewshot.py")
    at.run()
    assert not at.exception, at.exception
    recommended = recommended_settings("metasgd")
    assert at.selectbox(key="fewshot.algorithm").value == "metasgd"
    assert at.slider(key="fewshot.eval_inner_steps").value == recommended["eval_inner_steps"]
    assert at.select_slider(key="fewshot.inner_lr").value == recommended["inner_lr"]


def teach_script(run_id: int, digits: list, support_x, support_y, query) -> None:
    from dashboard.kinds import fewshot

    fewshot.taught_view(run_id, digits, support_x, support_y, query)


def taught_examples(mnist, digits=(3, 8), shots=2):
    x = np.concatenate([mnist.x_test[mnist.y_test == d][:shots] for d in digits]).astype(np.float32) / 255
    y = np.repeat(np.arange(len(digits)), shots).astype(np.int32)
    query = mnist.x_test[mnist.y_test == digits[1]][shots].astype(np.float32) / 255
    return list(digits), x, y, query


@pytest.mark.parametrize("algorithm", ["metasgd", "protonet"])
def test_teach_tab_watches_the_taught_learner_adapt(algorithm, fewshot_home, mnist, monkeypatch):
    home, ids = fewshot_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    digits, x, y, query = taught_examples(mnist)
    at = AppTest.from_function(teach_script, args=(ids[algorithm], digits, x, y, query), default_timeout=APP_TIMEOUT).run()
    assert not at.exception, at.exception
    if algorithm == "protonet":
        assert "take no inner steps" in texts(at)
        regions = chart(at, "Embedding space")["data"][0]
        assert regions["type"] == "heatmap" and "z" in regions  # the decision regions
        return
    slider = at.slider(key="draw.teach.inside.step")
    assert slider.value == 4 and list(chart(at, "Its answer after each inner step")["data"][0]["x"]) == ["3", "8"]
    slider.set_value(1).run()
    assert not at.exception, at.exception
    assert any("After **1** inner step:" in str(m.value) for m in at.markdown)
