"""Serve the app on a free local port and drive Debian's Chromium with Playwright.

Never `playwright install`: the browser is Debian's `chromium` package at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import signal
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


def start_server(home: Path, port: int | None = None, timeout: float = 60.0,
                 poll: float = 0.3) -> tuple[subprocess.Popen, str]:
    """The app served as `make run` serves it (``python -m dashboard.serve``: a warm worker, then
    `streamlit run app.py`) with ``home`` as the data home; returns the process and its URL.

    Returns as soon as ``/_stcore/health`` answers 200, asking every ``poll`` seconds (a cold-start
    measurement passes a short one, so that "healthy" is known within a few milliseconds)."""
    port = port or free_port()
    env = {**os.environ, "METALEARN_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard.serve", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as reply:
                if reply.status == 200:
                    return process, f"http://127.0.0.1:{port}"
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {process.returncode} before it was healthy")
        time.sleep(poll)
    process.kill()
    raise RuntimeError(f"streamlit did not start within {timeout:.0f} s")


def processes_naming(path: Path) -> list[int]:
    """Ids of the live processes (this one aside) with ``path``, or a path inside it, as one of their
    command-line arguments (read from /proc; a worker gets its data home as ``--home PATH``)."""
    needle, found = os.fsencode(path), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile, or is not ours to read
            continue
        if any(argument == needle or argument.startswith(needle + b"/") for argument in arguments):
            found.append(int(entry.name))
    return found


def stop_server(process: subprocess.Popen, home: Path, grace: float = 30.0) -> list[int]:
    """Stop a server from :func:`start_server`, then wait until no process names ``home`` any more.

    Workers run in their own sessions, so stopping the server does not stop them: a warm worker
    leaves by itself when its parent app is gone (once its imports are done), a run's worker when
    its run ends. Whatever still names ``home`` after ``grace`` seconds is killed. Returns the ids
    that had to be killed (empty when everything left by itself)."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    deadline = time.monotonic() + grace
    while (left := processes_naming(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while processes_naming(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    if remaining := processes_naming(home):
        raise RuntimeError(f"processes {remaining} still use {home} after SIGKILL")
    return left


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
