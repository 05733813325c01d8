"""Screenshots of every page for the README, from a data home with a few real runs.

    python tools/screenshots.py [--out docs/screenshots]   # about 3 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metalearn_core.config import LearnerConfig, StackingConfig  # noqa: E402
from metalearn_core.presets import preset_config  # noqa: E402
from metalearn_core.runner import launch  # noqa: E402
from metalearn_core.session import config_to_token  # noqa: E402
from metalearn_core.store import RunStore  # noqa: E402
from tools.browser import draw_stroke, launch_chromium, start_server  # noqa: E402


def seed_runs(store: RunStore) -> list[int]:
    dense = preset_config("dense").replace(name="dense preset")
    seed = preset_config("seed")
    seed = seed.replace(name="seed network, 3 epochs", training=dataclasses.replace(seed.training, epochs=3))
    stacked = dense.replace(kind="stacked", name="stacked: network + forest", stacking=StackingConfig(
        learners=(LearnerConfig("network"), LearnerConfig("random_forest"))))
    ids = [launch(store, config) for config in (dense, seed, stacked)]
    while any(store.get(run_id).is_active for run_id in ids):
        time.sleep(1)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="screenshots-"))
    store = RunStore(home)
    ids = seed_runs(store)
    process, url = start_server(home)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 1500})
            page.goto(url)
            page.get_by_text("Recent runs").wait_for()
            time.sleep(2)
            page.screenshot(path=str(out / "home.png"))
            config = preset_config("dense").replace(name="watching it learn")
            page.goto(f"{url}/train?config={config_to_token(config)}")
            page.get_by_role("button", name="Launch").click()
            page.get_by_text("Time left").wait_for(timeout=60_000)
            page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=60_000)
            time.sleep(4)
            page.screenshot(path=str(out / "train-live.png"))
            page.get_by_text("Confusion matrix (test set)").wait_for(timeout=120_000)
            time.sleep(2)
            page.set_viewport_size({"width": 1440, "height": 2300})
            page.screenshot(path=str(out / "train-results.png"), full_page=True)
            page.goto(f"{url}/compare?runs={','.join(map(str, ids))}")
            page.locator(".st-key-compare-curves-loss").wait_for(timeout=60_000)
            time.sleep(3)
            page.screenshot(path=str(out / "compare.png"), full_page=True)
            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(f"{url}/draw")
            canvas = page.locator("canvas").last
            canvas.wait_for()
            time.sleep(1)
            draw_stroke(page, canvas)
            page.get_by_text("predicts").first.wait_for(timeout=60_000)
            time.sleep(1)
            page.screenshot(path=str(out / "draw.png"))
            browser.close()
    finally:
        process.terminate()
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
