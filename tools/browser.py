"""Serve the app on a free local port and drive Debian's Chromium with Playwright.

Never `playwright install`: the browser is Debian's `chromium` package at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("METALEARN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, port: int | None = None, timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` with ``home`` as the data home; returns the process and its URL."""
    port = port or free_port()
    env = {**os.environ, "METALEARN_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"streamlit did not start within {timeout:.0f} s")


def launch_chromium(playwright):
    """Debian's Chromium, headless, with the flags this machine's closed network needs."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def draw_stroke(page, canvas, steps: int = 12) -> None:
    """A vertical stroke (a "1") down the middle of ``canvas`` with the mouse."""
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x + step * 0.5, y + step * box["height"] * 0.6 / steps)
    page.mouse.up()
