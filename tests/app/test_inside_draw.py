"""The Draw page's "Inside the model" view (dashboard/inside_draw.py) on finished base and stacked runs.

AppTest cannot draw on the canvas component, so a tiny script calls ``inside_panel`` with an MNIST
test image, as the Draw page does after the pen is lifted."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from dashboard.inside_draw import DONE_TEXT, META_DONE_TEXT
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.predictor import load_predictor
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
TRAINING = TrainingConfig(epochs=1, train_limit=1500, test_limit=300)
DENSE = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
CNN = NetworkConfig((LayerConfig("conv2d", filters=4, kernel_size=3), LayerConfig("max_pool"), LayerConfig("flatten")))
IMAGE = 0  # the MNIST test image shown (a 7)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist, record_run):
    """(data home, {name: run id}) with a dense and a CNN base run and a stacked run."""
    home = tmp_path_factory.mktemp("inside-draw")
    store = RunStore(home)
    ids = {
        "dense": record_run(store, RunConfig(name="dense", base=DENSE, training=TRAINING), mnist),
        "cnn": record_run(store, RunConfig(name="cnn", base=CNN, training=TRAINING), mnist),
        "stacked": record_run(store, RunConfig(kind="stacked", name="stack", base=DENSE, training=TRAINING,
                                           settings=StackingConfig(learners=(LearnerConfig("network"),
                                                                             LearnerConfig("random_forest")),
                                                                   meta_epochs=2)), mnist),
    }
    return home, ids


def inside_script(run_id: int, image_index: int) -> None:
    import numpy as np

    from dashboard import common, inside_draw

    image = common.current_mnist().x_test[image_index].astype(np.float32) / 255.0
    inside_draw.inside_panel(common.predictor(run_id), image)


def rendered(home, run_id: int, monkeypatch) -> AppTest:
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = AppTest.from_function(inside_script, args=(run_id, IMAGE), default_timeout=APP_TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """What the page says, in order of kind: markdown, captions, messages, then the HTML views' text."""
    shown = [str(element.value) for element in [*at.markdown, *at.caption, *at.info]]
    return " ".join(shown + [html.unescape(re.sub(r"<[^>]+>", " ", element.proto.body)) for element in at.get("html")])


def images(at: AppTest) -> list[str]:
    """The pictures' data URIs, in order."""
    return re.findall(r"src='(data:image/png;base64,[^']+)'", " ".join(element.proto.body for element in at.get("html")))


def predicted_digit(home, run_id: int, mnist) -> int:
    store = RunStore(home)
    predictor = load_predictor(store.run_folder(run_id), store.get(run_id).config)
    return int(np.argmax(predictor.predict_proba(mnist.x_test[IMAGE:IMAGE + 1] / 255.0)[0]))


def test_a_dense_base_run_shows_each_layer_its_weights_and_saliency(runs, mnist, monkeypatch):
    home, ids = runs
    at = rendered(home, ids["dense"], monkeypatch)
    text = texts(at)
    for layer in ("flatten_1  · Flatten", "dense_2  · Dense · 32 units", "logits  · Dense", "probabilities  · Activation"):
        assert layer in text
    assert "units your drawing excites most" in text
    digit = predicted_digit(home, ids["dense"], mnist)
    assert f"{DONE_TEXT} the {digit}:" in text  # the saliency of the digit the run predicts
    # dense_2, logits and probabilities strips, the weight tiles, the two saliency pictures
    before = images(at)
    assert len(before) == 6
    assert at.radio(key="draw.inside.order").value == "sorted"
    at.radio(key="draw.inside.order").set_value("in order").run()
    assert not at.exception, at.exception
    after = images(at)
    assert len(after) == 6
    assert after[0] != before[0] and after[1:] == before[1:]  # only the dense strip changes


def test_a_cnn_base_run_shows_feature_maps_and_filters(runs, monkeypatch):
    home, ids = runs
    text = texts(rendered(home, ids["cnn"], monkeypatch))
    assert "conv2d_1  · Conv2D · 4 feature maps of 26 x 26" in text
    assert "max_pool_2  · MaxPooling2D · 4 feature maps of 13 x 13" in text
    assert "3x3 filter of  conv2d_1 " in text
    assert DONE_TEXT in text
    assert "add_channel" not in text  # bookkeeping layers get no row


def test_a_stacked_run_shows_its_network_learner_and_the_meta_network(runs, monkeypatch):
    home, ids = runs
    at = rendered(home, ids["stacked"], monkeypatch)
    text = texts(at)
    headers = [element.value for element in at.markdown if element.value.startswith("####")]
    assert headers == ["#### Base 1 (network)", "#### Meta network"]
    assert "base 2 (random forest) has no layers to show" in text
    assert "standardise  · Normalization" in text
    assert "20 numbers, the base learners' outputs" in text  # 10 probabilities from each learner
    assert "10 from base 1 (network), then 10 from base 2 (random forest)" in text
    assert DONE_TEXT in text and META_DONE_TEXT in text
    bodies = [element.proto.body for element in at.get("html")]
    assert len(bodies) == 2 and DONE_TEXT in bodies[0] and "standardise" in bodies[1]  # learner, then meta


def no_logits_script() -> None:
    import keras
    import numpy as np

    from dashboard import inside_draw
    from metalearn_core.models.predictor import Predictor

    inputs = keras.Input((28, 28))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    inside_draw.inside_panel(Predictor(model, "odd"), np.zeros((28, 28), np.float32))


def test_a_network_without_logits_gets_a_message_not_a_traceback():
    at = AppTest.from_function(no_logits_script, default_timeout=APP_TIMEOUT).run()
    assert not at.exception, at.exception
    assert any("has no layer named 'logits'" in info.value for info in at.info)


def test_the_draw_page_shows_the_view_open_with_a_hint_before_any_drawing(runs, monkeypatch):
    home, _ = runs
    monkeypatch.setenv("METALEARN_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page("pages/draw.py")
    at.run()
    assert not at.exception, at.exception
    assert [expander.label for expander in at.expander] == ["Inside the model"]
    assert any("to see inside the model" in element.proto.body for element in at.get("html"))

