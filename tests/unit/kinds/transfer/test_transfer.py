"""The transfer run kind: class-balanced samples, frozen and fine-tuned copies of a source network
against training from scratch, its results, its checks of the source run, its flags, and a real
tiny run through the worker (MNIST digits -> Fashion-MNIST clothes)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from metalearn_core import kinds
from metalearn_core.cli import _parser, build_config
from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.transfer import results as transfer_results
from metalearn_core.kinds.transfer.config import TransferConfig
from metalearn_core.kinds.transfer.source import source_run, target_domain, transfer_config
from metalearn_core.runs.reporting import Reporter
from metalearn_core.runs.store import RunStore

TINY = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
QUICK = TransferConfig(shots=(2, 0), repeats=2, epochs=1, min_steps=8)  # source_run set per test


@pytest.fixture(scope="module")
def source_home(tmp_path_factory, mnist, record_run):
    """A store with a finished tiny base run on MNIST (run 1)."""
    home = tmp_path_factory.mktemp("transfer")
    record_run(RunStore(home), RunConfig(name="digits", base=TINY, training=TrainingConfig(
        epochs=1, batch_size=64, train_limit=1500, test_limit=300)), mnist, layer_stats=False)
    return home


@pytest.fixture(scope="module")
def source_model(source_home):
    import keras

    return keras.models.load_model(RunStore(source_home).run_folder(1) / "model.keras", compile=False)


def small_config(store: RunStore, **changes) -> RunConfig:
    settings = TransferConfig(**{**QUICK.to_dict(), "source_run": 1, **changes})
    training = TrainingConfig(epochs=1, batch_size=32, train_limit=1000, test_limit=200)
    return transfer_config(store, settings, training)


# --- the sample ---------------------------------------------------------------------------------

def test_a_balanced_sample_has_exactly_k_of_each_class(mnist):
    from metalearn_core.kinds.transfer.run import balanced_sample

    labels = mnist.y_train[:2000]
    for shots in (1, 5, 20):
        indices = balanced_sample(labels, shots, seed=3)
        assert np.bincount(labels[indices], minlength=10).tolist() == [shots] * 10
        assert len(set(indices.tolist())) == len(indices) and indices.max() < len(labels)
    assert balanced_sample(labels, 5, seed=3).tolist() == balanced_sample(labels, 5, seed=3).tolist()
    assert set(balanced_sample(labels, 5, seed=3)) != set(balanced_sample(labels, 5, seed=4))
    assert sorted(balanced_sample(labels, 0, seed=0).tolist()) == list(range(2000))  # 0 = all


def test_a_sample_larger_than_a_class_is_refused(mnist):
    from metalearn_core.kinds.transfer.run import balanced_sample

    with pytest.raises(ConfigError, match="examples per class need 30 images of class"):
        balanced_sample(mnist.y_train[:200], 30, seed=0)


def test_a_tiny_sample_still_gets_the_minimum_number_of_steps():
    from metalearn_core.kinds.transfer.run import copies_needed, point_batch, point_steps

    settings = TransferConfig(epochs=2, min_steps=200)
    assert point_batch(10, 384) == 10  # a batch is the whole sample when the sample is smaller
    assert point_steps(10, settings, batch_size=384) == 200 and copies_needed(10, settings, 384) == 100
    assert point_steps(60000, settings, batch_size=384) == 2 * 157  # enough data: the epochs decide


# --- the networks -------------------------------------------------------------------------------

def trained_copy(source_model, mode: str, mnist):
    from metalearn_core.kinds.transfer.run import balanced_sample, train_point, transfer_model

    model = transfer_model(source_model, mode)
    head_before = [w.copy() for w in model.get_layer("logits").get_weights()]
    indices = balanced_sample(mnist.y_train[:1000], 3, seed=0)
    x = mnist.x_train[indices].astype("float32") / 255
    train_point(model, x, mnist.y_train[indices].astype("int64"), TrainingConfig(batch_size=16),
                TransferConfig(epochs=1, min_steps=10), seed=0, on_batches=lambda batches: None)
    return model, head_before


def test_frozen_mode_keeps_the_source_layers_and_trains_only_the_new_head(source_model, mnist):
    model, head_before = trained_copy(source_model, "frozen", mnist)
    assert model.get_layer("logits") is not source_model.get_layer("logits")
    for before, after in zip(source_model.get_layer("dense_2").get_weights(), model.get_layer("dense_2").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(head_before[0], model.get_layer("logits").get_weights()[0])
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]  # the head's only


def test_all_mode_fine_tunes_the_source_layers_too(source_model, mnist):
    model, head_before = trained_copy(source_model, "all", mnist)
    source_kernel = source_model.get_layer("dense_2").get_weights()[0]
    assert not np.allclose(source_kernel, model.get_layer("dense_2").get_weights()[0])
    assert not np.allclose(head_before[0], model.get_layer("logits").get_weights()[0])


def test_scratch_has_the_same_architecture_with_fresh_weights(source_home, source_model):
    from metalearn_core.kinds.transfer.run import point_model

    config = small_config(RunStore(source_home))
    scratch = point_model(config, source_model, "scratch", seed=5)
    assert [w.shape for w in scratch.weights] == [w.shape for w in source_model.weights]
    assert [type(layer) for layer in scratch.layers] == [type(layer) for layer in source_model.layers]
    assert not np.allclose(scratch.get_layer("dense_2").get_weights()[0],
                           source_model.get_layer("dense_2").get_weights()[0])


# --- the source run and the config --------------------------------------------------------------

def test_the_config_takes_the_source_network_and_the_other_domain(source_home):
    config = small_config(RunStore(source_home))
    assert (config.kind, config.base) == ("transfer", TINY)
    assert config.settings.target == config.training.dataset == "fashion_mnist"
    assert target_domain("fashion_mnist") == "mnist" and target_domain("mnist", "mnist") == "mnist"
    assert RunConfig.from_json(config.to_json()) == config


def test_bad_settings_are_refused_with_a_message():
    with pytest.raises(ConfigError, match="scratch is always trained"):
        TransferConfig(modes=("scratch",))
    with pytest.raises(ConfigError, match="listed twice"):
        TransferConfig(shots=(5, 5))
    with pytest.raises(ConfigError, match="target must be one of"):
        TransferConfig(target="cifar")
    with pytest.raises(ConfigError, match="choose the source run"):
        RunConfig(kind="transfer")


def test_a_bad_source_run_gets_a_clear_message(source_home, tmp_path):
    home = tmp_path / "bad"
    shutil.copytree(source_home, home)
    store = RunStore(home)
    with pytest.raises(ConfigError, match="source run 99 does not exist"):
        source_run(store, 99)
    few = store.create_run(RunConfig(kind="fewshot"))
    with pytest.raises(ConfigError, match=f"source run {few} is a fewshot run"):
        source_run(store, few)
    queued = store.create_run(RunConfig(base=TINY))
    with pytest.raises(ConfigError, match=f"source run {queued} is queued, not completed"):
        source_run(store, queued)
    (store.run_folder(1) / "model.keras").unlink()
    with pytest.raises(ConfigError, match="has no saved network"):
        source_run(store, 1)


def test_the_worker_fails_a_transfer_whose_source_has_gone(source_home, tmp_path, mnist):
    from metalearn_core.worker import execute

    home = tmp_path / "gone"
    shutil.copytree(source_home, home)
    store = RunStore(home)
    run_id = store.create_run(small_config(store))
    store.delete(1)
    assert execute(store, run_id, None, data=mnist) == "failed"
    assert store.get(run_id).error == "transfer: source run 1 does not exist; choose a finished base run"


def test_the_command_line_builds_a_transfer_run(source_home):
    args = _parser().parse_args(["--home", str(source_home), "train", "--kind", "transfer", "--source-run", "1",
                                 "--transfer-shots", "1,5,all", "--transfer-modes", "frozen", "--repeats", "3"])
    config = build_config(args)
    assert (config.kind, config.base, config.training.dataset) == ("transfer", TINY, "fashion_mnist")
    assert (config.settings.shots, config.settings.modes, config.settings.repeats) == ((1, 5, 0), ("frozen",), 3)
    with pytest.raises(ConfigError, match="give --source-run"):
        build_config(_parser().parse_args(["--home", str(source_home), "train", "--kind", "transfer"]))
    with pytest.raises(ConfigError, match="is a flag of transfer runs"):
        build_config(_parser().parse_args(["--home", str(source_home), "train", "--source-run", "1"]))


# --- a whole run --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_transfer(source_home, mnist):
    """A tiny MNIST -> Fashion-MNIST transfer run trained through the worker (run 2)."""
    from metalearn_core.worker import execute

    store = RunStore(source_home)
    run_id = store.create_run(small_config(store))
    assert execute(store, run_id, None, data=mnist) == "completed", store.get(run_id).error
    return store, run_id


def test_a_transfer_run_writes_its_learning_curve(finished_transfer):
    store, run_id = finished_transfer
    results = transfer_results.read_results(store.run_folder(run_id))
    assert (results["source_run"], results["source_dataset"], results["target"]) == (1, "mnist", "fashion_mnist")
    assert (results["modes"], results["shots"], results["train_samples"]) == (["scratch", "frozen", "all"], [2, 0], 1000)
    assert len(results["points"]) == 2 * 3 * 2  # shots x modes x repeats
    assert {p["examples"] for p in results["points"]} == {20, 1000}
    assert all(0 <= p["accuracy"] <= 1 and p["loss"] > 0 for p in results["points"])
    for row in results["summary"]:
        values = [p["accuracy"] for p in results["points"] if (p["shots"], p["mode"]) == (row["shots"], row["mode"])]
        assert row["mean"] == pytest.approx(np.mean(values)) and row["std"] == pytest.approx(np.std(values))
    # Well above chance (10%) from 100 images per class of Fashion-MNIST.
    assert min(row["mean"] for row in results["summary"] if row["shots"] == 0 and row["mode"] != "frozen") > 0.5
    metrics = store.metrics(run_id)
    assert {(m["series"], m["epoch"]) for m in metrics} == {(mode, k) for mode in results["modes"] for k in (2, 100)}


def test_a_transfer_run_uses_the_target_domain_s_images_only(source_home, mnist, monkeypatch):
    """The sampled training images all come from the target's training split, never its test split."""
    from metalearn_core.data.domains import load_domain
    from metalearn_core.kinds.transfer import run as transfer_run

    fashion = load_domain("fashion_mnist")
    seen = []
    original = transfer_run.train_point
    monkeypatch.setattr(transfer_run, "train_point", lambda model, x, y, *rest: (seen.append(x), original(model, x, y, *rest)))
    store = RunStore(source_home)
    config = small_config(store, shots=(3,), modes=("frozen",), repeats=1)
    progress = []
    result = transfer_run.train_transfer(config, fashion, Reporter(on_progress=progress.append),
                                         store.run_folder(store.create_run(config)))
    assert result.status == "completed" and len(seen) == 2
    fractions = [item["fraction"] for item in progress]
    assert fractions[0] == 0 and fractions == sorted(fractions) and fractions[-1] <= 1
    train_images = {image.tobytes() for image in fashion.x_train[:1000]}
    test_images = {image.tobytes() for image in fashion.x_test}
    for x in seen:
        pixels = np.rint(x * 255).astype(np.uint8)
        assert all(image.tobytes() in train_images and image.tobytes() not in test_images for image in pixels)


