"""Keras' own dataset download, run in a child process so that the caller never imports Keras.

The dashboard's server loads data but trains nothing: importing Keras there would make Streamlit
call ``keras.backend.clear_session()`` (a full garbage collection of TensorFlow's heap) after every
script run, a third of a second for every one-second refresh of every session. The child fills
Keras' cache (``~/.keras/datasets``) as ``load_data()`` always does and hands the arrays back in a
temporary ``.npz``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_CHILD = """
import socket, sys
import numpy as np
socket.setdefaulttimeout(float(sys.argv[2]))  # Keras' downloader has no timeout of its own
from keras import datasets
(x_train, y_train), (x_test, y_test) = getattr(datasets, sys.argv[1]).load_data()
np.savez(sys.argv[3], x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
"""


def keras_load_data(dataset: str, timeout: float) -> dict[str, np.ndarray]:
    """``keras.datasets.<dataset>.load_data()`` as arrays (``mnist`` or ``fashion_mnist``); RuntimeError
    with Keras' last error line when the download fails (``timeout`` bounds each network wait)."""
    with tempfile.TemporaryDirectory(prefix="metalearn-download-") as folder:
        out = Path(folder) / "arrays.npz"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD, dataset, str(timeout), str(out)], env=env,
                                  capture_output=True, text=True, timeout=timeout * 30 + 120)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"Keras' download of {dataset} took too long") from None
        if done.returncode != 0 or not out.exists():
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else f"Keras' download of {dataset} failed")
        with np.load(out) as arrays:
            return {name: arrays[name] for name in ("x_train", "y_train", "x_test", "y_test")}
