"""Dashboard timings in a real browser (Debian's Chromium driven by Playwright), median of tries.

    python bench/bench_app.py [--tries 5] [--mnist PATH] [--parts launch,draw,pages]
    python bench/bench_app.py --cold [--cold-tries 3] [--parts launch]

Warm (``--parts``, all three by default), on one server that has already served every page:

1. navigation to each page until its content is shown, on a warm server (goal < 2 s);
2. click on Launch until the first point of the live curve is drawn (goal < 8 s), with where the
   time goes from the worker's own timing marks;
3. mouse released on the canvas until the prediction and the whole "Inside the model" view under it
   are shown, up to its last part, the saliency pictures (loaded) and their caption (goal < 0.5 s).

Cold (``--cold``; alone it measures only this, with ``--parts`` it runs first, then those): what a
new user meets on a fresh server, median of ``--cold-tries``. Each try makes a new, empty data
home, starts a new Streamlit server and, the moment ``/_stcore/health`` answers, opens the Train
page (default preset) in a new browser context:

4. Train usable: from that ``goto`` until the Launch button is visible and enabled, with no
   skeleton left on the page (goal < 3 s);
5. Launch to first point, cold: Launch clicked as soon as the page is usable (no waiting for the
   warm worker) until the first point of the live curve is drawn (goal < 8 s), with the worker's
   timing marks. The run is then cancelled, the server stopped, and every process that names the
   try's data home waited for (or killed), so that the next try starts from nothing. The disk
   cache is not dropped: "cold" means new processes and new data, not a cold file cache.
6. Draw canvas, cold: the same, over a data home with one finished run (a copy, for each try, of a
   home where the default preset was trained once, before the first try), opening the Draw page:
   from that ``goto`` until its title is shown, and until the canvas is shown (visible, with a
   size: the component draws it inside its own shadow root) (goal < 3 s). The server is then
   stopped as above; nothing is drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from metalearn_core.presets import DEFAULT_PRESET, preset_config
from metalearn_core.runner import cancel, launch
from metalearn_core.runs.store import RunStore
from metalearn_core.session import config_to_token
from tools.browser import draw_stroke, launch_chromium, processes_naming, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent

# What shows that each page's content is there (not just the page's frame).
PAGES = {
    "home": ("", "text=Recent runs"),
    "train": ("/train", "button:has-text('Launch')"),
    "compare": ("/compare", "[data-testid='stDataFrame']"),
    "draw": ("/draw", "canvas"),
}
CHART = "[data-testid='stPlotlyChart']"
# The end of Draw's "Inside the model" view (dashboard/inside_draw.py): its saliency caption and pictures.
INSIDE_DONE_TEXT = "Which pixels decided the "
INSIDE_DONE_IMAGES = ".inside-saliency img"

# Timed inside the page: the user's action (mouse-up or click) and the moment the awaited content
# is there, both on the page's own clock: the text is in the page and, for a selector, every element
# it matches is in the DOM (an image also loaded). Playwright's waits poll at up to 500 ms intervals,
# which would add their own delay to a sub-second measurement.
WATCH = """([event, selector, text]) => {
  window.__acted = null; window.__shown = null;
  document.addEventListener(event, () => { if (window.__acted === null) window.__acted = performance.now(); }, true);
  const loaded = (element) => element.tagName !== "IMG" || (element.complete && element.naturalWidth > 0);
  const found = () => {
    const elements = [...document.querySelectorAll(selector)];
    return elements.length > 0 && elements.every(loaded);
  };
  const shown = () => (!text || document.body.innerText.includes(text)) && (!selector || found());
  const check = () => {
    if (window.__acted !== null && window.__shown === null && shown()) window.__shown = performance.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                      attributes: true});
  document.addEventListener("load", check, true);  // an image done loading is no DOM mutation: listen for it
}"""


def watched_seconds(page) -> float:
    acted, shown = page.evaluate("() => [window.__acted, window.__shown]")
    return (shown - acted) / 1000


# Train usable, cold, timed on the page's clock as well. This runs as an init script, in the new
# document before any of the page's own scripts, so it sees the page from its first byte: a
# MutationObserver (attributes included: `disabled` going away is an attribute change) plus a
# 10 ms timer as a backstop for changes that are no DOM mutation, e.g. a stylesheet arriving, check
# that a Launch button is rendered (has a layout box, not hidden) and enabled and that no skeleton
# (Streamlit's placeholder while the app's script has not drawn yet) is left, and record
# performance.now() (milliseconds since the navigation started) the first time all of that holds.
# Python notes the wall clock just before `page.goto`; performance.timeOrigin is the wall-clock
# time of the navigation start, so the figure is (timeOrigin + usable) - goto, i.e. from the goto
# issued right after the server answered healthy, with no polling delay in it.
USABLE = """() => {
  window.__usable = null;
  const skeleton = "[data-testid='stSkeleton'], [data-testid='stAppSkeleton']";
  const usable = () => !document.querySelector(skeleton) && [...document.querySelectorAll("button")].some(
    (b) => b.innerText.trim() === "Launch" && !b.disabled && b.getAttribute("aria-disabled") !== "true"
      && b.getClientRects().length > 0 && getComputedStyle(b).visibility !== "hidden");
  let observer = null, timer = null;
  const check = () => {
    if (window.__usable !== null || !document.body || !usable()) return;
    window.__usable = performance.now();
    observer.disconnect(); clearInterval(timer);
  };
  observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  timer = setInterval(check, 10);
}"""


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
        if store.spare_state() == "ready":
            return
        time.sleep(0.2)
    raise RuntimeError("no warm worker became ready")


def since_click(run, clicked_at: float) -> dict[str, float]:
    """The worker's start-up marks of ``run`` as seconds after the Launch click."""
    offset = run.created_at - clicked_at
    timing = {key: value + offset for key, value in run.summary.get("timing", {}).items()}
    timing["run_created"] = offset
    timing["warm_start"] = float(bool(run.summary.get("warm_start")))
    timing["first_batch"] = run.summary.get("startup_seconds", 0.0) + offset
    return timing


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
        timing = since_click(run, clicked_at)
        results.append({"seconds": seconds, "since_click": timing})
    context.close()
    median = sorted(results, key=lambda item: item["seconds"])[len(results) // 2]
    return {"median_s": median["seconds"], "median_breakdown": median["since_click"],
            "tries_s": [item["seconds"] for item in results]}


def cold_try(browser) -> dict:
    """One cold try (see the module's docstring); leaves no process and no data home behind.

    A failed try keeps its data home (worker logs, a screenshot of the page) and says where."""
    config = preset_config(DEFAULT_PRESET).replace(name="bench-cold")
    home = Path(tempfile.mkdtemp(prefix="bench-cold-")).resolve()
    # The context exists before the server starts (it does not touch the server), so that nothing
    # but the goto itself stands between "healthy" and the page being asked for.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(script=f"({USABLE})();")
    page = context.new_page()
    process = None
    try:
        started = time.time()
        process, url = start_server(home, timeout=120, poll=0.01)
        server_seconds = time.time() - started
        goto_at = time.time()
        page.goto(f"{url}/train?config={config_to_token(config)}", wait_until="commit")
        page.wait_for_function("() => window.__usable !== null", polling=20, timeout=120_000)
        origin, usable = page.evaluate("() => [performance.timeOrigin, window.__usable]")
        usable_seconds = (origin + usable) / 1000 - goto_at

        page.evaluate(WATCH, ["click", CHART, ""])
        clicked_at = time.time()
        page.get_by_role("button", name="Launch").click()
        page.locator(CHART).first.wait_for(state="visible", timeout=300_000)
        launch_seconds = watched_seconds(page)

        store = RunStore(home)  # only now: the app itself must make its data home's database
        run = store.list_runs()[0]
        deadline = time.monotonic() + 30  # the first batch's mark is written before its progress
        while "startup_seconds" not in store.get(run.id).summary and time.monotonic() < deadline:
            time.sleep(0.1)
        cancel(store, run.id)  # the first point is all this measures: no need to train on
        deadline = time.monotonic() + 60
        while store.get(run.id).is_active and time.monotonic() < deadline:
            time.sleep(0.2)
        run = store.get(run.id)
        timing = since_click(run, clicked_at)
    except BaseException:
        try:
            page.screenshot(path=str(home / "cold-failure.png"), full_page=True)
        except Exception:  # noqa: BLE001 - the screenshot only helps; the original error matters
            pass
        print(f"cold try failed: its data home (worker logs, screenshot) is kept at {home}", file=sys.stderr)
        raise
    finally:
        context.close()
        killed = stop_server(process, home) if process is not None else []
    shutil.rmtree(home, ignore_errors=True)
    if killed:
        print(f"cold try: killed {len(killed)} process(es) still running after the server stopped", file=sys.stderr)
    return {"server_seconds": server_seconds, "usable_seconds": usable_seconds, "launch_seconds": launch_seconds,
            "since_click": timing}


# Draw's title and canvas shown, cold: an init script like USABLE, recording performance.now() the
# first time the page's title is visible and the first time a visible canvas with a size is. The
# canvas component renders inside a shadow root, which a MutationObserver on the document does not
# see: the 10 ms timer looks there.
DRAW_SHOWN = """() => {
  window.__title = null; window.__canvas = null;
  const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
  const canvases = (root) => {
    const found = [...root.querySelectorAll("canvas")];
    for (const element of root.querySelectorAll("*")) if (element.shadowRoot) found.push(...canvases(element.shadowRoot));
    return found;
  };
  let observer = null, timer = null;
  const check = () => {
    if (!document.body) return;
    const now = performance.now();
    if (window.__title === null && [...document.querySelectorAll("h1")].some(
      (h) => h.innerText.includes("Draw a digit") && visible(h))) window.__title = now;
    if (window.__canvas === null && canvases(document).some((c) => c.width > 0 && c.height > 0 && visible(c)))
      window.__canvas = now;
    if (window.__title !== null && window.__canvas !== null) { observer.disconnect(); clearInterval(timer); }
  };
  observer = new MutationObserver(check);
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  timer = setInterval(check, 10);
}"""


def home_with_a_finished_run(mnist: str) -> Path:
    """A data home where the default preset was trained once: what each cold Draw try copies."""
    home = Path(tempfile.mkdtemp(prefix="bench-cold-draw-home-")).resolve()
    store = RunStore(home)
    run_id = launch(store, preset_config(DEFAULT_PRESET).replace(name="bench-cold-draw"), mnist)
    while store.get(run_id).is_active:
        time.sleep(0.5)
    if store.get(run_id).status != "completed":
        raise RuntimeError(f"the Draw page's run did not finish: {store.get(run_id).error}")
    deadline = time.monotonic() + 60  # the worker leaves once its run is recorded
    while processes_naming(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    return home


def cold_draw_try(browser, template: Path) -> dict:
    """One cold Draw try (see the module's docstring) over a copy of ``template``; leaves nothing behind."""
    home = Path(tempfile.mkdtemp(prefix="bench-cold-draw-")).resolve() / "home"
    shutil.copytree(template, home)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(script=f"({DRAW_SHOWN})();")
    page = context.new_page()
    process = None
    try:
        process, url = start_server(home, timeout=120, poll=0.01)
        goto_at = time.time()
        page.goto(f"{url}/draw", wait_until="commit")
        page.wait_for_function("() => window.__canvas !== null && window.__title !== null", polling=20,
                               timeout=120_000)
        origin, title, canvas = page.evaluate("() => [performance.timeOrigin, window.__title, window.__canvas]")
    except BaseException:
        try:
            page.screenshot(path=str(home / "cold-draw-failure.png"), full_page=True)
        except Exception:  # noqa: BLE001 - the screenshot only helps; the original error matters
            pass
        print(f"cold Draw try failed: its data home is kept at {home}", file=sys.stderr)
        raise
    finally:
        context.close()
        killed = stop_server(process, home) if process is not None else []
    shutil.rmtree(home.parent, ignore_errors=True)
    if killed:
        print(f"cold Draw try: killed {len(killed)} process(es) still running after the server stopped",
              file=sys.stderr)
    return {"title_seconds": (origin + title) / 1000 - goto_at, "canvas_seconds": (origin + canvas) / 1000 - goto_at}


def cold_start(browser, tries: int, mnist: str) -> dict:
    results = [cold_try(browser) for _ in range(tries)]
    template = home_with_a_finished_run(mnist)
    try:
        draws = [cold_draw_try(browser, template) for _ in range(tries)]
    finally:
        shutil.rmtree(template, ignore_errors=True)
    median = sorted(results, key=lambda item: item["launch_seconds"])[len(results) // 2]
    return {
        "server_healthy": {"median_s": statistics.median(item["server_seconds"] for item in results),
                           "tries_s": [item["server_seconds"] for item in results]},
        "train_usable": {"median_s": statistics.median(item["usable_seconds"] for item in results),
                         "tries_s": [item["usable_seconds"] for item in results]},
        "launch": {"median_s": median["launch_seconds"], "tries_s": [item["launch_seconds"] for item in results],
                   "median_breakdown": median["since_click"]},
        "draw_title": {"median_s": statistics.median(item["title_seconds"] for item in draws),
                       "tries_s": [item["title_seconds"] for item in draws]},
        "draw_canvas": {"median_s": statistics.median(item["canvas_seconds"] for item in draws),
                        "tries_s": [item["canvas_seconds"] for item in draws]},
    }


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
        page.evaluate(WATCH, ["mouseup", INSIDE_DONE_IMAGES, INSIDE_DONE_TEXT])
        draw_stroke(page, canvas)
        page.wait_for_function("() => window.__shown !== null", polling=50, timeout=60_000)
        if attempt:
            times.append(watched_seconds(page))
    context.close()
    return {"median_s": statistics.median(times), "tries_s": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST")
                        or str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    parser.add_argument("--parts", default=None,
                        help="warm parts, of launch,draw,pages (all by default; none with --cold unless given)")
    parser.add_argument("--cold", action="store_true", help="measure a new user's first visit to a fresh server")
    parser.add_argument("--cold-tries", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "app.json"))
    args = parser.parse_args()
    os.environ["METALEARN_MNIST"] = args.mnist
    parts = args.parts.split(",") if args.parts else ([] if args.cold else ["launch", "draw", "pages"])
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        if args.cold:  # first, with no warm server (nor its warm worker) taking the cores
            results["cold"] = cold_start(browser, args.cold_tries, args.mnist)
        if parts:
            home = Path(tempfile.mkdtemp(prefix="bench-app-"))
            store = RunStore(home)
            process, url = start_server(home)
            try:
                if "launch" in parts:
                    results["launch"] = launch_to_first_point(browser, url, store, max(3, args.tries // 2))
                if "draw" in parts:
                    results["draw"] = draw_to_prediction(browser, url, store, args.mnist, args.tries)
                if "pages" in parts:
                    results["pages"] = page_loads(browser, url, args.tries)
            finally:
                stop_server(process, home)
        browser.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


def print_table(results: dict) -> None:
    print("\n| measurement | median | tries | goal |\n|---|---|---|---|")
    if "cold" in results:
        cold = results["cold"]
        print(f"| cold: Train usable | {cold['train_usable']['median_s']:.2f} s | "
              f"{', '.join(f'{t:.2f}' for t in cold['train_usable']['tries_s'])} | < 3 s |")
        print_launch(cold["launch"], "cold: Launch to first point")
        print(f"| (cold: server start to healthy, before the above) | {cold['server_healthy']['median_s']:.2f} s | "
              f"{', '.join(f'{t:.2f}' for t in cold['server_healthy']['tries_s'])} | |")
        print(f"| cold: Draw title shown | {cold['draw_title']['median_s']:.2f} s | "
              f"{', '.join(f'{t:.2f}' for t in cold['draw_title']['tries_s'])} | |")
        print(f"| cold: Draw canvas shown | {cold['draw_canvas']['median_s']:.2f} s | "
              f"{', '.join(f'{t:.2f}' for t in cold['draw_canvas']['tries_s'])} | < 3 s |")
    for name, item in results.get("pages", {}).items():
        print(f"| open {name} | {item['median_s']:.2f} s | {', '.join(f'{t:.2f}' for t in item['tries_s'])} | < 2 s |")
    if "launch" in results:
        print_launch(results["launch"])
    if "draw" in results:
        draw = results["draw"]
        print(f"| pen up to prediction and inside views | {draw['median_s']:.2f} s | {', '.join(f'{t:.2f}' for t in draw['tries_s'])} "
              f"| < 0.5 s |")


def print_launch(launch_result: dict, label: str = "Launch to first point") -> None:
    print(f"| {label} | {launch_result['median_s']:.2f} s | "
          f"{', '.join(f'{t:.2f}' for t in launch_result['tries_s'])} | < 8 s |")
    steps = ", ".join(f"{key} {value:.2f} s" for key, value in sorted(launch_result["median_breakdown"].items(),
                                                                       key=lambda item: item[1]))
    print(f"| (where it goes, since the click) | {steps} | | |")


if __name__ == "__main__":
    sys.exit(main())