def test_the_report_draws_one_line_per_mode_on_a_log_axis(finished_transfer):
    store, run_id = finished_transfer
    results = transfer_results.read_results(store.run_folder(run_id))
    figure = transfer_results.learning_curve_figure(results)
    lines = [trace for trace in figure.data if trace.mode == "lines+markers"]
    assert [trace.name for trace in lines] == [transfer_results.MODE_LABELS[m] for m in ("scratch", "frozen", "all")]
    assert figure.layout.xaxis.type == "log" and list(figure.layout.xaxis.ticktext) == ["2", "all"]
    bands = [trace for trace in figure.data if trace.fill == "toself"]
    assert len(bands) == 3 and all(trace.mode == "lines" for trace in bands)  # a band under each line
    table = transfer_results.results_table(results)
    assert table["examples per class"].tolist() == ["2", "all"] and "gain (points)" in table
    frame = transfer_results.curve_frame(results).set_index(["shots", "mode"])
    gain = max(frame.loc[(2, "frozen"), "mean"], frame.loc[(2, "all"), "mean"]) - frame.loc[(2, "scratch"), "mean"]
    assert table["gain (points)"][0] == f"{100 * gain:+.1f}"


def test_the_kind_is_registered_but_launched_from_a_base_run():
    kind = kinds.get("transfer")
    assert kind.section == "transfer" and kind.page != "train" and not kind.classifies_digits
    assert "transfer" not in json.loads(RunConfig().to_json())  # a base run holds its own settings only
    assert json.loads(RunConfig(kind="transfer", settings=TransferConfig(source_run=4)).to_json())["transfer"][
        "source_run"] == 4
