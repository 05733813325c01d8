"""The Few-shot page with cross-domain runs: the domain choices, the results panel, the episode viewer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import RunConfig
from metalearn_core.data.domains import class_names
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(iterations=20, validation_every=10, validation_episodes=3, evaluation_episodes=10, baseline_seconds=0.3,
            queries=5)


@pytest.fixture(scope="module")
def crossdomain_home(tmp_path_factory, mnist, record_run):
    """A data home with finished runs: ProtoNet MNIST -> Fashion-MNIST, first-order MAML
    Fashion-MNIST -> MNIST and Reptile in-domain on Fashion-MNIST."""
    home = tmp_path_factory.mktemp("crossdomain")
    store = RunStore(home)
    ids = {}
    for algorithm, train, evaluation in (("protonet", "mnist", "fashion_mnist"), ("fomaml", "fashion_mnist", "mnist"),
                                         ("reptile", "fashion_mnist", "fashion_mnist")):
        settings = {**recommended_settings(algorithm), **TINY, "eval_inner_steps": 3, "train_domain": train,
                    "eval_domain": evaluation}
        config = RunConfig(kind="fewshot", name=f"{train} to {evaluation}", base=fewshot_network("dense", hidden=(16,)),
                           settings=FewShotConfig(algorithm=algorithm, **settings))
        ids[algorithm] = record_run(store, config, mnist)  # reptile: in-domain, on the protonet run's episodes
        assert store.get(ids[algorithm]).status == "completed"
    return home, ids


def fewshot_page(run_id: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/fewshot.py")
    if run_id is not None:
        at.query_params["run"] = str(run_id)
    return at.run()


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info])


def image_captions(at: AppTest) -> list[str]:
    return [caption for element in at.get("image") for caption in element.captions]


def chart_titles(at: AppTest) -> list[str]:
    return [str(json.loads(e.proto.spec)["layout"].get("title", {}).get("text", "")) for e in at.get("plotly_chart")]


def test_a_cross_domain_run_says_where_it_learned_and_shows_fashion_episodes(crossdomain_home, monkeypatch):
    home, ids = crossdomain_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = fewshot_page(ids["protonet"])
    assert not at.exception, at.exception
    shown = texts(at)
    assert "cross-domain: meta-trained on MNIST digits, evaluated on Fashion-MNIST clothes" in shown
    assert "scored on exactly the same episodes" in shown
    assert "true class → its answer" in shown and "true digit" not in shown
    assert any("Fashion-MNIST, meta-trained on MNIST" in title for title in chart_titles(at))
    fashion_names = set(class_names("fashion_mnist")[5:])
    captions = image_captions(at)
    assert captions and set(captions[:5]) <= fashion_names  # the support set: clothes, not digits
    assert "MNIST → Fashion-MNIST" in shown  # the run's description
    [beside] = [frame.value for frame in at.dataframe if "meta-trained on" in frame.value.columns]
    assert beside["run"].tolist() == ["this run", f"run {ids['reptile']} · fashion_mnist to fashion_mnist"]
    assert beside["meta-trained on"].tolist() == ["MNIST", "Fashion-MNIST"]


def test_a_gradient_learner_evaluated_on_digits_steps_through_digit_names(crossdomain_home, monkeypatch):
    home, ids = crossdomain_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = fewshot_page(ids["fomaml"])
    assert not at.exception, at.exception
    assert "cross-domain: meta-trained on Fashion-MNIST clothes, evaluated on MNIST digits" in texts(at)
    support = [caption for caption in image_captions(at) if caption.startswith("digit ")]
    assert support and {caption.split()[1] for caption in support} <= {"5", "6", "7", "8", "9"}
    assert at.slider(key=f"fewshot.viewer.step.{ids['fomaml']}").max == 3
    assert not [frame for frame in at.dataframe if "meta-trained on" in frame.value.columns]  # none on its episodes


def test_domain_choices_reach_the_config_and_survive_an_algorithm_change(crossdomain_home, monkeypatch):
    home, _ = crossdomain_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = fewshot_page()
    assert at.selectbox(key="fewshot.train_domain").value == "mnist"
    assert "so no test class or image is seen in meta-training" in texts(at)
    at.selectbox(key="fewshot.train_domain").set_value("fashion_mnist").run()
    assert not at.exception, at.exception
    assert "Cross-domain: meta-training uses classes 0-4 of Fashion-MNIST clothes" in texts(at)
    at.selectbox(key="fewshot.algorithm").set_value("reptile").run()
    assert at.selectbox(key="fewshot.train_domain").value == "fashion_mnist"
    assert at.selectbox(key="fewshot.eval_domain").value == "mnist"
    assert not at.error, [e.value for e in at.error]
