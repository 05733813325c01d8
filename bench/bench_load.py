"""Load test: many browser sessions watching a live run on one server, against one session alone.

    python bench/bench_load.py [--sessions 30] [--seconds 30] [--settle 10] [--mnist PATH]
    python bench/bench_load.py --quick          # 3 sessions, 10 s windows: a smoke run

Issue 13's goal: 30 browser sessions watching live runs, with the page refresh still under 1 s
median. This starts the app as `make run` serves it (``python -m dashboard.serve`` on a new, empty
data home), and measures two phases, one after the other, each on a run of its own (the default
preset, with enough epochs to stay live for the whole phase, cancelled at its end) so that both
phases see a run of about the same age and size:

1. baseline: 1 session (a Chromium page) on Train watching the live run;
2. load: ``--sessions`` sessions (pages, one browser context each, all in one headless Debian
   Chromium driven by Playwright), every one on Train watching the same live run.

In each phase the sessions are opened, and once every one shows the live curves the script waits
``--settle`` seconds (the page openings' full script runs are over), then measures for
``--seconds`` seconds. Every figure is taken in the pages themselves, by a script that wraps the
page's WebSocket before Streamlit's own code runs and reads its protobuf messages' top-level fields:

* **refresh** (the goal's figure): the live panel is an ``st.fragment(run_every=1.0)``; Streamlit's
  page sends a fragment rerun request once a second (a browser timer), and the server answers with
  the redrawn panel, closed by a ``script_finished`` message. A refresh's time is from the request
  leaving the page to the answer's ``script_finished`` arriving in it: the server's queueing and
  script run, the transfer of every element, and the page's own delay in reading it (its renderer
  shares the machine). A server that is still busy with a session's previous refresh folds requests
  that arrive meanwhile into one rerun, run when the previous one ends: such a request is counted
  from when it was sent until that later rerun's answer (:func:`refresh_latencies`), so a backlog
  shows in full. Requests not answered when the phase is read (3 s after its end) are counted apart.
* **data to screen**: how old the curve a user sees is. The bench polls the store every 50 ms and
  notes when each in-epoch point (the live curve's thin line) first appears there; each page notes
  (polling its chart every 50 ms) when its live chart first draws a point that far along. With a
  one-second refresh this is about 0.5 s plus a refresh on an idle server.
* **interval**: time between consecutive refreshes' answers in a page (1 s when the server keeps
  up), and the refreshes each page got per second.
* **open under load**: after the window, with every session still open, one more page opens Train
  on the run: from ``goto`` until its live chart has drawn (the page's own clock).
* **CPU**: cores used during the window (CPU seconds per second, from /proc) by the server process,
  the training worker(s), the browser (Chromium and Playwright's driver), this script, and every
  other process on the machine (named, when one used more than a tenth of a core): another job on
  this 2-core machine is part of what the figures measured, so it is reported with them.

The browsers run on the same 2 cores as the server and the training run; real users' browsers run on
their own machines. The browser's share of the CPU is reported so that a reader can judge how much
of the load it adds. Output: a markdown table, and the figures as JSON in bench/results/load.json.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from metalearn_core import runner
from metalearn_core.presets import preset_config
from metalearn_core.runs.store import RunStore
from tools.browser import launch_chromium, processes_naming, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent

# Runs in each page before its own scripts (an init script). It wraps WebSocket so that Streamlit's
# connection logs, on the page's wall clock (Date.now(), the same clock as Python's time.time()):
# each fragment auto-rerun request sent (BackMsg field 11 rerun_script, whose ClientState has a
# fragment_id, field 5, and is_auto_rerun, field 6), and each script_finished received (ForwardMsg
# field 6, with its status: 0 a full run, 3 a fragment run) with the bytes received so far. It also
# polls the page's plotly charts every 50 ms and logs the furthest x of the live chart's in-epoch
# line (the traces named "... running (within epoch)") whenever it changes.
HOOK = r"""(() => {
  const log = {requests: [], finishes: [], chart: [], bytes: 0, messages: 0, errors: 0};
  window.__load = log;
  const varint = (b, i) => {
    let value = 0, scale = 1, byte;
    do { byte = b[i++]; value += (byte & 127) * scale; scale *= 128; } while (byte & 128);
    return [value, i];
  };
  const fields = (b) => {  // a protobuf message's top-level fields: [number, value]
    const out = [];
    let i = 0;
    while (i < b.length) {
      let key, value = null;
      [key, i] = varint(b, i);
      const wire = key & 7, number = Math.floor(key / 8);
      if (wire === 0) [value, i] = varint(b, i);
      else if (wire === 2) { let n; [n, i] = varint(b, i); value = b.subarray(i, i + n); i += n; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
      out.push([number, value]);
    }
    return out;
  };
  const bytesOf = (data) => data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  const received = (b, t) => {
    if (!b) return;
    log.messages += 1;
    log.bytes += b.length;
    for (const [number, value] of fields(b)) if (number === 6) log.finishes.push([t, value, log.bytes]);
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const t = Date.now();
        try {
          if (event.data instanceof Blob) event.data.arrayBuffer().then((buffer) => received(new Uint8Array(buffer), t));
          else received(bytesOf(event.data), t);
        } catch (error) { log.errors += 1; }
      });
    }
    send(data) {
      try {
        const b = bytesOf(data);
        for (const [number, value] of b ? fields(b) : []) {
          if (number !== 11 || !(value instanceof Uint8Array)) continue;
          const state = Object.fromEntries(fields(value));
          if (state[5] && state[5].length && state[6]) log.requests.push(Date.now());
        }
      } catch (error) { log.errors += 1; }
      return super.send(data);
    }
  };
  let last = null;
  setInterval(() => {
    let top = -1;
    for (const plot of document.querySelectorAll(".js-plotly-plot"))
      for (const trace of plot.data || [])
        if (String(trace.name || "").includes("running") && trace.x) for (const x of trace.x) if (x > top) top = x;
    if (top !== last) { last = top; log.chart.push([Date.now(), top]); }
  }, 50);
})();"""

CHART_DRAWN = "() => window.__load && window.__load.chart.some(([, x]) => x >= 0)"
FRAGMENT_FINISHED = 3  # ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
READ_GRACE = 3.0  # seconds after a window before the pages' logs are read


def refresh_latencies(requests: list[float], finishes: list[float]) -> list[float | None]:
    """For each rerun request (times sent), the time until the answer that includes it arrived.

    One session's reruns run one at a time: a request that comes while no rerun is running starts
    one; requests that come while one runs wait and are folded into the next, which starts when the
    running one ends. ``finishes`` are the times the reruns' answers arrived. None: not answered.

    Example:
        >>> refresh_latencies([0.0, 1.0, 1.5], [0.3, 2.0])  # 0.0 answered at 0.3; 1.0 starts a rerun, 1.5 waits
        [0.3, 1.0, None]
    """
    # At a tie the answer comes first: a request sent as an answer arrives cannot be in that rerun.
    events = sorted([(t, 1, index) for index, t in enumerate(requests)] + [(t, 0, -1) for t in finishes])
    latencies: list[float | None] = [None] * len(requests)
    running: list[int] = []
    waiting: list[int] = []
    for t, is_request, index in events:
        if is_request:
            (waiting if running else running).append(index)
        elif running:  # an answer with nothing running answers a request from before the log began
            for answered in running:
                latencies[answered] = t - requests[answered]
            running, waiting = waiting, []
    return latencies


def display_latencies(written: list[tuple[float, float]], shown: list[tuple[float, float]]) -> list[float | None]:
    """For each point written to the store (time, x), the time until a page's chart first reached x.

    ``shown`` holds (time, furthest x drawn) in time order; None: never reached.

    Example:
        >>> display_latencies([(10.0, 0.1), (10.25, 0.2), (10.5, 0.3)], [(10.75, 0.2), (11.5, 0.3)])
        [0.75, 0.5, 1.0]
    """
    reached, times, top = [], [], float("-inf")
    for t, x in shown:
        if x > top:
            top = x
            reached.append(x)
            times.append(t)
    out: list[float | None] = []
    for t, x in written:
        position = bisect.bisect_left(reached, x - 1e-9)
        out.append(times[position] - t if position < len(reached) else None)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks; None for no values.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 95)
        (2.5, 3.85)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 6)


def summary(values: list[float]) -> dict:
    return {"median": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}


# --- CPU from /proc -----------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(parent id, user+system ticks, resident bytes, name) of a process; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE"), name


def _processes() -> dict[int, tuple[int, int, int, str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def _machine_busy_ticks() -> int:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal


class CpuMeter:
    """Cores used over a window by the server, the training workers, the browser, this script and the rest."""

    def __init__(self, server_pid: int, home: Path):
        self.server_pid, self.home = server_pid, home

    def groups(self, processes: dict) -> dict[int, str]:
        children: dict[int, list[int]] = {}
        for pid, (parent, *_rest) in processes.items():
            children.setdefault(parent, []).append(pid)
        workers = set(processes_naming(self.home)) - {self.server_pid}
        group = {self.server_pid: "server", os.getpid(): "bench"}
        group.update({pid: "workers" for pid in workers})
        stack = list(children.get(os.getpid(), []))
        while stack:  # this script's descendants that are not workers: Playwright's driver and Chromium
            pid = stack.pop()
            group.setdefault(pid, "browser")
            stack.extend(children.get(pid, []))
        return group

    def start(self) -> None:
        self.started, self.machine_started = time.monotonic(), _machine_busy_ticks()
        self.before = _processes()

    def stop(self) -> dict:
        after, seconds = _processes(), time.monotonic() - self.started
        machine = (_machine_busy_ticks() - self.machine_started) / CLOCK_TICKS / seconds
        group = self.groups(after)
        cores: dict[str, float] = {"server": 0.0, "workers": 0.0, "browser": 0.0, "bench": 0.0, "other": 0.0}
        others: dict[str, float] = {}
        memory: dict[str, int] = {}
        for pid, (_parent, ticks, resident, name) in after.items():
            used = (ticks - self.before[pid][1] if pid in self.before else ticks) / CLOCK_TICKS / seconds
            kind = group.get(pid, "other")
            cores[kind] += used
            memory[kind] = memory.get(kind, 0) + resident
            if kind == "other":
                others[name] = others.get(name, 0.0) + used
        return {"cores": {key: round(value, 3) for key, value in cores.items()},
                "machine_cores": round(machine, 3), "cpu_count": os.cpu_count(),
                "busy_others": {name: round(value, 2) for name, value in sorted(others.items(), key=lambda i: -i[1])
                                if value >= 0.1},
                "resident_mib": {key: round(value / 2**20) for key, value in memory.items() if key != "other"}}


# --- the store side: when each point of the live curve was written ---------------------------------

class PointWatcher(threading.Thread):
    """Notes the wall-clock time each in-epoch point of a run first appears in the store."""

    def __init__(self, store: RunStore, run_id: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.store, self.run_id, self.every = store, run_id, every
        self.written: list[tuple[float, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        seen: set[float] = set()
        while not self.stopping.is_set():
            xs = [point["x"] for point in self.store.points(self.run_id)]
            now = time.time()
            self.written.extend((now, x) for x in xs if x not in seen)
            seen.update(xs)
            self.stopping.wait(self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def furthest(self, until: float) -> float:
        return max((x for t, x in self.written if t <= until), default=0.0)


# --- one phase --------------------------------------------------------------------------------------

def wait_until(condition, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class PageSession:
    """A Chromium page (its own browser context) with the WebSocket hook, on ``url``."""

    def __init__(self, browser, url: str):
        self.opened_at = time.time()
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.add_init_script(script=HOOK)
        self.page = self.context.new_page()
        self.page.goto(url, wait_until="commit", timeout=120_000)

    def wait_shown(self, timeout: float) -> None:
        self.page.wait_for_function(CHART_DRAWN, polling=250, timeout=timeout * 1000)

    def read(self) -> dict:
        log = self.page.evaluate("() => window.__load")
        log["plotly_charts"] = self.page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
        log["visibility"] = self.page.evaluate("() => document.visibilityState")
        return log

    def close(self) -> None:
        self.context.close()


class SocketSession:
    """A simulated browser session speaking Streamlit's protocol (bench/protocol_session.py)."""

    def __init__(self, _browser, url: str):
        from protocol_session import ProtocolSession

        self.opened_at = time.time()
        self.session = ProtocolSession(url)
        self.session.start()

    def wait_shown(self, timeout: float) -> None:
        if not self.session.first_chart.wait(timeout):
            raise RuntimeError(f"no live chart within {timeout:.0f} s")
        if self.session.failure is not None:
            raise RuntimeError(f"session failed: {self.session.failure!r}")

    def read(self) -> dict:
        return {**self.session.log, "plotly_charts": None, "visibility": "no renderer"}

    def close(self) -> None:
        self.session.close()


