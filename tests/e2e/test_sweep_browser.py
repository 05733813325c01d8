"""The Sweep page in a real browser: launch a 3-trial sweep on a tiny slice and watch it finish."""

from __future__ import annotations

import re

import pytest
from busy_machine import scaled_ms, visible_while_progressing
from playwright.sync_api import expect

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.session import config_to_token
from metalearn_core.sweeps.store import SweepStore

from .conftest import screenshot

pytestmark = pytest.mark.slow
TINY = RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                 training=TrainingConfig(epochs=2, batch_size=64, train_limit=1000, test_limit=300))


def test_sweep_launches_three_trials_and_shows_them(server, page):
    url, home = server
    page.goto(f"{url}/sweep?config={config_to_token(TINY)}")  # the Train page's setup, from the link
    page.get_by_text("What to search", exact=True).wait_for(state="visible")
    trials = page.get_by_role("spinbutton", name="Trials", exact=True)
    trials.fill("3")
    trials.press("Enter")
    name = page.get_by_role("textbox", name="Sweep name (optional)")
    name.fill("browser-sweep")
    name.press("Enter")
    launch = page.get_by_role("button", name="Launch sweep")
    expect(launch).to_be_enabled()
    launch.click()
    expect(page).to_have_url(re.compile(r"sweep=\d+"), timeout=scaled_ms(30_000))
    store = RunStore(home)  # the waits for the trials last as long as they make progress
    visible_while_progressing(page.get_by_text("Trials finished").first, store, "the trials table")
    visible_while_progressing(page.get_by_text("browser-sweep: completed").first, store, "the sweep's end")
    expect(page.get_by_text("3 / 3")).to_be_visible()
    expect(page.get_by_text("Which settings mattered")).to_be_visible()
    screenshot(page, "sweep")
    sweep = next(sweep for sweep in SweepStore(home).list() if sweep.name == "browser-sweep")
    assert sweep.state["trials"]["complete"] == 3
    assert sweep.config.base.training.train_limit == 1000  # the link's setup is the base of every trial
    page.reload()  # the sweep survives a reload: the URL names it
    page.get_by_text("browser-sweep: completed").first.wait_for(state="visible")
