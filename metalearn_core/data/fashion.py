"""Fashion-MNIST from the first source that works, loaded exactly as MNIST is.

Sources, in order: an explicit path (argument or ``METALEARN_FASHION_MNIST``: a folder with the four
original IDX ``.gz`` files, or an ``.npz`` with x_train/y_train/x_test/y_test), Keras' cache
(``~/.keras/datasets/fashion-mnist/``), Keras' own download. Offline with none of them, a
:class:`DataError` says how to get it; there is no sample to fall back on. Arrays are the same as
``keras.datasets.fashion_mnist.load_data()``: uint8 images (N, 28, 28) and uint8 labels (N,) 0-9.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metalearn_core.data.keras_download import keras_load_data
from metalearn_core.data.mnist import (
    RETRY_DOWNLOAD_AFTER,
    DataError,
    MnistData,
    keras_cache_path,
    load_npz,
    recent_download_failure,
    remember_download_failure,
    validate_arrays,
)

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# The four files of the original release, as Keras names them in its cache (key -> file name).
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX: 0x08 (unsigned bytes), then 3 or 1 dimensions
FASHION_HINT = (
    "To get Fashion-MNIST, either run once with network access (Keras caches it in "
    "~/.keras/datasets/fashion-mnist/), or download the four files "
    f"{', '.join(sorted(IDX_FILES.values()))} from "
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/ into a folder and set "
    "METALEARN_FASHION_MNIST=/that/folder (or pass --fashion-mnist). On Debian or Ubuntu, "
    "`apt install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist/."
)


@dataclass(frozen=True)
class FashionData(MnistData):
    """MnistData holding Fashion-MNIST: the same arrays and fields, described as Fashion-MNIST."""

    def describe(self) -> str:
        """One line: source, location and split sizes.

        Example:
            >>> load_fashion_mnist("fashion").describe()  # doctest: +SKIP
            'Fashion-MNIST from path (fashion): 60,000 training and 10,000 test images'
        """
        return "Fashion-" + super().describe()


def _read_gzip(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a readable gzip file, truncated or corrupted "
                        f"({type(error).__name__}: {error})") from None


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """One IDX ``.gz`` file as a uint8 array: images (N, 28, 28) for magic 2051, labels (N,) for 2049.

    The big-endian header (magic number, then one 32-bit size per dimension) is checked against
    the data, so a truncated or corrupted file raises DataError naming the file and the problem.

    Example:
        >>> read_idx("t10k-labels-idx1-ubyte.gz", LABELS_MAGIC).shape  # doctest: +SKIP
        (10000,)
    """
    path = Path(path)
    raw = _read_gzip(path)
    dims = 3 if magic == IMAGES_MAGIC else 1
    header_size = 4 + 4 * dims
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated, {len(raw)} bytes is shorter than the IDX header")
    found, *shape = np.frombuffer(raw, dtype=">u4", count=1 + dims)
    if found != magic:
        kind = "image" if magic == IMAGES_MAGIC else "label"
        raise DataError(f"{path}: wrong magic number {found} (an IDX {kind} file starts with {magic})")
    if dims == 3 and tuple(shape[1:]) != (28, 28):
        raise DataError(f"{path}: images must be 28x28, the header says {shape[1]}x{shape[2]}")
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise DataError(f"{path}: wrong size, the header announces {shape[0]:,} items "
                        f"({expected:,} bytes) but the file holds {len(raw) - header_size:,} bytes")
    # A copy: arrays over the gzip's bytes would be read-only, unlike those of an .npz.
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape([int(n) for n in shape]).copy()


def load_idx_folder(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four arrays from a folder with the original IDX ``.gz`` files, validated like an .npz.

    Example:
        >>> load_idx_folder("/usr/share/datasets/fashion-mnist")["x_train"].shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    folder = Path(folder)
    arrays = {key: read_idx(folder / name, IMAGES_MAGIC if key.startswith("x") else LABELS_MAGIC)
              for key, name in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if images != labels:
            raise DataError(f"{folder}: wrong count, {IDX_FILES[f'x_{split}']} has {images:,} images "
                            f"but {IDX_FILES[f'y_{split}']} has {labels:,} labels")
    validate_arrays(arrays, str(folder))
    return arrays


def load_path(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Arrays from an explicit path: a folder of IDX ``.gz`` files or an ``.npz`` file."""
    path = Path(path).expanduser()
    if path.is_dir():
        return load_idx_folder(path)
    if path.suffix == ".npz" or path.is_file():
        return load_npz(path)
    raise DataError(f"{path}: no such folder or file (expected a folder with the four Fashion-MNIST "
                    f"IDX .gz files or an .npz). {FASHION_HINT}")


