"""End-to-end fixtures: the app served on a free local port with a fresh data home, and Debian's
Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from busy_machine import scaled, scaled_ms

from tools.browser import launch_chromium, start_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """(base URL, data home) of a running app."""
    home = tmp_path_factory.mktemp("e2e-home")
    process, url = start_server(home, timeout=scaled(60))
    yield url, home
    process.terminate()
    process.wait(timeout=scaled(20))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(scaled_ms(60_000))  # waits for training use busy_machine.visible_while_progressing
    expect.set_options(timeout=scaled_ms(15_000))  # Playwright's own default is 5 s
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Saved under artifacts/screenshots/ as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
