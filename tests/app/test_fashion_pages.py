"""Fashion-MNIST on the pages (streamlit's AppTest): Home's line on the second domain, a Train
launch with the dataset set to it, a finished fashion run's results, and Draw keeping to digits."""

from __future__ import annotations

from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.data.domains import class_names
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    return at


def texts(at: AppTest, *kinds: str) -> str:
    return " ".join(str(element.value) for kind in kinds for element in getattr(at, kind))


@pytest.fixture(scope="module")
def fashion_home(tmp_path_factory, fashion, record_run):
    """A store with one finished base run trained on Fashion-MNIST (run 1)."""
    home = tmp_path_factory.mktemp("fashion")
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    record_run(RunStore(home), RunConfig(name="clothes", base=tiny, training=TrainingConfig(
        epochs=1, train_limit=1500, test_limit=300, dataset="fashion_mnist")), fashion)
    return home


def test_home_says_where_fashion_mnist_comes_from(home, fashion):
    at = page("app.py").run()
    assert not at.exception, at.exception
    assert "Fashion-MNIST from path" in texts(at, "caption")
    assert "MNIST from" in texts(at, "success")  # the digits' line is unchanged


def test_home_and_sidebar_warn_how_to_get_a_missing_fashion_mnist(home, tmp_path, monkeypatch):
    monkeypatch.setenv("METALEARN_FASHION_MNIST", str(tmp_path / "nowhere"))
    at = page("pages/compare.py").run()
    assert not at.exception, at.exception
    warnings = texts(at, "warning")
    assert "Fashion-MNIST clothes runs are unavailable" in warnings and "dataset-fashion-mnist" in warnings
    at = page("app.py").run()
    assert not at.exception, at.exception
    assert "nowhere: no such folder or file" in texts(at, "warning")
    assert "MNIST from" in texts(at, "success")  # the rest of Home still renders
    assert "No runs yet" in texts(at, "info") and len(at.get("page_link")) >= 4


def test_train_launches_a_fashion_run(home, monkeypatch):
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch",
                        lambda store, config, mnist: launched.append(config) or 1)
    at = page("pages/train.py").run()
    at.radio(key="train.dataset").set_value("fashion_mnist").run()
    at.slider(key="train.epochs").set_value(2).run()
    at.button(key="train.launch").click().run()
    assert not at.exception, at.exception
    assert launched and launched[0].training.dataset == "fashion_mnist" and launched[0].training.epochs == 2


def test_a_fashion_runs_results_name_its_classes(fashion_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(fashion_home))
    at = page("pages/train.py")
    at.query_params["run"] = "1"
    at.run()
    assert not at.exception, at.exception
    table = next(frame.value for frame in at.dataframe if "precision" in frame.value.columns)
    assert table["class"].tolist() == class_names("fashion_mnist")
    assert "Misclassified test images" in texts(at, "markdown")
    captions = [caption for gallery in at.get("image") for caption in gallery.captions]
    assert len(captions) == 24 and all(caption.split(", predicted ")[0][len("true "):] in class_names("fashion_mnist")
                            for caption in captions)


def test_draw_leaves_out_fashion_runs(fashion_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(fashion_home))
    at = page("pages/draw.py").run()
    assert not at.exception, at.exception
    assert "No finished runs yet" in texts(at, "info")
    assert not any(box.key == "draw.model" for box in at.selectbox)