CLIENTS = {"chromium": PageSession, "protocol": SocketSession}


def phase(browser, client, url: str, store: RunStore, meter: CpuMeter, config, mnist: str, sessions: int,
          seconds: float, settle: float) -> dict:
    # Each phase's run starts the same way: handed to a warm worker, as a Launch click's would be.
    runner.ensure_spare(store, mnist)
    try:
        wait_until(lambda: store.spare_state() == "ready", 120, "a warm worker")
    except RuntimeError as error:
        print(f"{error}: launching anyway", file=sys.stderr)
    run_id = runner.launch(store, config, mnist)
    watcher = PointWatcher(store, run_id)
    watcher.start()
    wait_until(lambda: bool(watcher.written), 180, f"run {run_id}'s first point")
    started = time.time()
    target = f"{url}/train?run={run_id}"
    opened = [client(browser, target) for _ in range(sessions)]
    for session in opened:
        session.wait_shown(300)
    all_shown = time.time()
    time.sleep(settle)

    meter.start()
    window = (time.time(), None)
    time.sleep(seconds)
    window = (window[0], time.time())
    cpu = meter.stop()
    time.sleep(READ_GRACE)
    logs = [session.read() for session in opened]

    # A newcomer's page with every session still watching: opened until its live chart has drawn.
    newcomer = client(browser, target)
    newcomer.wait_shown(300)
    first_drawn = newcomer.read()["chart"]
    first_drawn = next(t for t, x in first_drawn if x >= 0) / 1000
    newcomer.close()
    for session in opened:
        session.close()
    watcher.stop()
    runner.cancel(store, run_id)
    wait_until(lambda: not store.get(run_id).is_active, 60, f"run {run_id} to stop")

    result = analyse(logs, watcher.written, window)
    result.update({
        "sessions": sessions, "run_id": run_id, "window_s": round(window[1] - window[0], 2),
        "open_all_s": round(all_shown - started, 2), "open_under_load_s": round(first_drawn - newcomer.opened_at, 3),
        "run_age_at_window_s": round(window[0] - watcher.written[0][0], 1),
        "epochs_at_window": [round(watcher.furthest(window[0]), 2), round(watcher.furthest(window[1]), 2)],
        "plotly_charts_per_page": sorted({log["plotly_charts"] for log in logs}, key=str),
        "visibility": sorted({log["visibility"] for log in logs}),
        "hook_errors": sum(log["errors"] for log in logs), "cpu": cpu,
    })
    return result


