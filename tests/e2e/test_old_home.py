"""A data home written by the flat layout (tests/fixtures/home-v1), served and used in the browser:
its runs show on Train, Few-shot and Compare, and its model predicts a drawn digit on Draw. The
server imports TensorFlow only when a view needs a model (Draw, and the views inside a stacked
meta network or a few-shot learner's inner loop), not for Compare or a base run's results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from busy_machine import scaled, scaled_ms
from playwright.sync_api import expect

from metalearn_core.runs.store import RunStore
from tools.browser import draw_stroke, start_server, stop_server

from .conftest import screenshot

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "home-v1"


def tensorflow_loaded(pid: int) -> bool:
    """Whether the process has TensorFlow's shared library mapped (it was imported)."""
    return "_pywrap_tensorflow_internal" in Path(f"/proc/{pid}/maps").read_text()


@pytest.fixture()
def old_server(tmp_path, monkeypatch):
    home = tmp_path / "old-home"
    shutil.copytree(FIXTURE, home)
    monkeypatch.setenv("METALEARN_WARM_WORKER", "0")  # the server alone: its own imports are checked
    process, url = start_server(home, timeout=scaled(60))
    yield url, home, process
    stop_server(process, home)


def test_an_old_data_home_opens_compares_and_predicts(old_server, page):
    url, home, process = old_server
    runs = {run.name: run.id for run in RunStore(home).list_runs()}

    page.goto(f"{url}/compare?runs={runs['old-base-renamed']},{runs['old-stacked']}")
    for metric in ("loss", "accuracy"):
        chart = page.locator(f".st-key-compare-curves-{metric}")
        expect(chart).to_contain_text("old-base-renamed", timeout=scaled_ms(60_000))
        expect(chart).to_contain_text("old-stacked")
    screenshot(page, "old-home-compare")

    page.goto(f"{url}/train?run={runs['old-base-renamed']}")
    page.get_by_text("Confusion matrix (test set)").first.wait_for(state="visible")
    expect(page.get_by_text("No layer statistics for this run").first).to_be_visible()
    assert not tensorflow_loaded(process.pid), "Compare or a base run's results imported TensorFlow"

    page.goto(f"{url}/train?run={runs['old-stacked']}")
    page.get_by_text("Confusion matrix (test set)").first.wait_for(state="visible")
    expect(page.get_by_text("What stacking bought").first).to_be_visible()
    expect(page.get_by_text("Inside the meta network").first).to_be_visible(timeout=scaled_ms(60_000))

    page.goto(f"{url}/fewshot?run={runs['old-maml']}")
    page.get_by_text("Episode viewer").first.wait_for(state="visible")
    expect(page.get_by_text("Inner steps taken on the support set").first).to_be_visible(
        timeout=scaled_ms(60_000))

    page.goto(f"{url}/draw")
    canvas = page.locator("canvas").first
    canvas.wait_for(state="visible")
    draw_stroke(page, canvas)
    page.get_by_text("predicts").first.wait_for(state="visible")
    screenshot(page, "old-home-draw")
    assert tensorflow_loaded(process.pid)  # the check above can see TensorFlow when it is there
