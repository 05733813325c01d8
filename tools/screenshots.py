"""Screenshots of every page for the README, from a data home with a few real runs.

    python tools/screenshots.py [--out docs/screenshots]          # about 3 minutes
    python tools/screenshots.py --only meta                       # Few-shot and learned optimizer, about 6 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig
from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.presets import preset_config
from metalearn_core.runner import launch
from metalearn_core.runs.store import RunStore
from metalearn_core.session import config_to_token
from tools.browser import draw_stroke, launch_chromium, start_server

ROOT = Path(__file__).resolve().parent.parent


def seed_runs(store: RunStore) -> list[int]:
    dense = preset_config("dense").replace(name="dense preset")
    seed = preset_config("seed")
    seed = seed.replace(name="seed network, 3 epochs", training=dataclasses.replace(seed.training, epochs=3))
    stacked = dense.replace(kind="stacked", name="stacked: network + forest", settings=StackingConfig(
        learners=(LearnerConfig("network"), LearnerConfig("random_forest"))))
    ids = [launch(store, config) for config in (dense, seed, stacked)]
    while any(store.get(run_id).is_active for run_id in ids):
        time.sleep(1)
    return ids


def meta_runs(store: RunStore) -> tuple[int, int]:
    """A one-minute ProtoNet and a two-minute learned optimizer, finished."""
    fewshot = {**recommended_settings("protonet"), "time_budget": 60.0, "evaluation_episodes": 100,
               "baseline_seconds": 30.0}
    protonet = preset_config("dense").replace(kind="fewshot", name="ProtoNet, 1 minute", base=fewshot_network("conv"),
                                              settings=FewShotConfig(algorithm="protonet", **fewshot))
    optimizer = learned_optimizer_preset().replace(name="learned optimizer, 2 minutes",
                                                   settings=LearnedOptimizerConfig(budget_seconds=120))
    ids = (launch(store, protonet), launch(store, optimizer))
    while any(store.get(run_id).is_active for run_id in ids):
        time.sleep(1)
    return ids


def meta_screenshots(page, url: str, out: Path, fewshot_id: int, optimizer_id: int) -> None:
    page.set_viewport_size({"width": 1440, "height": 2600})
    page.goto(f"{url}/fewshot?run={fewshot_id}")
    page.get_by_text("Episode viewer").wait_for(timeout=60_000)
    time.sleep(3)
    page.screenshot(path=str(out / "fewshot.png"), full_page=True)
    page.goto(f"{url}/train?run={optimizer_id}")
    page.get_by_text("Does it generalise?").wait_for(timeout=60_000)
    time.sleep(3)
    page.screenshot(path=str(out / "learned-optimizer.png"), full_page=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", choices=("pages", "meta"), help="only the four first pages, or only the "
                        "Few-shot page and a learned-optimizer run")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="screenshots-"))
    store = RunStore(home)
    meta_ids = meta_runs(store) if args.only != "pages" else None
    ids = seed_runs(store) if args.only != "meta" else []
    process, url = start_server(home)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 1500})
            if meta_ids is not None:
                meta_screenshots(page, url, out, *meta_ids)
            if args.only == "meta":
                browser.close()
                return 0
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
            canvas = page.locator("canvas").first
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
