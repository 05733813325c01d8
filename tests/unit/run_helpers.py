"""Run configs and waits shared by the runner tests on both executors (local and Dask)."""

from __future__ import annotations

import time

from metalearn_core.config import RunConfig, TrainingConfig


def tiny(name="tiny", epochs=1, train_limit=600):
    return RunConfig(name=name, training=TrainingConfig(epochs=epochs, batch_size=32, train_limit=train_limit,
                                                        test_limit=200))


def long_run(name="long"):
    return RunConfig(name=name, training=TrainingConfig(epochs=200, batch_size=16, train_limit=20000,
                                                        test_limit=200))


def wait_for(predicate, timeout=120.0, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("condition not reached in time")


def wait_until_done(store, run_id, timeout=180.0):
    return wait_for(lambda: (lambda r: r if not r.is_active else None)(store.get(run_id)), timeout)
