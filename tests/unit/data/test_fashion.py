"""Fashion-MNIST: the loader against Debian's original IDX files, its sources in order, broken files,
offline, and the domain's way through the worker, the CLI and Draw's model list."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from metalearn_core import analysis, cli
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.data import fashion as fashion_module
from metalearn_core.data.domains import class_names, load_domain
from metalearn_core.data.fashion import FASHION_CLASSES, IDX_FILES, load_fashion_mnist
from metalearn_core.data.mnist import DataError
from metalearn_core.runs.store import RunStore
from metalearn_core.worker import execute

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def _parse_idx(path: Path) -> np.ndarray:
    """An independent IDX reader (struct, not the loader's numpy header): the reference."""
    raw = gzip.decompress(path.read_bytes())
    magic = struct.unpack(">I", raw[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def _write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> None:
    magic = magic if magic is not None else 0x0800 + array.ndim
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()))


def _write_folder(folder: Path, data, count: int) -> Path:
    """The first ``count`` training and test examples of ``data`` as the four IDX .gz files."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_FILES.items():
        _write_idx(folder / name, getattr(data, key)[:count])
    return folder


@pytest.fixture()
def no_sources(tmp_path, monkeypatch) -> Path:
    """No env variable, an empty fake HOME (so no Keras cache) and a private temp dir for the marker."""
    monkeypatch.delenv("METALEARN_FASHION_MNIST", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "fakehome"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    return tmp_path / "fakehome" / ".keras" / "datasets" / "fashion-mnist"


def test_the_loader_gives_the_arrays_of_the_debian_idx_files(fashion):
    if not DEBIAN.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    assert (fashion.x_train.shape, fashion.x_test.shape) == ((60000, 28, 28), (10000, 28, 28))
    assert (fashion.y_train.shape, fashion.y_test.shape) == ((60000,), (10000,))
    assert {fashion.x_train.dtype, fashion.y_train.dtype, fashion.x_test.dtype, fashion.y_test.dtype} == {
        np.dtype(np.uint8)}
    for key, name in IDX_FILES.items():
        reference = _parse_idx(DEBIAN / name)
        loaded = getattr(fashion, key)
        assert hashlib.sha256(loaded[:50].tobytes()).hexdigest() == hashlib.sha256(
            reference[:50].tobytes()).hexdigest()
        np.testing.assert_array_equal(loaded, reference)
    # The published balance of Fashion-MNIST: 6,000 training and 1,000 test images per class.
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    assert np.bincount(fashion.y_test).tolist() == [1000] * 10
    assert "Fashion-MNIST from path" in fashion.describe() and "60,000 training" in fashion.describe()


def test_an_npz_source(fashion, tmp_path):
    path = tmp_path / "fashion.npz"
    np.savez(path, x_train=fashion.x_train[:300], y_train=fashion.y_train[:300],
             x_test=fashion.x_test[:100], y_test=fashion.y_test[:100])
    data = load_fashion_mnist(path)
    assert (data.source, data.location, len(data.y_train), len(data.y_test)) == ("path", str(path), 300, 100)
    np.testing.assert_array_equal(data.x_test, fashion.x_test[:100])


def test_sources_in_order_explicit_path_then_env_then_keras_cache(fashion, tmp_path, no_sources, monkeypatch):
    cache = _write_folder(no_sources, fashion, 30)
    from_cache = load_fashion_mnist(allow_download=False)
    assert (from_cache.source, from_cache.location, len(from_cache.y_train)) == ("keras-cache", str(cache), 30)
    np.testing.assert_array_equal(from_cache.x_train, fashion.x_train[:30])

    env_folder = _write_folder(tmp_path / "env", fashion, 20)
    monkeypatch.setenv("METALEARN_FASHION_MNIST", str(env_folder))
    from_env = load_fashion_mnist(allow_download=False)
    assert (from_env.source, from_env.location, len(from_env.y_train)) == ("path", str(env_folder), 20)

    explicit = _write_folder(tmp_path / "explicit", fashion, 10)
    from_path = load_fashion_mnist(explicit, allow_download=False)
    assert (from_path.location, len(from_path.y_train)) == (str(explicit), 10)


def _broken(tmp_path: Path, fashion, key: str, content: bytes | None = None) -> Path:
    folder = _write_folder(tmp_path / "broken", fashion, 20)
    if content is not None:
        (folder / IDX_FILES[key]).write_bytes(content)
    return folder


def test_truncated_and_corrupted_gzip_files_are_named(fashion, tmp_path):
    labels = gzip.compress(struct.pack(">II", 2049, 20) + fashion.y_train[:20].tobytes())
    folder = _broken(tmp_path, fashion, "y_train", labels[: len(labels) // 2])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: not a readable gzip file"):
        load_fashion_mnist(folder)
    corrupted = bytearray(gzip.compress(struct.pack(">II", 2049, 20) + fashion.y_train[:20].tobytes()))
    corrupted[-8] ^= 0xFF  # the CRC of the data no longer matches
    folder = _broken(tmp_path, fashion, "y_train", bytes(corrupted))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: not a readable gzip file"):
        load_fashion_mnist(folder)
    folder = _broken(tmp_path, fashion, "x_test", b"not gzip at all")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz"):
        load_fashion_mnist(folder)


def test_a_header_that_disagrees_with_the_data(fashion, tmp_path):
    short = gzip.compress(struct.pack(">IIII", 2051, 20, 28, 28) + fashion.x_train[:19].tobytes())
    folder = _broken(tmp_path, fashion, "x_train", short)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: wrong size, the header announces 20 items"):
        load_fashion_mnist(folder)
    folder = _broken(tmp_path, fashion, "x_train", gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        load_fashion_mnist(folder)


def test_wrong_magic_and_wrong_count(fashion, tmp_path):
    folder = _write_folder(tmp_path / "magic", fashion, 20)
    shutil.copy(folder / IDX_FILES["y_test"], folder / IDX_FILES["x_test"])  # labels where images belong
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: wrong magic number 2049"):
        load_fashion_mnist(folder)
    folder = _write_folder(tmp_path / "count", fashion, 20)
    _write_idx(folder / IDX_FILES["y_train"], fashion.y_train[:15])
    with pytest.raises(DataError, match=r"wrong count, train-images-idx3-ubyte\.gz has 20 images but "
                                        r"train-labels-idx1-ubyte\.gz has 15 labels"):
        load_fashion_mnist(folder)


def test_an_npz_missing_a_key_and_a_missing_path(fashion, tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=fashion.x_train[:10], y_train=fashion.y_train[:10], x_test=fashion.x_test[:10])
    with pytest.raises(DataError, match=rf"{path}: .*missing array\(s\) y_test"):
        load_fashion_mnist(path)
    with pytest.raises(DataError, match=r"nowhere: no such folder or file"):
        load_fashion_mnist(tmp_path / "nowhere")


def test_a_broken_keras_cache_is_reported_not_downloaded_again(fashion, no_sources, monkeypatch):
    _write_folder(no_sources, fashion, 20)
    (no_sources / IDX_FILES["y_test"]).write_bytes(b"broken")
    monkeypatch.setattr(fashion_module, "_download_with_keras", lambda timeout: pytest.fail("downloaded"))
    with pytest.raises(DataError, match=r"Keras cache is unusable: .*t10k-labels-idx1-ubyte\.gz"):
        load_fashion_mnist()


def test_offline_without_a_source_the_notice_says_how_to_get_it(no_sources, monkeypatch):
    calls = []

    def offline(timeout: float):
        calls.append(timeout)
        raise OSError("Network is unreachable")

    monkeypatch.setattr(fashion_module, "_download_with_keras", offline)
    with pytest.raises(DataError) as first:
        load_fashion_mnist(download_timeout=1.0)
    message = str(first.value)
    assert "download failed: OSError: Network is unreachable" in message
    assert "METALEARN_FASHION_MNIST" in message and "~/.keras/datasets/fashion-mnist/" in message
    with pytest.raises(DataError, match="not retried"):  # the next process does not wait again
        load_fashion_mnist()
    assert calls == [1.0]
    with pytest.raises(DataError, match="download disabled"):
        load_fashion_mnist(allow_download=False)


def test_domains_by_name(fashion, mnist):
    assert class_names("mnist") == [str(digit) for digit in range(10)]
    assert class_names("fashion_mnist") == list(FASHION_CLASSES) and len(FASHION_CLASSES) == 10
    assert class_names("fashion_mnist")[fashion.y_test[0]] == "Ankle boot"  # the first test image
    assert "Fashion-MNIST" in load_domain("fashion_mnist").describe()
    assert load_domain("mnist").describe().startswith("MNIST")
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_domain("cifar")


def test_per_class_table_names_fashion_classes():
    per_class = [{"class": label, "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 3} for label in (0, 9)]
    frame = analysis.per_class_frame(per_class, class_names("fashion_mnist"))
    assert frame.columns[0] == "class" and frame["class"].tolist() == ["T-shirt/top", "Ankle boot"]
    assert analysis.per_class_frame(per_class)["digit"].tolist() == [0, 9]


def _tiny(dataset: str) -> RunConfig:
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    return RunConfig(name=f"tiny-{dataset}", base=tiny, training=TrainingConfig(
        epochs=1, train_limit=1500, test_limit=500, dataset=dataset))


def test_the_worker_trains_a_fashion_run_on_fashion_data(fashion, mnist, home):
    store = RunStore(home)
    run_id = store.create_run(_tiny("fashion_mnist"))
    store.mark_running(run_id)
    # A warm worker hands over its preloaded MNIST: a Fashion-MNIST run must not train on it.
    assert execute(store, run_id, None, data=mnist) == "completed"
    run = store.get(run_id)
    assert run.summary["data"].startswith("Fashion-MNIST from path")
    assert 0.5 < run.summary["test_accuracy"] < 1.0  # learned something in one epoch, and not digits
    assert analysis.digit_runs([run]) == []


def test_draw_lists_only_runs_trained_on_digits(home):
    store = RunStore(home)
    digits, clothes = store.create_run(_tiny("mnist")), store.create_run(_tiny("fashion_mnist"))
    kept = analysis.digit_runs(store.list_runs())
    assert [run.id for run in kept] == [digits] and clothes not in [run.id for run in kept]


def test_data_info_shows_both_domains(fashion, capsys, no_sources):
    assert cli.main(["--fashion-mnist", str(DEBIAN), "data", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("MNIST digits: MNIST from")
    assert lines[1] == f"Fashion-MNIST clothes: Fashion-MNIST from path ({DEBIAN}): 60,000 training and 10,000 test images"
    assert cli.main(["--fashion-mnist", "/nowhere/fashion", "data", "info"]) == 2  # a broken path given
    out = capsys.readouterr().out
    assert "MNIST digits: MNIST from" in out
    assert "Fashion-MNIST clothes: not available: /nowhere/fashion: no such folder or file" in out


def test_data_info_without_fashion_mnist_says_how_to_get_it(capsys, no_sources, monkeypatch):
    monkeypatch.setattr(fashion_module, "_download_with_keras", lambda timeout: (_ for _ in ()).throw(
        OSError("Network is unreachable")))
    assert cli.main(["data", "info"]) == 0  # absent is not an error: the rest of the lab works
    out = capsys.readouterr().out
    assert "MNIST digits: MNIST from" in out
    assert "Fashion-MNIST clothes: not available" in out and "METALEARN_FASHION_MNIST" in out


def test_train_takes_a_dataset_flag(tmp_path, home):
    path = tmp_path / "run.json"
    assert cli.main(["train", "--dataset", "fashion_mnist", "--epochs", "2", "--save-config", str(path)]) == 0
    config = RunConfig.from_json(path.read_text())
    assert (config.training.dataset, config.training.epochs) == ("fashion_mnist", 2)
