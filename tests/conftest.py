"""Shared fixtures: tests point the loader at ../shared/data/mnist.npz through METALEARN_MNIST when
it is there (CI and this project's machines), and use tiny slices of it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "METALEARN_MNIST" not in os.environ and SHARED_MNIST.is_file():
    os.environ["METALEARN_MNIST"] = str(SHARED_MNIST)


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


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A fresh data home for the run store."""
    path = tmp_path / "home"
    monkeypatch.setenv("METALEARN_HOME", str(path))
    return path
