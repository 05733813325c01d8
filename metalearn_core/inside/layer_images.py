"""Small RGB pictures of what a network computes, composed with numpy alone (cheap to show with
``st.image``): activation strips for Dense layers, grids of feature maps, weight tiles and
saliency overlays on the grey digit.

Every function returns a (height, width, 3) uint8 array, one pixel per value by default (the page
enlarges it with crisp, unsmoothed pixels, which keeps it quick to encode and send); ``cell`` or
``factor`` enlarge it here instead. Colours: activations go from black
through purple and orange to pale yellow (brighter is more active); signed values (weights,
gradients, logits) go from blue (negative) through white to red (positive).

Example:
    >>> activation_strip(np.arange(5.0), order="sorted").shape
    (1, 5, 3)
"""

from __future__ import annotations

import numpy as np

# Anchor colours, evenly spaced on [0, 1]; the maps interpolate linearly between them.
ACTIVE = np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]], np.float64)
SIGNED = np.array([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]],
                  np.float64)
RED, BLUE = np.array([230.0, 40.0, 30.0]), np.array([40.0, 110.0, 240.0])
BACKGROUND = 255  # the gaps between tiles: the page's white


def colour(values: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``values`` in [0, 1] (clipped) as RGB through the anchor colours: shape (..., 3), uint8.

    Example:
        >>> colour(np.array([0.0, 1.0]), ACTIVE).tolist()
        [[0, 0, 4], [252, 253, 191]]
    """
    position = np.clip(np.nan_to_num(values), 0.0, 1.0) * (len(anchors) - 1)
    low = np.minimum(position.astype(int), len(anchors) - 2)
    fraction = (position - low)[..., None]
    return np.round(anchors[low] * (1 - fraction) + anchors[low + 1] * fraction).astype(np.uint8)


def activity(values: np.ndarray, high: float | None = None) -> np.ndarray:
    """Non-negative activations as RGB, 0 black and ``high`` (default: the largest) pale yellow."""
    high = float(np.max(values)) if high is None else high
    return colour(np.asarray(values, np.float64) / high if high > 0 else np.zeros(np.shape(values)), ACTIVE)


def signed(values: np.ndarray, high: float | None = None) -> np.ndarray:
    """Signed values as RGB: blue below zero, white at zero, red above, symmetric around zero."""
    high = float(np.max(np.abs(values))) if high is None else high
    scaled = np.asarray(values, np.float64) / high if high > 0 else np.zeros(np.shape(values))
    return colour((scaled + 1) / 2, SIGNED)


def auto_colour(values: np.ndarray) -> np.ndarray:
    """:func:`activity` when every value is >= 0 (ReLU outputs, probabilities), else :func:`signed`."""
    return activity(values) if np.min(values) >= 0 else signed(values)


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel as a ``factor`` x ``factor`` block (nearest neighbour keeps pixels crisp)."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def grid(tiles: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """(n, h, w, 3) tiles in rows of ``columns``, ``gap`` white pixels between them.

    Example:
        >>> grid(np.zeros((5, 4, 4, 3), np.uint8), columns=3, gap=2).shape
        (10, 16, 3)
    """
    n, height, width = tiles.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), BACKGROUND, np.uint8)
    for index in range(n):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        out[top:top + height, left:left + width] = tiles[index]
    return out


def activation_strip(values: np.ndarray, order: str = "sorted", columns: int = 64, cell: int = 1) -> np.ndarray:
    """A Dense layer's units as squares, ``columns`` to a row: "sorted" puts the most active first,
    "in order" keeps the units' own order (the same unit stays in the same place for every drawing).
    Each square is ``cell`` x ``cell`` pixels.

    Example:
        >>> activation_strip(np.arange(384.0), cell=10).shape  # 6 rows of 64 squares
        (60, 640, 3)
    """
    if order not in ("sorted", "in order"):
        raise ValueError(f"order must be 'sorted' or 'in order', got {order!r}")
    values = np.asarray(values, np.float64).ravel()
    if order == "sorted":
        values = np.sort(values)[::-1]
    columns = min(columns, len(values))
    rows = -(-len(values) // columns)
    cells = np.full(rows * columns, np.nan)
    cells[:len(values)] = values
    image = auto_colour(np.nan_to_num(cells, nan=0.0)).reshape(rows, columns, 3)
    image.reshape(-1, 3)[len(values):] = BACKGROUND  # the unused end of the last row stays blank
    return enlarge(image, cell)


def feature_map_grid(maps: np.ndarray, columns: int = 8, factor: int = 1) -> np.ndarray:
    """A convolution or pooling layer's (h, w, channels) output as one small picture per channel,
    all on one colour scale (so a bright map is truly more active than a dim one), in rows of
    ``columns``, each pixel ``factor`` x ``factor``.

    Example:
        >>> feature_map_grid(np.random.rand(13, 13, 32)).shape  # 4 rows of 8 maps, 1 px apart
        (55, 111, 3)
    """
    maps = np.asarray(maps, np.float64)
    pictures = np.moveaxis(auto_colour(maps), 2, 0)  # (channels, h, w, 3)
    return grid(np.stack([enlarge(picture, factor) for picture in pictures]), columns)


def weight_tiles(tiles: np.ndarray, columns: int = 8, factor: int = 1) -> np.ndarray:
    """Weight pictures (n, h, w), each on its own symmetric blue-white-red scale (a unit's weights
    are compared with each other, not with another unit's), in rows of ``columns``, each pixel
    ``factor`` x ``factor``.

    Example:
        >>> weight_tiles(np.random.randn(16, 28, 28)).shape  # 2 rows of 8 tiles, 1 px apart
        (57, 231, 3)
    """
    tiles = np.asarray(tiles, np.float64)
    return grid(np.stack([enlarge(signed(tile), factor) for tile in tiles]), columns)


def saliency_overlay(image28: np.ndarray, saliency: np.ndarray, factor: int = 1) -> np.ndarray:
    """The drawing in grey with ``saliency`` on top: red where it is positive, blue where it is
    negative, more opaque the larger it is (relative to its largest magnitude).

    Example:
        >>> saliency_overlay(np.zeros((28, 28)), np.ones((28, 28)), factor=8).shape
        (224, 224, 3)
    """
    grey = 40.0 + 130.0 * np.clip(np.asarray(image28, np.float64), 0, 1)  # a dim digit
    base = np.repeat(grey[..., None], 3, axis=2)
    values = np.asarray(saliency, np.float64)
    high = float(np.max(np.abs(values)))
    alpha = (np.abs(values) / high if high > 0 else np.zeros_like(values))[..., None] ** 0.7
    tint = np.where(values[..., None] >= 0, RED, BLUE)
    return enlarge(np.round(base * (1 - alpha) + tint * alpha).astype(np.uint8), factor)
