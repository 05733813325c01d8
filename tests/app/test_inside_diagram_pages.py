"""The network at a glance on Train and Few-shot, the compact layer editor, and Home's page links."""

from __future__ import annotations

import html
import re
from pathlib import Path

from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def page(path: str) -> AppTest:
    """The app started at Home and switched to ``path``, as tests/app/test_pages.py does."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    return at


def diagram_text(at) -> str:
    """The diagram's HTML, its tags taken out."""
    bodies = [element.value for element in at.html if 'class="nd"' in element.value]
    assert len(bodies) == 1, "one diagram on the page"
    return html.unescape(re.sub(r"<[^>]+>", " ", bodies[0].split("</style>")[-1]))


def row_labels(at) -> list[str]:
    """The layer editor's rows as their summaries read (each row's popover button)."""
    labels = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if type(proto).__name__ == "Block" and proto.WhichOneof("type") == "popover":
                labels.append(proto.popover.label)
            walk(child)

    walk(at._tree)
    return labels


def total(at) -> int:
    return int(re.search(r"Total:\s+([\d,]+)", diagram_text(at)).group(1).replace(",", ""))


def test_train_shows_the_total_and_follows_the_units_box(home):
    at = page("pages/train.py").run()
    assert not at.exception, at.exception
    units = [box for box in at.number_input if box.key.startswith("train.base.") and box.key.endswith(".units")]
    first, second = (box.value for box in units)  # the default preset: flatten, dense, dense
    assert total(at) == (784 * first + first) + (first * second + second) + (second * 10 + 10)
    units[0].set_value(50).run()
    assert not at.exception, at.exception
    assert row_labels(at) == ["Flatten", "Dense 50 · relu", f"Dense {second} · relu"]  # the rows show the edit
    assert total(at) == (784 * 50 + 50) + (50 * second + second) + (second * 10 + 10)
    assert f" {784 * 50 + 50:,} " in diagram_text(at)  # the first dense layer's row


def test_the_editor_is_one_row_per_layer_with_every_control(home):
    at = page("pages/train.py").run()
    at.selectbox(key="train.preset").set_value("cnn").run()
    uid = next(box.key.split(".")[2] for box in at.selectbox if box.key.endswith(".type")
               and box.value == "conv2d")
    assert at.number_input(key=f"train.base.{uid}.filters").value == 32
    assert at.number_input(key=f"train.base.{uid}.kernel").value == 3
    assert not [slider for slider in at.slider if slider.key.startswith("train.base.")]  # no tall sliders
    at.selectbox(key=f"train.base.{uid}.padding").set_value("same").run()
    assert "28×28×32" in diagram_text(at)  # padding 'same' keeps the side
    for name in ("up", "down", "remove"):
        assert at.button(key=f"train.base.{uid}.{name}") is not None
    assert at.button(key=f"train.base.{uid}.up").disabled  # the first layer cannot move up
    assert row_labels(at)[:2] == ["Conv2D 32 · 3×3 same · relu", "MaxPool 2×2"]
    at.button(key=f"train.base.{uid}.down").click().run()
    assert row_labels(at)[:2] == ["MaxPool 2×2", "Conv2D 32 · 3×3 same · relu"]
    at.button(key=f"train.base.{uid}.remove").click().run()
    assert "Conv2D 32 · 3×3 same · relu" not in row_labels(at)


def test_an_impossible_network_says_why_in_the_diagram(home):
    at = page("pages/train.py").run()
    at.selectbox(key="train.preset").set_value("cnn").run()
    kernel = next(box for box in at.number_input if box.key.endswith(".kernel"))
    kernel.set_value(27).run()  # 28 -> 2, then the 2x2 pool -> 1, then the second 3x3 kernel cannot fit
    assert not at.exception, at.exception
    assert "larger than its 1×1 input" in diagram_text(at)


def test_a_stacked_run_shows_its_learners_feeding_the_meta_network(home):
    at = page("pages/train.py").run()
    at.radio(key="train.kind").set_value("stacked").run()
    at.multiselect(key="train.learners").set_value(["network", "random_forest", "svm"]).run()
    text = diagram_text(at)
    assert "Base 2 (random forest)" in text and "Base 3 (svm)" in text and "Meta network" in text
    assert "10 + 10 + 10 = 30 numbers" in text
    at.selectbox(key="train.meta_input").set_value("logits+features").run()
    second = [box.value for box in at.number_input if box.key.endswith(".units")][-1]  # the penultimate width
    assert f"{10 + second} + 10 + 10 = {30 + second} numbers" in diagram_text(at)


def test_a_learned_optimizer_run_shows_the_optimizer_per_weight(home):
    at = page("pages/train.py").run()
    at.selectbox(key="train.preset").set_value("learned-optimizer").run()
    text = diagram_text(at)
    assert "Optimizer (meta network)" in text
    assert f"each of the base network's {784 * 20 + 20 + 20 * 10 + 10:,} weights" in text


def test_fewshot_draws_the_conv_learner_under_its_editor(home):
    at = page("pages/fewshot.py").run()
    assert not at.exception, at.exception
    network_tab = at.tabs[0]
    assert any('class="nd"' in element.value for element in network_tab.get("html"))
    at.selectbox(key="fewshot.algorithm").set_value("maml").run()
    at.slider(key="fewshot.ways").set_value(3).run()
    text = diagram_text(at)
    assert "Dense(3): logits" in text and "2×2×32" in text  # four 'same' pools: 28 -> 14 -> 7 -> 4 -> 2
    at.selectbox(key="fewshot.algorithm").set_value("protonet").run()
    assert "nearest class mean of these" in diagram_text(at) and "logits" not in diagram_text(at)


def test_home_links_every_page_with_a_caption(home):
    at = page("app.py").run()
    links = [link.proto.label for link in at.main.get("page_link")]  # the sidebar has its own
    assert links == ["Train", "Compare", "Sweep", "Few-shot", "Online", "Draw"]
    assert len(at.caption) >= len(links)  # a caption under every link
    captions = " ".join(caption.value for caption in at.caption)
    assert "one or five examples" in captions
