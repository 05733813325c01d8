"""A browser session without a browser: Streamlit's own WebSocket protocol, spoken from Python.

A page in a browser talks to the server over one WebSocket (``/_stcore/stream``): it sends
``BackMsg`` protobufs (a script rerun request with the URL's page and query string, then one
fragment rerun request per ``run_every`` interval, from a timer) and receives ``ForwardMsg``
protobufs (the new session, the elements as deltas, ``auto_rerun`` when a fragment asks for timed
reruns, ``script_finished`` closing each run). :class:`ProtocolSession` does the same from a thread:
the server sees a session it cannot tell from a browser's (same messages, same permessage-deflate
compression, same rerun timer), while the client costs a few milliseconds of CPU per refresh instead
of a Chromium renderer's tens of megabytes and its layout and plotly drawing.

What it does not do, so what a figure taken with it leaves out: it fetches no HTML, JavaScript or
static files (the page's first load from the HTTP server), it reports no widget values of its own
(every request carries the widgets' defaults, as a page that was just opened does), and it holds no
message cache, so the server sends it every element in full (a browser gets references to the
elements it already has): if anything it asks the server for more bytes than a page would.

Its log has the fields the Chromium pages' hook writes (``bench_load.HOOK``), times in ms since the
epoch: ``requests`` (each fragment rerun request sent), ``finishes`` ([time, status, bytes received
so far] for each ``script_finished``), ``chart`` ([time, furthest x] each time the live chart's
in-epoch line, the traces named "... running (within epoch)", reached further), ``bytes``,
``messages`` and ``errors``.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

RUNNING_TRACE = "running"  # the live chart's in-epoch traces are named "<run> running (within epoch)"


def _now_ms() -> float:
    return time.time() * 1000


def furthest_running_x(spec: str) -> float | None:
    """The largest x of a plotly figure's traces whose name says "running"; None if it has none.

    Example:
        >>> furthest_running_x('{"data": [{"name": "a running (within epoch)", "x": [0.1, 0.4]}, {"name": "a", "x": [9]}]}')
        0.4
        >>> furthest_running_x('{"data": [{"name": "a", "x": [1]}]}') is None
        True
    """
    if RUNNING_TRACE not in spec:
        return None
    top = None
    for trace in json.loads(spec).get("data", []):
        if RUNNING_TRACE in str(trace.get("name", "")):
            for x in trace.get("x") or []:
                if isinstance(x, (int, float)) and (top is None or x > top):
                    top = x
    return top


class ProtocolSession(threading.Thread):
    """One session on ``url`` (``http://host:port/page?query``) until :meth:`close`.

    ``first_chart`` is set once the live chart has come with at least one point; ``log`` is as the
    module's docstring says."""

    def __init__(self, url: str, connect_timeout: float = 60.0):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.stream = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/_stcore/stream"
        self.page_name = parts.path.strip("/")
        self.query = parts.query
        self.connect_timeout = connect_timeout
        self.log: dict = {"requests": [], "finishes": [], "chart": [], "bytes": 0, "messages": 0, "errors": 0}
        self.first_chart = threading.Event()
        self.failure: BaseException | None = None
        self._closing = threading.Event()
        self._page_script_hash = ""
        self._timers: dict[str, tuple[float, float]] = {}  # fragment id -> (interval s, next due, monotonic)
        self._top = float("-inf")

    # --- messages --------------------------------------------------------------------------------

    def _rerun(self, fragment_id: str = "") -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_name = self.page_name
        state.page_script_hash = self._page_script_hash
        state.widget_states.SetInParent()
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        return message.SerializeToString()

    def _received(self, data: bytes, at: float) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.log["messages"] += 1
        self.log["bytes"] += len(data)
        message = ForwardMsg()
        message.ParseFromString(data)
        kind = message.WhichOneof("type")
        if kind == "new_session" and message.new_session.page_script_hash:
            self._page_script_hash = message.new_session.page_script_hash
        elif kind == "navigation" and message.navigation.page_script_hash:
            self._page_script_hash = message.navigation.page_script_hash
        elif kind == "auto_rerun":
            rerun = message.auto_rerun
            if rerun.fragment_id not in self._timers:
                self._timers[rerun.fragment_id] = (rerun.interval, time.monotonic() + rerun.interval)
        elif kind == "stop_auto_rerun":
            self._timers.clear()
        elif kind == "script_finished":
            self.log["finishes"].append([at, int(message.script_finished), self.log["bytes"]])
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            if element.WhichOneof("type") == "plotly_chart":
                x = furthest_running_x(element.plotly_chart.spec)
                if x is not None and x > self._top:
                    self._top = x
                    self.log["chart"].append([at, x])
                    self.first_chart.set()

    # --- the thread ------------------------------------------------------------------------------

    def run(self) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.stream, subprotocols=["streamlit"], origin=self.origin, max_size=None,
                         open_timeout=self.connect_timeout) as socket:
                socket.send(self._rerun())
                while not self._closing.is_set():
                    now = time.monotonic()
                    for fragment_id, (interval, due) in list(self._timers.items()):
                        if now >= due:  # a browser's setInterval: sent whether or not the last one came back
                            self.log["requests"].append(_now_ms())
                            socket.send(self._rerun(fragment_id))
                            following = due + interval
                            self._timers[fragment_id] = (interval, following if following > now else now + interval)
                    wait = min([due for _interval, due in self._timers.values()] + [now + 0.1]) - time.monotonic()
                    try:
                        data = socket.recv(timeout=max(wait, 0.0))
                    except TimeoutError:
                        continue
                    at = _now_ms()
                    try:
                        self._received(data if isinstance(data, bytes) else data.encode(), at)
                    except Exception:  # noqa: BLE001 - counted, as the pages' hook counts its own
                        self.log["errors"] += 1
        except BaseException as error:  # noqa: BLE001 - the bench reports it
            if not self._closing.is_set():
                self.failure = error
                self.first_chart.set()

    def close(self) -> None:
        self._closing.set()
        self.join(timeout=10)
