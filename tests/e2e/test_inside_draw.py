"""Draw a digit in the browser and see the "Inside the model" view under the prediction."""

from __future__ import annotations

import pytest
from busy_machine import scaled_ms, wait_until_done
from playwright.sync_api import expect

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runner import launch
from metalearn_core.runs.store import RunStore
from tools.browser import draw_stroke

from .conftest import screenshot

pytestmark = pytest.mark.slow
QUICK = RunConfig(name="inside-draw", base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64))),
                  training=TrainingConfig(epochs=1, batch_size=64, train_limit=3000, test_limit=1000))
SALIENCY_IMAGES = ".inside-saliency img"  # as bench/bench_app.py waits for them


def test_draw_a_stroke_and_see_inside_the_model(server, page):
    url, home = server
    store = RunStore(home)
    if not any(run.kind == "base" for run in store.list_runs(statuses=("completed",))):
        wait_until_done(store, launch(store, QUICK))
    page.goto(f"{url}/draw")
    canvas = page.locator("canvas").first
    canvas.wait_for(state="visible")
    draw_stroke(page, canvas)
    page.get_by_text("Which pixels decided the ").wait_for(state="visible")
    inside = page.locator("[data-testid='stExpander']").filter(has_text="Inside the model")
    for text in ("Layer by layer", "· Dense · 64 units", "logits", "units your drawing excites most",
                 "Gradient × input"):
        expect(inside).to_contain_text(text)
    saliency = page.locator(SALIENCY_IMAGES)
    expect(saliency).to_have_count(2)
    saliency_loaded(page)
    # the dense strip, logits, probabilities, the weight tiles and the two saliency pictures
    pictures = inside.locator("img")
    expect(pictures).to_have_count(6)
    sorted_strip = pictures.first.get_attribute("src")
    page.get_by_text("in order", exact=True).click()  # each unit in its own place: a new picture
    expect(pictures.first).not_to_have_attribute("src", sorted_strip, timeout=scaled_ms(30_000))
    expect(saliency).to_have_count(2)
    saliency_loaded(page)
    screenshot(page, "inside-draw")


def saliency_loaded(page) -> None:
    page.wait_for_function(f"""() => [...document.querySelectorAll("{SALIENCY_IMAGES}")].every(
        (image) => image.complete && image.naturalWidth > 0)""", timeout=scaled_ms(30_000))
