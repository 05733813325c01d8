import io

import numpy as np
import pytest
from PIL import Image

from metalearn_core.data.drawing import (
    DrawingError,
    ink_from_canvas,
    load_image_file,
    preprocess_canvas,
    preprocess_ink,
)

DIGITS = (0, 1, 2, 3, 4)  # the first test digits: 7, 2, 1, 0, 4


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / image.sum()), float((cols * image).sum() / image.sum())


def ink_box(image: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    rows, cols = np.nonzero(image > threshold)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def on_canvas(digit: np.ndarray, zoom: int, shape: tuple[int, int], corner: tuple[int, int]) -> np.ndarray:
    """A uint8 MNIST digit enlarged ``zoom`` times and pasted at ``corner`` of a black canvas."""
    big = np.kron(digit, np.ones((zoom, zoom), np.uint8))
    canvas = np.zeros(shape, np.uint8)
    canvas[corner[0]:corner[0] + big.shape[0], corner[1]:corner[1] + big.shape[1]] = big
    return canvas


def png(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)  # uint8 (H, W) is grey, (H, W, 3) is RGB
    return buffer.getvalue()


@pytest.mark.parametrize("index", DIGITS)
def test_a_digit_anywhere_at_any_size_becomes_the_same_mnist_image(mnist, index):
    digit = mnist.x_test[index]
    centred = preprocess_ink(on_canvas(digit, 10, (280, 280), (0, 0)))
    placements = [(10, (400, 600), (110, 310)), (3, (500, 500), (10, 400)), (1, (300, 200), (250, 0))]
    for zoom, shape, corner in placements:  # off-centre and large, small in a corner, unscaled
        moved = preprocess_ink(on_canvas(digit, zoom, shape, corner))
        assert np.abs(moved - centred).mean() < 0.05
        assert correlation(moved, centred) > 0.9
    assert correlation(centred, digit / 255.0) > 0.9  # and it looks like MNIST's own framing


def test_a_smoothly_resized_digit_is_still_recognised_as_itself(mnist):
    """Non-integer scales blur edges and may move the digit by a pixel: it must stay nearest to itself."""
    gallery = np.stack([preprocess_ink(digit) for digit in mnist.x_test[:30]])
    for index in DIGITS:
        for side in (97, 173, 311):
            big = Image.fromarray(mnist.x_test[index]).resize((side, side), Image.Resampling.BILINEAR)
            canvas = np.zeros((side + 150, side + 90), np.uint8)
            canvas[100:100 + side, 13:13 + side] = np.asarray(big)
            distances = np.abs(gallery - preprocess_ink(canvas)).mean(axis=(1, 2))
            assert distances.argmin() == index and distances[index] < 0.06


@pytest.mark.parametrize("index", DIGITS)
def test_output_is_centred_by_mass_in_a_20_pixel_box(mnist, index):
    image = preprocess_ink(on_canvas(mnist.x_test[index], 7, (640, 480), (400, 20)))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert max(ink_box(image)) <= 20


def test_aspect_ratio_is_kept():
    ink = np.zeros((400, 400), np.float32)
    ink[20:380, 195:205] = 1.0  # a tall thin stroke, 360 x 10
    height, width = ink_box(preprocess_ink(ink))
    assert height == 20 and width <= 2
    wide = preprocess_ink(ink.T)
    assert ink_box(wide) == (width, height)


def test_grey_levels_are_kept(mnist):
    image = preprocess_ink(on_canvas(mnist.x_test[0], 4, (300, 300), (50, 60)))
    grey = (image > 0.02) & (image < 0.98)
    assert grey.sum() >= 20  # anti-aliased edges, not a black-and-white stencil
    assert image.max() > 0.9


def test_empty_canvas_is_an_error():
    with pytest.raises(DrawingError, match="the canvas is empty: draw a digit first"):
        preprocess_canvas(np.zeros((200, 200, 4), np.uint8))
    with pytest.raises(DrawingError, match="shape"):
        ink_from_canvas(np.zeros((5, 5, 2), np.uint8))


def test_rgba_canvas_with_transparent_background(mnist):
    digit = on_canvas(mnist.x_test[1], 8, (300, 300), (40, 50))
    rgba = np.zeros((300, 300, 4), np.uint8)
    rgba[..., :3] = np.where(digit[..., None] > 0, 255, 0)  # white strokes, no colour where unpainted
    rgba[..., 3] = digit  # the anti-aliased edge lives in alpha
    expected = preprocess_ink(digit)
    np.testing.assert_allclose(preprocess_canvas(rgba), expected, atol=1e-5)
    opaque = np.dstack([np.repeat(digit[..., None], 3, axis=2), np.full_like(digit, 255)])  # on black
    np.testing.assert_allclose(preprocess_canvas(opaque), expected, atol=1e-5)
    no_alpha = rgba.copy()
    no_alpha[..., :3], no_alpha[..., 3] = digit[..., None], 0  # all-zero alpha: luminance alone
    np.testing.assert_allclose(preprocess_canvas(no_alpha), expected, atol=1e-5)
    black_strokes = rgba.copy()
    black_strokes[..., :3] = 0  # dark strokes on a transparent layer: the alpha is the stroke
    np.testing.assert_allclose(preprocess_canvas(black_strokes), expected, atol=1e-5)
    red = rgba.copy()
    red[..., 1:3] = 0  # a dim stroke colour still reads as full-strength ink
    np.testing.assert_allclose(preprocess_canvas(red), expected, atol=1e-5)


def test_rgb_and_grey_arrays_are_accepted(mnist):
    digit = on_canvas(mnist.x_test[2], 5, (200, 200), (30, 30))
    expected = preprocess_ink(digit)
    np.testing.assert_allclose(preprocess_canvas(np.repeat(digit[..., None], 3, axis=2)), expected, atol=1e-5)
    np.testing.assert_allclose(preprocess_canvas(digit.astype(np.float32) / 255), expected, atol=1e-5)


def test_dark_digit_on_paper_is_inverted(mnist):
    digit = on_canvas(mnist.x_test[3], 6, (240, 260), (40, 20))
    expected = preprocess_ink(digit)
    np.testing.assert_allclose(load_image_file(png(255 - digit)), expected, atol=1e-5)
    np.testing.assert_allclose(load_image_file(png(digit)), expected, atol=1e-5)  # already white on black
    # A greyish photo in JPEG: paper at 200, ink at 40, compression noise.
    photo = (200 - digit.astype(np.float32) * (160 / 255)).astype(np.uint8)
    rgb = load_image_file(png(np.repeat(photo[..., None], 3, axis=2), "JPEG"))
    assert correlation(rgb, expected) > 0.9


def test_files_that_are_not_images_are_errors():
    with pytest.raises(DrawingError, match="not an image file: upload a PNG or JPEG of a digit"):
        load_image_file(b"certainly not a picture")
    truncated = png(np.full((64, 64), 128, np.uint8))[:60]
    with pytest.raises(DrawingError, match="not an image file"):
        load_image_file(truncated)
    with pytest.raises(DrawingError, match="blank"):
        load_image_file(png(np.full((64, 64), 255, np.uint8)))
