"""Dashboard timings in a real browser (Debian's Chromium driven by Playwright), median of tries.

    python bench/bench_app.py [--tries 5] [--mnist PATH]

1. navigation to each page until its content is shown, on a warm server (goal < 2 s);
2. click on Launch until the first point of the live curve is drawn (goal < 8 s), with where the
   time goes from the worker's own timing marks;
3. mouse released on the canvas until the prediction is shown (goal < 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metalearn_core.presets import DEFAULT_PRESET, preset_config  # noqa: E402
from metalearn_core.runner import launch  # noqa: E402
from metalearn_core.session import config_to_token  # noqa: E402
from metalearn_core.store import RunStore  # noqa: E402
from tools.browser import draw_stroke, launch_chromium, start_server  # noqa: E402

# What shows that each page's content is there (not just the page's frame).
PAGES = {
    "home": ("", "text=Recent runs"),
    "train": ("/train", "button:has-text('Launch')"),
    "compare": ("/compare", "[data-testid='stDataFrame']"),
    "draw": ("/draw", "canvas"),
}
CHART = "[data-testid='stPlotlyChart']"

# Timed inside the page: the user's action (mouse-up or click) and the moment the awaited content
# enters the DOM, both on the page's own clock. Playwright's waits poll at up to 500 ms intervals,
# which would add their own delay to a sub-second measurement.
WATCH = """([event, selector, text]) => {
  window.__acted = null; window.__shown = null;
  document.addEventListener(event, () => { if (window.__acted === null) window.__acted = performance.now(); }, true);
  const shown = () => text ? document.body.innerText.includes(text) : document.querySelector(selector) !== null;
  new MutationObserver(() => {
    if (window.__acted !== null && window.__shown === null && shown()) window.__shown = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def watched_seconds(page) -> float:
    acted, shown = page.evaluate("() => [window.__acted, window.__shown]")
    return (shown - acted) / 1000


def page_loads(browser, url: str, tries: int) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    for path, selector in PAGES.values():  # warm the server: first imports and caches
        page.goto(url + path)
        page.locator(selector).first.wait_for(state="visible", timeout=120_000)
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(tries):
        for name, (path, selector) in PAGES.items():
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(url + path)
            page.locator(selector).first.wait_for(state="visible", timeout=60_000)
            times[name].append(time.perf_counter() - started)
    context.close()
    return {name: {"median_s": statistics.median(values), "tries_s": values} for name, values in times.items()}


def wait_for_warm_worker(store: RunStore, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(store.db_path) as conn:
            if conn.execute("SELECT 1 FROM spare WHERE run_id IS NULL").fetchone():
                return
        time.sleep(0.2)
    raise RuntimeError("no warm worker became ready")


def launch_to_first_point(browser, url: str, store: RunStore, tries: int) -> dict:
    config = preset_config(DEFAULT_PRESET).replace(name="bench-launch")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    results = []
    for _ in range(tries):
        page.goto(f"{url}/train?config={config_to_token(config)}")
        button = page.get_by_role("button", name="Launch")
        button.wait_for(state="visible", timeout=60_000)
        # A user takes a few seconds to set a run up; meanwhile the page has started a warm worker.
        wait_for_warm_worker(store)
        page.evaluate(WATCH, ["click", CHART, ""])
        clicked_at = time.time()
        button.click()
        page.locator(CHART).first.wait_for(state="visible", timeout=120_000)
        seconds = watched_seconds(page)
        run = store.list_runs()[0]
        while store.get(run.id).is_active:  # one run at a time: let it finish before the next try
            time.sleep(0.5)
        run = store.get(run.id)
        timing = {key: value + (run.created_at - clicked_at) for key, value in run.summary.get("timing", {}).items()}
        timing["run_created"] = run.created_at - clicked_at
        timing["warm_start"] = float(bool(run.summary.get("warm_start")))
        timing["first_batch"] = run.summary.get("startup_seconds", 0.0) + (run.created_at - clicked_at)
        results.append({"seconds": seconds, "since_click": timing})
    context.close()
    median = sorted(results, key=lambda item: item["seconds"])[len(results) // 2]
    return {"median_s": median["seconds"], "median_breakdown": median["since_click"],
            "tries_s": [item["seconds"] for item in results]}


def draw_to_prediction(browser, url: str, store: RunStore, mnist: str, tries: int) -> dict:
    if not store.list_runs(statuses=("completed",)):
        run_id = launch(store, preset_config(DEFAULT_PRESET).replace(name="bench-draw"), mnist)
        while store.get(run_id).is_active:
            time.sleep(0.5)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    times = []
    for attempt in range(tries + 1):  # the first loads the model into the server's cache
        page.goto(f"{url}/draw")
        canvas = page.locator("canvas").last
        canvas.wait_for(state="visible", timeout=60_000)
        time.sleep(0.5)
        page.evaluate(WATCH, ["mouseup", "", "predicts"])
        draw_stroke(page, canvas)
        page.get_by_text("predicts").first.wait_for(state="visible", timeout=60_000)
        if attempt:
            times.append(watched_seconds(page))
    context.close()
    return {"median_s": statistics.median(times), "tries_s": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST")
                        or str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    parser.add_argument("--parts", default="launch,draw,pages")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "app.json"))
    args = parser.parse_args()
    os.environ["METALEARN_MNIST"] = args.mnist
    home = Path(tempfile.mkdtemp(prefix="bench-app-"))
    store = RunStore(home)
    process, url = start_server(home)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            results = {}
            parts = args.parts.split(",")
            if "launch" in parts:
                results["launch"] = launch_to_first_point(browser, url, store, max(3, args.tries // 2))
            if "draw" in parts:
                results["draw"] = draw_to_prediction(browser, url, store, args.mnist, args.tries)
            if "pages" in parts:
                results["pages"] = page_loads(browser, url, args.tries)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def print_table(results: dict) -> None:
    print("\n| measurement | median | tries | goal |\n|---|---|---|---|")
    for name, item in results.get("pages", {}).items():
        print(f"| open {name} | {item['median_s']:.2f} s | {', '.join(f'{t:.2f}' for t in item['tries_s'])} | < 2 s |")
    if "launch" in results:
        print_launch(results["launch"])
    if "draw" in results:
        draw = results["draw"]
        print(f"| pen up to prediction | {draw['median_s']:.2f} s | {', '.join(f'{t:.2f}' for t in draw['tries_s'])} "
              f"| < 0.5 s |")


def print_launch(launch_result: dict) -> None:
    print(f"| Launch to first point | {launch_result['median_s']:.2f} s | "
          f"{', '.join(f'{t:.2f}' for t in launch_result['tries_s'])} | < 8 s |")
    steps = ", ".join(f"{key} {value:.2f} s" for key, value in sorted(launch_result["median_breakdown"].items(),
                                                                       key=lambda item: item[1]))
    print(f"| (where it goes, since the click) | {steps} | | |")


if __name__ == "__main__":
    sys.exit(main())
