"""In a real browser: pages that show runs and a sweep named like Markdown images and links make no
request to another host and hold no link or image to one; an unexpected error shows neither a
traceback nor a server path, and the server logs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from busy_machine import scaled, scaled_ms, wait_for

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.run import fewshot_network
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore
from tools.browser import free_port, start_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
IMAGE = "![t](http://evil.example/t.png)"
LINK = "[x](http://evil.example/)"
LOCAL = {"127.0.0.1", "localhost"}
FOREIGN_IN_DOM = """() => [
    ...Array.from(document.querySelectorAll('a[href]'), node => node.href),
    ...Array.from(document.querySelectorAll('img[src], image'), node => node.src || node.getAttribute('href') || ''),
].filter(url => url.includes('evil.example'))"""


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    """(URL, {what: id}) of the app serving a home whose runs and sweep have hostile names."""
    home = tmp_path_factory.mktemp("hostile-e2e")
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8)))
    training = TrainingConfig(epochs=1, train_limit=500, test_limit=100)
    store = RunStore(home)
    ids = {"completed": store.create_run(RunConfig(name=IMAGE, base=tiny, training=training), tags=[LINK]),
           "failed": store.create_run(RunConfig(name=LINK, base=tiny, training=training), tags=[IMAGE]),
           "fewshot": store.create_run(RunConfig(kind="fewshot", name=IMAGE, base=fewshot_network("dense", hidden=(8,)),
                                                 settings=FewShotConfig(algorithm="protonet", iterations=10))),
           "online": store.create_run(RunConfig(kind="online", name=LINK))}
    store.finish(ids["completed"], "completed", summary={"test_accuracy": 0.9, "test_loss": 0.3, "epochs_done": 1})
    store.finish(ids["failed"], "failed", error=f"the worker stopped while training {IMAGE}")
    store.finish(ids["fewshot"], "completed", summary={"fewshot_1shot": 0.5, "fewshot_5shot": 0.7})
    store.finish(ids["online"], "failed", error=f"stopped: {LINK}")
    sweeps = SweepStore(home)
    ids["sweep"] = sweeps.create(SweepConfig(space=SearchSpace.from_dict({"learning_rate": {"low": 1e-4, "high": 1e-2}}),
                                             base=RunConfig(base=tiny, training=training), trials=2, name=IMAGE))
    sweeps.update_state(ids["sweep"], status="failed", error=f"trial 0 of {LINK} failed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METALEARN_WARM_WORKER", "0")  # nothing trains here
        process, url = start_server(home, timeout=scaled(60))
    yield url, ids
    stop_server(process, home)


def pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """(path, a text the page shows once the hostile name is on it)."""
    return [("/", "Recent runs"),
            (f"/train?run={ids['completed']}", f"Run {ids['completed']} ·"),
            (f"/train?run={ids['failed']}", f"Run {ids['failed']} ·"),
            (f"/compare?runs={ids['completed']},{ids['failed']}", "Manage a run"),
            (f"/sweep?sweep={ids['sweep']}", f"Sweep {ids['sweep']} ·"),
            (f"/fewshot?run={ids['fewshot']}", f"Run {ids['fewshot']} ·"),
            (f"/online?run={ids['online']}", f"Run {ids['online']} ·"),
            ("/draw", "Classify a digit")]


def test_hostile_names_fetch_nothing_and_link_nowhere(hostile_app, page):
    url, ids = hostile_app
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    for path, marker in pages(ids):
        page.goto(url + path)
        page.get_by_text(marker, exact=False).first.wait_for(state="visible", timeout=scaled_ms(90_000))
        page.wait_for_load_state("networkidle")
        assert page.evaluate(FOREIGN_IN_DOM) == [], path
        if "?run=" in path or "?sweep=" in path:  # the status line shows the name as typed
            line = page.locator("[data-testid='stAlert']", has_text=marker).first.inner_text()
            assert (IMAGE in line.replace("\u2060", "")) or (LINK in line.replace("\u2060", "")), line
    foreign = [address for address in requests
               if urlparse(address).scheme in ("http", "https", "ws", "wss") and urlparse(address).hostname not in LOCAL]
    assert foreign == []


def test_an_unexpected_error_shows_no_traceback_or_path_and_is_logged(tmp_path, page):
    """A page that raises, served with the app's configuration (.streamlit/config.toml, read from the
    directory the server starts in, as `make run` does): the visitor sees a generic message only."""
    script = tmp_path / "crashing_page.py"
    script.write_text("from pathlib import Path\n\nraise RuntimeError(f'crashed in {Path(__file__).resolve()}')\n")
    log = tmp_path / "server.log"
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for(lambda: _healthy(port), timeout=60, what="the server to start")
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("[data-testid='stException']").first.wait_for(state="visible")
        shown = page.inner_text("body")
        assert "This app has encountered an error" in shown
        for secret in ("Traceback", "RuntimeError", "crashed in", str(tmp_path), "site-packages", ".py"):
            assert secret not in shown, secret
        wait_for(lambda: "crashed in" in _plain_log(log), timeout=30, what="the error in the server's log")
    finally:
        process.terminate()
        process.wait(timeout=scaled(20))
    logged = _plain_log(log)
    assert "RuntimeError" in logged and "crashing_page" in logged


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def _plain_log(path: Path) -> str:
    """The server's output without terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", path.read_text(errors="replace"))
