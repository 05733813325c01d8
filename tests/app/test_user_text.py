"""User text is shown as text on every page (AppTest): run and sweep names, tags and error notes that
look like Markdown (an image or a link to a foreign host) reach Streamlit escaped, never as Markdown.

Every element of each page is walked and every text Streamlit renders as Markdown (bodies of
markdown, captions, alerts, headings, toasts, progress texts, metrics; labels of widgets, tabs and
expanders; radio options; help texts) is checked for an unescaped ``![`` or ``](``. Texts that
Streamlit shows as plain text (select box and multiselect options, text inputs' values, table
cells, Plotly's figures) are left out: there an escape would show."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from app_pages import open_page
from streamlit.testing.v1 import AppTest

from dashboard.text import plain
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.run import fewshot_network
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "![t](http://evil.example/t.png)"
LINK = "[x](http://evil.example/)"
TINY = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8)))
SUMMARY = {"test_accuracy": 0.9, "test_loss": 0.3, "epochs_done": 1}
# Texts Streamlit shows as plain text: an escape there would show, so user text goes in unescaped.
PLAIN_FIELDS = {"selectbox": {"options", "default", "raw_value", "value", "placeholder"},
                "multiselect": {"options", "default", "raw_values", "value", "placeholder"},
                "text_input": {"value", "default", "placeholder"},
                "text_area": {"value", "default", "placeholder"}}
NOT_MARKDOWN = {"dataframe", "arrow_data_frame", "plotly_chart", "html", "component_instance"}


def page(path: str) -> AppTest:
    return open_page(path)


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _strings(message, skip: set[str]):
    for field, value in message.ListFields():
        if field.name in skip:
            continue
        for item in (value if field.is_repeated else [value]):
            if isinstance(item, str):
                yield item
            elif hasattr(item, "ListFields"):
                yield from _strings(item, skip)


def markdown_texts(at: AppTest) -> list[str]:
    """Every text of the page that Streamlit renders as Markdown (main area, sidebar, toasts)."""
    texts = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields") or node.type in NOT_MARKDOWN:
            continue
        texts += _strings(proto, PLAIN_FIELDS.get(node.type, set()))
    return texts


def assert_shown_as_text(at: AppTest, *expected: str) -> None:
    """No Markdown image or link in what the page renders as Markdown; each of ``expected`` (user
    text) is there, escaped (so the check looked at the texts that hold it)."""
    assert not at.exception, at.exception
    texts = markdown_texts(at)
    unescaped = [text for text in texts if "![" in text or "](" in text]
    assert not unescaped, unescaped
    for text in expected:
        assert any(plain(text) in shown for shown in texts), (text, texts)
    html = " ".join(node.proto.body for node in _nodes(at._tree) if node.type == "html")
    assert "evil.example" not in html


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory):
    """Runs of every kind and a sweep, named and tagged like Markdown images and links, written
    straight into a store (no training): {what: id} and the home."""
    home = tmp_path_factory.mktemp("hostile")
    store = RunStore(home)
    training = TrainingConfig(epochs=1, train_limit=500, test_limit=100)
    ids = {"completed": store.create_run(RunConfig(name=IMAGE, base=TINY, training=training), tags=[LINK, IMAGE]),
           "failed": store.create_run(RunConfig(name=LINK, base=TINY, training=training), tags=[IMAGE]),
           "fewshot": store.create_run(RunConfig(kind="fewshot", name=IMAGE, base=fewshot_network("dense", hidden=(8,)),
                                                 settings=FewShotConfig(algorithm="protonet", iterations=10))),
           "online": store.create_run(RunConfig(kind="online", name=LINK))}
    store.finish(ids["completed"], "completed", summary=SUMMARY)
    store.finish(ids["failed"], "failed", error=f"the worker stopped while training {IMAGE}")
    store.finish(ids["fewshot"], "completed", summary={"fewshot_1shot": 0.5, "fewshot_5shot": 0.7})
    store.finish(ids["online"], "failed", error=f"stopped: {LINK}")
    sweeps = SweepStore(home)
    space = SearchSpace.from_dict({"learning_rate": {"low": 1e-4, "high": 1e-2}})
    ids["sweep"] = sweeps.create(SweepConfig(space=space, base=RunConfig(base=TINY, training=training), trials=2,
                                             name=IMAGE))
    sweeps.update_state(ids["sweep"], status="failed", error=f"trial 0 of {LINK} failed")
    return home, ids


@pytest.fixture()
def hostile(hostile_home, monkeypatch):
    home, ids = hostile_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    return ids


def test_home_page(hostile):
    at = page("app.py").run()
    assert_shown_as_text(at)
    assert IMAGE in at.dataframe[0].value["name"].tolist()  # the table shows the name as it is


@pytest.mark.parametrize("which", ["completed", "failed"])
def test_train_status_line(hostile, which):
    at = page("pages/train.py")
    at.query_params["run"] = str(hostile[which])
    at.run()
    expected = {"completed": [IMAGE], "failed": [LINK, f"the worker stopped while training {IMAGE}"]}[which]
    assert_shown_as_text(at, *expected)


def test_train_live_panel(home):
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name=IMAGE, base=TINY))
    store.mark_running(run_id)  # no worker yet: within the launch's grace it is shown live
    at = page("pages/train.py")
    at.query_params["run"] = str(run_id)
    at.run()
    assert any(plain(IMAGE) in element.proto.text for element in at.get("progress"))
    assert_shown_as_text(at, IMAGE)


def test_compare(hostile):
    at = page("pages/compare.py")
    at.query_params["runs"] = f"{hostile['completed']},{hostile['failed']}"
    at.run()
    assert_shown_as_text(at)
    assert f"#{hostile['failed']} {LINK}" in at.selectbox(key="compare.manage.run").options  # plain text there


def test_sweep(hostile):
    at = page("pages/sweep.py")
    at.query_params["sweep"] = str(hostile["sweep"])
    at.run()
    assert_shown_as_text(at, IMAGE, f"trial 0 of {LINK} failed")


def test_fewshot(hostile):
    at = page("pages/fewshot.py")
    at.query_params["run"] = str(hostile["fewshot"])
    at.run()
    assert_shown_as_text(at, IMAGE)


def test_online(hostile):
    at = page("pages/online.py")
    at.query_params["run"] = str(hostile["online"])
    at.run()
    assert_shown_as_text(at, LINK, f"stopped: {LINK}")


class FakePredictor:
    learners = ()

    def predict_proba(self, images):
        return np.full((len(images), 10), 0.1)


def test_draw(hostile, monkeypatch):
    """The prediction line and the "Inside the model" title name the model: AppTest cannot draw on
    the canvas, so the canvas answers with a stroke and the model is a stand-in."""
    from dashboard import inside_draw

    ink = np.zeros((280, 280, 4), dtype=np.uint8)
    ink[60:220, 130:150] = 255  # a "1"
    stroke = SimpleNamespace(image_data=ink, json_data={"objects": [{"type": "path"}]})
    canvas = SimpleNamespace(st_canvas=lambda **options: stroke if options.get("key") == "draw.canvas" else None)
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", canvas)  # the page imports it as it runs
    monkeypatch.setattr("dashboard.common.predictor", lambda run_id: FakePredictor())
    monkeypatch.setattr(inside_draw, "inside_views",
                        lambda predictor, image, order="sorted": inside_draw.InsideViews(problem="not here"))
    at = page("pages/draw.py").run()
    assert_shown_as_text(at, IMAGE)
    assert any("predicts" in element.value for element in at.markdown)


def test_the_teacher_sees_a_students_run_as_text(home, monkeypatch):
    from tests.app.test_classroom import AUTH

    student, teacher = "ada@school.org", "teach@school.org"
    monkeypatch.setenv("METALEARN_CLASSROOM", "1")
    monkeypatch.setenv("METALEARN_TEACHERS", teacher)
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name=IMAGE), tags=[LINK], owner=student)
    store.finish(run_id, "failed", error=f"stopped: {LINK}")

    def as_teacher(path: str) -> AppTest:
        at = page(path)
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": teacher, "name": teacher}
        at.session_state["classroom.whole_class"] = True
        at.query_params["run"] = at.query_params["runs"] = str(run_id)
        return at.run()

    at = as_teacher("pages/train.py")
    assert_shown_as_text(at, IMAGE, f"stopped: {LINK}", teacher)
    at = as_teacher("pages/compare.py")
    assert_shown_as_text(at)
    assert IMAGE in {name for frame in at.dataframe for name in frame.value.get("name", [])}


def test_a_link_echoing_a_name_is_shown_as_text(home):
    """A link's configuration whose values are Markdown: the error quoting them is text."""
    import base64
    import zlib

    data = RunConfig().to_dict()
    data["kind"] = IMAGE
    token = base64.urlsafe_b64encode(zlib.compress(json.dumps(data).encode())).decode().rstrip("=")
    for path in ("pages/train.py", "pages/sweep.py"):
        at = page(path)
        at.query_params["config"] = token
        at.run()
        assert any("could not be used" in error.value for error in at.error)
        assert_shown_as_text(at, IMAGE)


@pytest.mark.parametrize("escaped", [True, False], ids=["as-text", "control-without-escaping"])
def test_compare_chart_legends_show_html_names_as_text(home, monkeypatch, escaped):
    """Plotly reads a little HTML in legends and titles (``<a href>`` makes a link): Compare's charts
    get the names with ``<`` and ``>`` as entities. The control case (escaping switched off) shows the
    check tells the two apart."""
    if not escaped:
        monkeypatch.setattr("dashboard.text.chart_text", lambda text: text)
    name = '<a href="http://evil.example/">x</a>'
    store = RunStore(home)
    run_id = store.create_run(RunConfig(name=name, base=TINY))
    for epoch in (1, 2):
        store.log_metrics(run_id, "train", epoch, {"loss": 1.0 / epoch, "accuracy": 0.5 + 0.1 * epoch})
    store.finish(run_id, "completed", summary=SUMMARY)
    at = page("pages/compare.py")
    at.query_params["runs"] = str(run_id)
    at.run()
    assert not at.exception, at.exception
    specs = " ".join(chart.proto.spec for chart in at.get("plotly_chart"))
    assert ("&lt;a href" in specs and "<a href" not in specs) is escaped