def analyse(logs: list[dict], written: list[tuple[float, float]], window: tuple[float, float]) -> dict:
    """Pool the sessions' logs (times in ms) over the window; see the module's docstring."""
    start, end = window
    refresh, per_session, intervals, display, rates, sizes = [], [], [], [], [], []
    unanswered = unshown = 0
    in_window = [(t, x) for t, x in written if start <= t <= end]
    for log in logs:
        requests = [t / 1000 for t in log["requests"]]
        fragment_finishes = sorted((t / 1000, size) for t, status, size in log["finishes"] if status == FRAGMENT_FINISHED)
        latencies = refresh_latencies(requests, [t for t, _ in fragment_finishes])
        mine = [latency for t, latency in zip(requests, latencies, strict=True) if start <= t <= end]
        unanswered += sum(latency is None for latency in mine)
        mine = [latency for latency in mine if latency is not None]
        refresh.extend(mine)
        if mine:
            per_session.append(statistics.median(mine))
        answers = [(t, size) for t, size in fragment_finishes if start <= t <= end]
        intervals.extend(b[0] - a[0] for a, b in zip(answers, answers[1:], strict=False))
        sizes.extend(b[1] - a[1] for a, b in zip(answers, answers[1:], strict=False))
        rates.append(len(answers) / (end - start))
        shown = display_latencies(in_window, [(t / 1000, x) for t, x in log["chart"]])
        unshown += sum(latency is None for latency in shown)
        display.extend(latency for latency in shown if latency is not None)
    return {
        "refresh_s": {**summary(refresh), "unanswered": unanswered},
        "refresh_session_medians_s": {"median": percentile(per_session, 50),
                                      "worst": max(per_session, default=None)},
        "data_to_screen_s": {**summary(display), "points": len(in_window), "never_shown": unshown},
        "interval_s": summary(intervals),
        "refreshes_per_session_per_s": {"median": percentile(rates, 50), "lowest": min(rates, default=None)},
        "bytes_per_refresh": percentile(sizes, 50),
    }


