"""Shared fixtures: tests point the loader at ../shared/data/mnist.npz through METALEARN_MNIST when
it is there (CI and this project's machines), and use tiny slices of it; likewise at Debian's
Fashion-MNIST (package dataset-fashion-mnist) through METALEARN_FASHION_MNIST."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from busy_machine import slowdown_factor, wait_for_quiet

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "METALEARN_MNIST" not in os.environ and SHARED_MNIST.is_file():
    os.environ["METALEARN_MNIST"] = str(SHARED_MNIST)
if "METALEARN_FASHION_MNIST" not in os.environ and DEBIAN_FASHION.is_dir():
    os.environ["METALEARN_FASHION_MNIST"] = str(DEBIAN_FASHION)


def pytest_collection_modifyitems(config, items):
    """METALEARN_TEST_SLOWDOWN (see tests/busy_machine.py) also stretches pytest-timeout's limit."""
    factor = slowdown_factor()
    try:
        limit = float(config.getini("timeout") or 0)
    except ValueError:  # pytest-timeout is not installed
        return
    if factor > 1 and limit > 0:
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(limit * factor))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A ``needs_quiet`` test (two runs side by side, anything timing-related) first waits, for a
    bounded time, until the machine's CPUs are quiet; then it runs anyway, with a warning."""
    if item.get_closest_marker("needs_quiet") is None:
        return
    quiet, busy, waited = wait_for_quiet()
    if not quiet:
        item.warn(pytest.PytestWarning(f"the machine stayed busy ({busy:.1f} CPUs) for {waited:.0f} s; "
                                       "running this needs_quiet test anyway"))


@pytest.fixture(scope="session")
def mnist():
    """The MNIST the tests use (full set via METALEARN_MNIST, else the offline sample)."""
    from metalearn_core.data.mnist import load_mnist

    return load_mnist(allow_download=False)


@pytest.fixture(scope="session")
def mnist_path(mnist, tmp_path_factory) -> str:
    """A file path to the test MNIST, for worker processes."""
    if os.environ.get("METALEARN_MNIST"):
        return os.environ["METALEARN_MNIST"]
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez_compressed(path, x_train=mnist.x_train, y_train=mnist.y_train,
                        x_test=mnist.x_test, y_test=mnist.y_test)
    return str(path)


@pytest.fixture(scope="session")
def fashion():
    """The Fashion-MNIST the tests use (via METALEARN_FASHION_MNIST); skips the test when absent."""
    from metalearn_core.data.fashion import load_fashion_mnist
    from metalearn_core.data.mnist import DataError

    try:
        return load_fashion_mnist(allow_download=False)
    except DataError as error:
        pytest.skip(f"Fashion-MNIST is not available (install Debian's dataset-fashion-mnist or set "
                    f"METALEARN_FASHION_MNIST): {error}")


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh data home for the run store."""
    path = tmp_path / "home"
    monkeypatch.setenv("METALEARN_HOME", str(path))
    return path


@pytest.fixture(scope="session")
def record_run():
    """A function ``record_run(store, config, data, layer_stats=True) -> run id`` that trains the
    config in this process (fast: no worker start-up) and records it as the worker does, through
    its StoreReporter; ``layer_stats=False`` records a run as trained before layer statistics
    existed."""
    import json
    import time

    from metalearn_core import kinds
    from metalearn_core.runs.reporting import Reporter
    from metalearn_core.worker import StoreReporter

    def record(store, config, data, layer_stats: bool = True) -> int:
        run_id = store.create_run(config)
        store.mark_running(run_id)
        writer = StoreReporter(store, run_id, time.time())
        reporter = Reporter(on_epoch=writer.on_epoch)
        if layer_stats:
            reporter.on_layer_stats = writer.on_layer_stats
        result = kinds.get(config.kind).entry()(config, data, reporter, store.run_folder(run_id))
        if result.evaluation is not None:
            (store.run_folder(run_id) / "evaluation.json").write_text(json.dumps(result.evaluation.to_dict()))
        store.update_summary(run_id, **result.summary)
        store.finish(run_id, result.status, error=result.message)
        return run_id

    return record


def _services_required() -> bool:
    """CI (``.ci/run``) starts PostgreSQL and Dask and sets METALEARN_REQUIRE_SERVICES=1: there a
    missing service fails its tests instead of skipping them."""
    return os.environ.get("METALEARN_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server URL: METALEARN_TEST_PG (started by .ci/run), else a throw-away cluster
    started here with Debian's initdb and pg_ctl, stopped after the session."""
    if os.environ.get("METALEARN_TEST_PG"):
        yield os.environ["METALEARN_TEST_PG"]
        return
    from tools import services

    folder = tmp_path_factory.mktemp("postgres")
    try:
        url = services.start_postgres(folder)
    except (FileNotFoundError, OSError, RuntimeError, Exception) as error:
        if _services_required():
            raise
        pytest.skip(f"PostgreSQL is not available here (install Debian's postgresql): {error}")
    try:
        yield url
    finally:
        services.stop_postgres(folder)


_database_counter = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request, monkeypatch) -> str:
    """Runs the test once on the embedded SQLite store and once on a fresh PostgreSQL database
    (METALEARN_DB, which worker processes inherit); returns the backend's name."""
    if request.param == "postgresql":
        from tools import services

        server = request.getfixturevalue("postgres_server")
        url = services.create_database(server, f"test_{os.getpid()}_{next(_database_counter)}")
        monkeypatch.setenv("METALEARN_DB", url)
    else:
        monkeypatch.delenv("METALEARN_DB", raising=False)
    return request.param


@pytest.fixture(scope="session")
def dask_scheduler(tmp_path_factory):
    """A Dask scheduler address with two worker processes (one thread, ``runs=1`` each):
    METALEARN_TEST_DASK (started by .ci/run), else a cluster started here on 127.0.0.1."""
    if os.environ.get("METALEARN_TEST_DASK"):
        yield os.environ["METALEARN_TEST_DASK"]
        return
    from tools import services

    folder = tmp_path_factory.mktemp("dask")
    try:
        address = services.start_dask(folder, workers=2)
    except Exception as error:
        services.stop_dask(folder)
        if _services_required():
            raise
        pytest.skip(f"a local Dask cluster could not start: {error}")
    try:
        yield address
    finally:
        services.stop_dask(folder)
