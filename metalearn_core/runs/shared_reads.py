"""Reads of the run store shared by every session of one server for a fraction of a second.

While a run trains, every session watching it redraws its live panel once a second, and each redraw
reads the run, its metrics, its in-epoch points and its layer statistics. Thirty students on one run
would make thirty identical reads of each per second; :class:`SharedReads` makes one, and hands the
same (never modified) result to the others for ``ttl`` seconds. A session that asks while another
is reading waits for that read instead of starting its own.

Example:
    >>> reads = SharedReads(ttl=60)
    >>> calls = []
    >>> reads.get(("home", "metrics", 1), lambda: calls.append(1) or [1, 2])
    [1, 2]
    >>> reads.get(("home", "metrics", 1), lambda: calls.append(1) or [1, 2, 3]), len(calls)
    ([1, 2], 1)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class SharedReads:
    """A time-to-live memo of store reads, safe to use from many threads."""

    def __init__(self, ttl: float = 0.25, max_entries: int = 256, clock: Callable[[], float] = time.monotonic):
        if ttl < 0:
            raise ValueError(f"ttl must be >= 0 seconds, got {ttl}")
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """``load()``'s result, read at most once every ``ttl`` seconds for ``key``. An exception from
        ``load`` reaches the caller and nothing is remembered."""
        fresh = self._fresh(key)
        if fresh is not None:
            return fresh[1]
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            fresh = self._fresh(key)  # another session read it while this one waited
            if fresh is not None:
                return fresh[1]
            value = load()
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._drop_stale()
                self._entries[key] = (self.clock(), value)
            return value

    def _fresh(self, key: Hashable) -> tuple[float, Any] | None:
        entry = self._entries.get(key)
        return entry if entry is not None and self.clock() - entry[0] <= self.ttl else None

    def _drop_stale(self) -> None:
        now = self.clock()
        for key in [key for key, (at, _value) in self._entries.items() if now - at > self.ttl]:
            del self._entries[key]
            self._loading.pop(key, None)
        while len(self._entries) >= self.max_entries:  # all fresh: drop the oldest
            oldest = min(self._entries, key=lambda key: self._entries[key][0])
            del self._entries[oldest]
            self._loading.pop(oldest, None)