def keras_fashion_cache() -> Path:
    """The folder where Keras keeps Fashion-MNIST (``$KERAS_HOME/datasets/fashion-mnist``)."""
    return keras_cache_path().parent / "fashion-mnist"


def _download_with_keras(timeout: float) -> dict[str, np.ndarray]:
    # in a child process: this one (the dashboard's server, say) never imports Keras
    return keras_load_data("fashion_mnist", timeout)


def _failure_marker() -> Path:
    return Path(tempfile.gettempdir()) / f"metalearn-fashion-download-failed-{os.getuid()}"


def _download(timeout: float) -> FashionData:
    """Keras' download, or DataError with the reason and how to get the data."""
    recent = recent_download_failure(_failure_marker())
    if recent:
        reason = f"{recent}; not retried for {RETRY_DOWNLOAD_AFTER // 60} minutes"
    else:
        try:
            arrays = _download_with_keras(timeout)
            validate_arrays(arrays, "Keras download")
            return FashionData(**arrays, source="download", location=str(keras_fashion_cache()))
        except Exception as error:  # noqa: BLE001 - any network failure means: offline
            reason = f"download failed: {type(error).__name__}: {str(error)[:120]}"
            remember_download_failure(_failure_marker(), reason)
    raise DataError(f"Fashion-MNIST is not available ({reason}). {FASHION_HINT}")


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    *,
    allow_download: bool = True,
    download_timeout: float = 10.0,
) -> MnistData:
    """Load Fashion-MNIST from the first source that works.

    Args:
        path: a folder with the four IDX ``.gz`` files, or an ``.npz``; defaults to
            ``METALEARN_FASHION_MNIST``. When given, it must work: a broken explicit source is an
            error, never silently replaced by another one.
        allow_download: try Keras' download when neither the path nor the cache has the data.
        download_timeout: seconds before a network read gives up.

    Returns:
        MnistData (a FashionData, which describes itself as Fashion-MNIST) with uint8 arrays.

    Raises:
        DataError: a broken file (named in the message), or no source at all (with how to get one).

    Example:
        >>> data = load_fashion_mnist("/usr/share/datasets/fashion-mnist")  # doctest: +SKIP
        >>> FASHION_CLASSES[data.y_test[0]]  # doctest: +SKIP
        'Ankle boot'
    """
    explicit = path or os.environ.get("METALEARN_FASHION_MNIST")
    if explicit:
        return FashionData(**load_path(explicit), source="path", location=str(explicit))
    cache = keras_fashion_cache()
    if all((cache / name).is_file() for name in IDX_FILES.values()):
        try:
            return FashionData(**load_idx_folder(cache), source="keras-cache", location=str(cache))
        except DataError as error:  # Keras would reuse the broken file, so downloading cannot help
            raise DataError(f"the Keras cache is unusable: {error}. Delete {cache} to download it "
                            f"again. {FASHION_HINT}") from None
    if not allow_download:
        raise DataError(f"Fashion-MNIST is not available (no path given, nothing in {cache}, "
                        f"download disabled). {FASHION_HINT}")
    return _download(download_timeout)
