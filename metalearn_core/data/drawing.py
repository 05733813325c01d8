"""A user's digit, drawn or uploaded, turned into an MNIST image the way MNIST itself was made.

LeCun et al. size-normalised each NIST digit to fit a 20x20 box, keeping its aspect ratio, with
anti-aliasing (hence MNIST's grey edges), then centred it in a 28x28 field by its centre of mass.
A network trained on MNIST has only ever seen digits framed like that, so a drawing must be too.

Example:
    >>> canvas = np.zeros((280, 280, 4), np.uint8)
    >>> canvas[40:240, 130:150] = 255  # a white "1" on a transparent background
    >>> image = preprocess_canvas(canvas)
    >>> image.shape, image.dtype, float(image.max()) <= 1.0
    ((28, 28), dtype('float32'), True)
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28  # the MNIST field
BOX = 20  # the digit's larger side inside it
INK_THRESHOLD = 0.05  # below this a pixel is background (anti-aliasing dust, paper noise)
MAX_UPLOAD_SIDE = 1024  # a phone photo needs no more pixels than this to yield a 20 px digit
EMPTY_MESSAGE = "the canvas is empty: draw a digit first"
NOT_IMAGE_MESSAGE = "not an image file: upload a PNG or JPEG of a digit"
BLANK_UPLOAD_MESSAGE = "the image is blank: upload a PNG or JPEG with a digit on it"


class DrawingError(ValueError):
    """The drawing or uploaded file cannot become a digit image; the message tells the user why."""


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114  # ITU-R BT.601


def ink_from_canvas(rgba: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] of a canvas image: (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) grey.

    Strokes are light on a transparent or black background. Ink is luminance times alpha; an image
    whose alpha is all zero is read by luminance alone, and dark strokes on a transparent layer by
    their alpha. The strongest stroke is stretched to 1, so a dim stroke colour still reads as a
    full-strength digit (MNIST strokes peak at 255).

    Example:
        >>> ink_from_canvas(np.full((2, 2, 4), 255, np.uint8)).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    image = np.asarray(rgba)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or image.size == 0:
        raise DrawingError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    # Integer pixels are 0-255; floats are taken as 0-1 unless they are plainly 0-255.
    pixels = image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer) or pixels.max() > 1.0:
        pixels /= 255.0
    if pixels.ndim == 2:
        ink = pixels
    else:
        ink = _luminance(pixels)
        if pixels.shape[2] == 4 and pixels[..., 3].max() > 0:
            alpha = pixels[..., 3]
            # Dark strokes on a transparent layer have no luminance: then the alpha is the stroke.
            ink = ink * alpha if (ink * alpha).max() > INK_THRESHOLD else alpha
    ink = np.clip(ink, 0.0, 1.0)
    peak = float(ink.max())
    return (ink / peak if peak > INK_THRESHOLD else ink).astype(np.float32)


def preprocess_ink(ink: np.ndarray) -> np.ndarray:
    """An MNIST image (28, 28) float32 in [0, 1], white on black, from an ink image of any size.

    Crops to the ink's bounding box, scales its larger side to 20 pixels keeping the aspect ratio
    (anti-aliased, grey levels kept) and shifts it by whole pixels so its centre of mass lies within
    half a pixel of (14, 14).

    Example:
        >>> ink = np.zeros((100, 100), np.float32); ink[10:90, 45:55] = 1.0
        >>> image = preprocess_ink(ink)
        >>> int((image.max(axis=1) > 0.05).sum()), int((image.max(axis=0) > 0.05).sum()) <= 4
        (20, True)
    """
    ink = np.asarray(ink)
    if ink.ndim != 2:
        raise DrawingError(f"expected a 2-D ink image, got shape {ink.shape}")
    ink = ink.astype(np.float32) / (255.0 if np.issubdtype(ink.dtype, np.integer) else 1.0)
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    if rows.size == 0:
        raise DrawingError(EMPTY_MESSAGE)
    patch = np.clip(ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1], 0.0, 1.0)
    height, width = patch.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL wants (width, height)
    # Shrinking averages the pixels each output pixel covers, which is how NIST's bilevel strokes got
    # MNIST's grey edges; enlarging a tiny drawing uses Lanczos, which BOX would make blocky.
    resample = Image.Resampling.BOX if scale <= 1 else Image.Resampling.LANCZOS
    small = np.clip(np.asarray(Image.fromarray(patch).resize(size, resample), np.float32), 0.0, 1.0)
    mass = small.sum()
    if mass <= 0:  # a few specks spread so far apart that shrinking averages them away
        raise DrawingError(EMPTY_MESSAGE)
    centre = np.array([small.sum(axis=1) @ np.arange(small.shape[0]),
                       small.sum(axis=0) @ np.arange(small.shape[1])]) / mass  # (row, column)
    # A whole-pixel shift, as MNIST did: a sub-pixel one would blur the edges past the 20 px box.
    # Clipped so that a lopsided digit is never cut off at the border (its centre then sits off).
    corner = np.clip(np.round(SIZE / 2 - centre), 0, SIZE - np.array(small.shape)).astype(int)
    out = np.zeros((SIZE, SIZE), np.float32)
    out[corner[0]:corner[0] + small.shape[0], corner[1]:corner[1] + small.shape[1]] = small
    return out


def preprocess_canvas(rgba: np.ndarray) -> np.ndarray:
    """The MNIST image (28, 28) of a canvas drawing: ``preprocess_ink(ink_from_canvas(rgba))``."""
    return preprocess_ink(ink_from_canvas(rgba))


def load_image_file(data: bytes) -> np.ndarray:
    """The MNIST image (28, 28) of an uploaded PNG, JPEG or other image file.

    A dark digit on light paper (mean brightness above 0.5) is inverted so the digit is the ink,
    and the paper's own grey level (its median) becomes black.

    Example:
        >>> buffer = io.BytesIO(); Image.new("L", (64, 64), 255).save(buffer, "PNG")
        >>> load_image_file(buffer.getvalue())
        Traceback (most recent call last):
        ...
        metalearn_core.data.drawing.DrawingError: the image is blank: upload a PNG or JPEG with a digit on it
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)  # phone photos are stored sideways
                image.thumbnail((MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))
                rgba = np.asarray(image.convert("RGBA"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DrawingError("the image is too large: upload a smaller PNG or JPEG of a digit") from None
    except (UnidentifiedImageError, OSError, ValueError, TypeError, SyntaxError):
        raise DrawingError(NOT_IMAGE_MESSAGE) from None
    ink = ink_from_canvas(rgba)
    if ink.mean() > 0.5:  # mostly light: paper, so the dark strokes are the digit
        ink = 1.0 - ink
    ink = np.clip(ink - np.median(ink), 0.0, 1.0)  # real paper is never pure white
    peak = float(ink.max())
    if peak <= INK_THRESHOLD:
        raise DrawingError(BLANK_UPLOAD_MESSAGE)
    return preprocess_ink(ink / peak)
