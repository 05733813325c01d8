"""The streams an online run learns from: test-split images in a random order, with or without drift.

Every stream is drawn from the **test** split, which no pre-training here ever uses (base runs, the
in-run pre-training and few-shot meta-training all train on the training split), so a pre-trained
learner has never seen a stream image. Three streams:

* ``random``: MNIST test digits in a random order (no drift);
* ``rotate``: the same, each digit rotated by an angle that grows linearly from 0 to
  ``max_angle`` degrees over the stream (gradual drift);
* ``switch``: MNIST digits for the first half, Fashion-MNIST clothes for the second (sudden drift at
  the middle; labels 0-9 are reused, so after the switch it is a new task with the same outputs).

Example:
    >>> stream = random_stream(mnist, length=100, seed=0)  # doctest: +SKIP
    >>> stream.x.shape, stream.drift_at
    ((100, 28, 28), None)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from metalearn_core.data.mnist import MnistData

DOMAINS = ("mnist", "fashion_mnist")


@dataclass(frozen=True)
class Stream:
    """A labelled stream, in the order the learners meet it.

    Attributes:
        name: the stream's kind ("random", "rotate", "switch").
        x: (n, 28, 28) float32 images in [0, 1].
        y: (n,) int32 labels 0-9.
        domain: (n,) int8, an index into :data:`DOMAINS` (0 MNIST, 1 Fashion-MNIST).
        angle: (n,) float32, each image's rotation in degrees.
        rows: (n,) the row of each image in its domain's test split.
        drift_at: the first example after a sudden drift (the switch), None without one.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    domain: np.ndarray
    angle: np.ndarray
    rows: np.ndarray
    drift_at: int | None = None

    def __len__(self) -> int:
        return len(self.y)


def _order(data: MnistData, length: int, rng: np.random.Generator) -> np.ndarray:
    if length > len(data.y_test):
        raise ValueError(f"a stream of {length} examples needs that many test images; "
                         f"this data has {len(data.y_test)}")
    return rng.permutation(len(data.y_test))[:length]


def _scaled(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32) / 255.0


def random_stream(data: MnistData, length: int, seed: int = 0) -> Stream:
    """``length`` test images of ``data`` in a random order (each at most once)."""
    rows = _order(data, length, np.random.default_rng(seed))
    return Stream("random", _scaled(data.x_test[rows]), data.y_test[rows].astype(np.int32),
                  np.zeros(length, np.int8), np.zeros(length, np.float32), rows)


def rotation_angles(length: int, max_angle: float) -> np.ndarray:
    """The angle of each example of a rotating stream: linear from 0 to ``max_angle`` degrees.

    Example:
        >>> rotation_angles(5, 90.0).tolist()
        [0.0, 22.5, 45.0, 67.5, 90.0]
    """
    return np.linspace(0.0, float(max_angle), length, dtype=np.float32)


def rotate_images(images: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Each (28, 28) image turned anticlockwise by its angle in degrees, the frame kept (corners black)."""
    return np.stack([ndimage.rotate(image, float(angle), reshape=False, order=1, mode="constant", cval=0.0)
                     for image, angle in zip(images, angles)]).astype(np.float32).clip(0.0, 1.0)


def rotating_stream(data: MnistData, length: int, max_angle: float = 90.0, seed: int = 0) -> Stream:
    """The random stream with example ``i`` rotated by ``max_angle * i / (length - 1)`` degrees."""
    plain = random_stream(data, length, seed)
    angles = rotation_angles(length, max_angle)
    return Stream("rotate", rotate_images(plain.x, angles), plain.y, plain.domain, angles, plain.rows)


def switching_stream(first: MnistData, second: MnistData, length: int, seed: int = 0) -> Stream:
    """``length // 2`` random test images of ``first`` (MNIST), then the rest from ``second``
    (Fashion-MNIST), each half in its own random order; the drift point is the first of ``second``."""
    rng = np.random.default_rng(seed)
    half = length // 2
    rows_first, rows_second = _order(first, half, rng), _order(second, length - half, rng)
    x = np.concatenate([_scaled(first.x_test[rows_first]), _scaled(second.x_test[rows_second])])
    y = np.concatenate([first.y_test[rows_first], second.y_test[rows_second]]).astype(np.int32)
    domain = np.repeat(np.array([0, 1], np.int8), [half, length - half])
    return Stream("switch", x, y, domain, np.zeros(length, np.float32),
                  np.concatenate([rows_first, rows_second]), drift_at=half)


def make_stream(settings, mnist: MnistData, fashion: MnistData | None = None) -> Stream:
    """The stream an :class:`~metalearn_core.kinds.online.config.OnlineConfig` asks for
    (``fashion`` is needed for the ``switch`` stream only)."""
    if settings.stream == "random":
        return random_stream(mnist, settings.length, settings.seed)
    if settings.stream == "rotate":
        return rotating_stream(mnist, settings.length, settings.max_angle, settings.seed)
    if fashion is None:
        raise ValueError("the switch stream needs Fashion-MNIST for its second half")
    return switching_stream(mnist, fashion, settings.length, settings.seed)


def stream_summary(stream: Stream) -> dict:
    """What the results file keeps of a stream: its kind, length, drift point, angles and domains."""
    switch = np.flatnonzero(np.diff(stream.domain) != 0)
    return {"name": stream.name, "length": len(stream), "drift_at": stream.drift_at,
            "max_angle": float(stream.angle.max()) if len(stream) else 0.0,
            "domains": [DOMAINS[i] for i in sorted(set(stream.domain.tolist()))],
            "switch_at": int(switch[0]) + 1 if len(switch) else None}