# --- report ------------------------------------------------------------------------------------------

def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ratio(load: float | None, base: float | None) -> str:
    return "-" if not load or not base else f"{load / base:.2f}"


def print_table(results: dict) -> None:
    base, load = results["baseline"], results["load"]
    n = load["sessions"]
    rows = [
        ("refresh, request to redrawn panel received: median", "refresh_s", "median", "< 1 s"),
        ("refresh: p95", "refresh_s", "p95", ""),
        ("refresh: median of the sessions' medians", "refresh_session_medians_s", "median", ""),
        ("refresh: worst session's median", "refresh_session_medians_s", "worst", ""),
        ("data to screen, point stored to drawn: median", "data_to_screen_s", "median", ""),
        ("data to screen: p95", "data_to_screen_s", "p95", ""),
        ("interval between refreshes: median", "interval_s", "median", "1 s"),
        ("interval between refreshes: p95", "interval_s", "p95", ""),
    ]
    print(f"\n| measurement | 1 session | {n} sessions | ratio | goal |\n|---|---|---|---|---|")
    for label, key, field, goal in rows:
        print(f"| {label} | {_seconds(base[key][field])} | {_seconds(load[key][field])} | "
              f"{_ratio(load[key][field], base[key][field])} | {goal} |")
    print(f"| refreshes per session per second: median (lowest) | {base['refreshes_per_session_per_s']['median']:.2f} "
          f"| {load['refreshes_per_session_per_s']['median']:.2f} ({load['refreshes_per_session_per_s']['lowest']:.2f}) "
          "| | 1 |")
    print(f"| requests unanswered {READ_GRACE:.0f} s after the window | {base['refresh_s']['unanswered']} of "
          f"{base['refresh_s']['n'] + base['refresh_s']['unanswered']} | {load['refresh_s']['unanswered']} of "
          f"{load['refresh_s']['n'] + load['refresh_s']['unanswered']} | | |")
    print(f"| open Train on the live run, goto to live chart drawn | {_seconds(base['open_under_load_s'])} | "
          f"{_seconds(load['open_under_load_s'])} | {_ratio(load['open_under_load_s'], base['open_under_load_s'])} | |")
    print(f"| bytes per refresh (median) | {base['bytes_per_refresh'] or 0:,.0f} | {load['bytes_per_refresh'] or 0:,.0f} "
          "| | |")
    for group in ("server", "workers", "browser", "bench", "other"):
        print(f"| CPU, {group} (cores of {load['cpu']['cpu_count']}) | {base['cpu']['cores'][group]:.2f} | "
              f"{load['cpu']['cores'][group]:.2f} | | |")
    print(f"| CPU, whole machine | {base['cpu']['machine_cores']:.2f} | {load['cpu']['machine_cores']:.2f} | | |")
    print(f"| run's epochs at the window's start, end | {base['epochs_at_window']} | {load['epochs_at_window']} | | |")
    for name, phase_result in (("1 session", base), (f"{n} sessions", load)):
        print(f"\n{name}: other busy processes {phase_result['cpu']['busy_others'] or 'none'}; resident MiB "
              f"{phase_result['cpu']['resident_mib']}; all sessions shown after {phase_result['open_all_s']} s; "
              f"window {phase_result['window_s']} s from run age {phase_result['run_age_at_window_s']} s; "
              f"plotly charts per page {phase_result['plotly_charts_per_page']}; pages {phase_result['visibility']}; "
              f"hook errors {phase_result['hook_errors']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window of each phase")
    parser.add_argument("--settle", type=float, default=10.0, help="wait after the sessions are open")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 sessions, 10 s windows, 3 s settle")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="protocol",
                        help="protocol: sessions speaking Streamlit's WebSocket protocol from this process "
                             "(bench/protocol_session.py); chromium: pages in headless Chromium")
    parser.add_argument("--preset", default="dense")
    parser.add_argument("--epochs", type=int, default=200, help="of each phase's run (cancelled at the phase's end)")
    parser.add_argument("--mnist", default=os.environ.get("METALEARN_MNIST")
                        or str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.seconds, args.settle = 3, 10.0, 3.0
    os.environ["METALEARN_MNIST"] = args.mnist
    base_config = preset_config(args.preset)
    config = base_config.replace(name="bench-load",
                                 training=dataclasses.replace(base_config.training, epochs=args.epochs))
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_average_before": os.getloadavg(),
                     "preset": args.preset, "epochs": args.epochs, "client": args.client}
    home = Path(tempfile.mkdtemp(prefix="bench-load-")).resolve()
    store = RunStore(home)
    process, url = start_server(home, timeout=120)
    try:
        with contextlib.ExitStack() as stack:
            browser = None
            if args.client == "chromium":
                from playwright.sync_api import sync_playwright

                browser = launch_chromium(stack.enter_context(sync_playwright()))
                stack.callback(browser.close)
            meter = CpuMeter(process.pid, home)
            for name, sessions in (("baseline", 1), ("load", args.sessions)):
                results[name] = phase(browser, CLIENTS[args.client], url, store, meter, config, args.mnist,
                                      sessions, args.seconds, args.settle)
                print(f"{name}: {sessions} session(s), refresh median {results[name]['refresh_s']['median']} s",
                      file=sys.stderr)
    finally:
        stop_server(process, home)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
