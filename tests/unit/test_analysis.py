import dataclasses
import io
import json
import math
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from metalearn_core.analysis import (
    config_diff,
    confusion_difference,
    ema,
    flatten_config,
    group_curve,
    learners_frame,
    metrics_csv,
    metrics_frame,
    normalize_confusion,
    parallel_frame,
    per_class_frame,
    runs_frame,
    seed_groups,
)
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.models.evaluation import per_class_scores
from metalearn_core.runs.store import RunStore


def with_training(config: RunConfig, **changes) -> RunConfig:
    return config.replace(training=dataclasses.replace(config.training, **changes))


# -- ema --------------------------------------------------------------------------------------
def reference_ema(values, weight):
    """The debiased formula written out plainly: skip NaN, divide by 1 - weight^n."""
    out, last, seen = [], 0.0, 0
    for value in values:
        if math.isnan(value):
            out.append(value)
            continue
        last = weight * last + (1 - weight) * value
        seen += 1
        out.append(last / (1 - weight**seen))
    return out


@pytest.mark.parametrize("weight", [0.3, 0.6, 0.9, 0.99])
def test_ema_matches_the_debiased_formula(weight):
    values = np.random.default_rng(1).normal(1.0, 0.5, 40)
    values[[0, 7, 8, 30]] = np.nan
    smoothed = ema(values.tolist(), weight)
    np.testing.assert_allclose(smoothed, reference_ema(values, weight), rtol=1e-12, equal_nan=True)
    assert np.isnan(smoothed[[0, 7, 8, 30]]).all()
    assert smoothed[1] == pytest.approx(values[1])  # debiasing: the first real value is not pulled to 0


def test_ema_weight_zero_is_identity_and_bad_weights_are_rejected():
    values = [0.5, None, 2.0, -1.0]
    np.testing.assert_array_equal(ema(values, 0), np.array([0.5, np.nan, 2.0, -1.0]))
    np.testing.assert_array_equal(ema([3.0] * 5, 0.9), [3.0] * 5)
    smoothed = ema(np.random.default_rng(2).normal(size=200), 0.9)
    assert np.std(smoothed[50:]) < 0.6  # smoothing shrinks the spread of white noise (std 1)
    for weight in (1.0, -0.1, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="smoothing weight"):
            ema([1.0, 2.0], weight)
    with pytest.raises(ValueError, match="one-dimensional"):
        ema([[1.0, 2.0]], 0.5)


# -- configs ----------------------------------------------------------------------------------
def test_flatten_config_covers_every_setting():
    config = RunConfig(kind="stacked", name="x")
    flat = flatten_config(config)
    data = config.to_dict()
    for section in ("training", "stacking"):
        for key, value in data[section].items():
            if key != "learners":
                assert flat[f"{section}.{key}"] == value, key
    assert flat["base.layers"] == config.base.describe() and flat["meta.layers"] == config.meta.describe()
    assert flat["stacking.learners"] == "network, random_forest"
    custom = config.replace(settings=StackingConfig(learners=(
        LearnerConfig("network", network=NetworkConfig((LayerConfig("flatten"),))), LearnerConfig("svm", max_samples=500))))
    flat = flatten_config(custom)
    assert flat["stacking.learners"] == "network, svm"
    assert flat["stacking.learner_1.network"].startswith("Flatten") and flat["stacking.learner_2.max_samples"] == 500


def test_config_diff_shows_only_the_differing_settings():
    a = RunConfig(name="a")
    b = with_training(a, learning_rate=0.01)
    c = a.replace(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64))))
    diff = config_diff({"A": a, "B": b})
    assert diff.index.tolist() == ["training.learning_rate"]
    assert diff.loc["training.learning_rate"].tolist() == [0.001, 0.01]
    diff = config_diff({"A": a, "B": b, "C": c})
    assert set(diff.index) == {"training.learning_rate", "base.layers"}
    assert diff.columns.tolist() == ["A", "B", "C"] and "Dense(64, relu)" in diff.loc["base.layers", "C"]
    everything = config_diff({"A": a, "B": b}, only_differences=False)
    assert everything.index.tolist() == list(flatten_config(a)) and everything.shape == (len(flatten_config(a)), 2)
    assert config_diff({"A": a, "A again": RunConfig(name="a")}).empty
    stacked = a.replace(kind="stacked")
    own = a.replace(kind="stacked", settings=StackingConfig(learners=(LearnerConfig("svm", max_samples=100),)))
    diff = config_diff({"A": stacked, "own": own})
    assert diff.loc["stacking.learner_1.max_samples"].tolist() == [None, 100]


# -- the store-backed helpers -----------------------------------------------------------------
@pytest.fixture()
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path)


def test_seed_groups_group_runs_that_differ_only_by_seed(store):
    base = RunConfig()
    first = [store.create_run(with_training(base, seed=seed).replace(name=f"s{seed}")) for seed in (0, 1, 2)]
    faster = with_training(base, learning_rate=0.01)
    second = [store.create_run(with_training(faster, seed=seed)) for seed in (0, 1)]
    # a base run saved in the first format, with another kind's settings beside its own, repeats it
    old_format = store.create_run(with_training(base, seed=5))
    stored = {key: value for key, value in json.loads(store.get(old_format).config_json).items() if key != "version"}
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET config = ? WHERE id = ?",
                     (json.dumps({**stored, "meta": {"layers": []}, "stacking": {"folds": 3}}), old_format))
    first.append(old_format)
    lonely = store.create_run(RunConfig(kind="stacked"))
    broken = store.create_run(with_training(base, seed=9))
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET config = ? WHERE id = ?", ('{"kind": "base", "training": [', broken))
    runs = store.list_runs()
    assert next(run for run in runs if run.id == broken).config_error

    groups = seed_groups(runs)
    assert sorted(groups.values()) == sorted([sorted(first), sorted(second)])
    labels = {tuple(ids): label for label, ids in groups.items()}
    assert labels[tuple(sorted(first))].startswith("base: Flatten → Dense(128, relu)")
    assert "(4 seeds)" in labels[tuple(sorted(first))] and "(2 seeds)" in labels[tuple(sorted(second))]
    assert "learning_rate 0.01" in labels[tuple(sorted(second))]  # same architecture: the label says what differs
    assert all(broken not in ids for ids in groups.values())
    assert [lonely] in seed_groups(runs, min_size=1).values()
    repeated = store.create_run(with_training(faster, seed=1))
    assert any("3 runs, 2 seeds" in label for label in seed_groups(store.list_runs()))
    assert repeated in next(ids for label, ids in seed_groups(store.list_runs()).items() if "3 runs" in label)


def test_runs_frame_and_parallel_frame(store):
    done = store.create_run(RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=64),
                                                          LayerConfig("dropout"), LayerConfig("dense", units=32)))))
    store.mark_running(done)
    store.set_tags(done, ["wide", "baseline"])
    store.finish(done, "completed", summary={"test_accuracy": 0.97})
    waiting = store.create_run(with_training(RunConfig(kind="stacked"), learning_rate=0.05))
    broken = store.create_run(RunConfig())
    store.finish(broken, "completed", summary={"test_accuracy": 0.5})
    with sqlite3.connect(store.db_path) as conn:
        conn.execute("UPDATE runs SET config = 'not json' WHERE id = ?", (broken,))
    runs = store.list_runs()

    frame = runs_frame(runs).set_index("id")
    run = store.get(done)
    assert frame.loc[done, "duration_s"] == pytest.approx(run.ended_at - run.started_at)
    assert frame.loc[done, "tags"] == "baseline, wide" and frame.loc[done, "test_accuracy"] == 0.97
    assert math.isnan(frame.loc[waiting, "test_accuracy"]) and math.isnan(frame.loc[waiting, "duration_s"])
    assert pd.api.types.is_datetime64_any_dtype(frame["created"])
    assert frame.loc[done, "created"].timestamp() == pytest.approx(run.created_at)
    assert runs_frame([]).empty

    parallel = parallel_frame(runs)
    assert parallel["id"].tolist() == [done]  # the queued run and the unreadable config are left out
    row = parallel.iloc[0]
    assert (row["base_layers"], row["dense_units"], row["kind"]) == (4, 96, 0)
    assert row["test_accuracy"] == 0.97 and row["epochs"] == TrainingConfig().epochs


# -- metric frames ----------------------------------------------------------------------------
def store_rows(series, epochs, values, elapsed=True):
    rows = []
    for epoch in range(1, epochs + 1):
        for name, value in values(epoch).items():
            rows.append({"series": series, "epoch": epoch, "name": name, "value": value})
        if elapsed:
            rows.append({"series": series, "epoch": epoch, "name": "elapsed", "value": 10.0 * epoch + len(series)})
    return rows


def test_metrics_frame_joins_elapsed_onto_every_row():
    base = store_rows("train", 3, lambda e: {"loss": 1 / e, "val_loss": None if e == 2 else 1.1 / e})
    stacked = store_rows("meta", 2, lambda e: {"loss": 0.5 / e}) + store_rows(
        "base 2 (random forest)", 1, lambda e: {"accuracy": 0.99}, elapsed=False)
    frame = metrics_frame({3: base, 7: stacked}, {3: "first"})
    assert frame.columns.tolist() == ["run_id", "run", "series", "epoch", "metric", "value", "elapsed"]
    assert len(frame) == len(base) + len(stacked)
    assert set(frame.loc[frame.run_id == 7, "run"]) == {"run 7"} and set(frame.loc[frame.run_id == 3, "run"]) == {"first"}
    timed = frame[frame.series != "base 2 (random forest)"]
    assert (timed["elapsed"] == 10.0 * timed["epoch"] + timed["series"].str.len()).all()
    assert frame.loc[frame.series == "base 2 (random forest)", "elapsed"].isna().all()
    missing = frame[(frame.metric == "val_loss") & (frame.epoch == 2)]
    assert missing["value"].isna().all() and missing["elapsed"].iloc[0] == 20.0 + len("train")
    assert metrics_frame({}, {}).empty


def test_group_curve_matches_numpy():
    rng = np.random.default_rng(0)
    table = rng.uniform(0.1, 1.0, (3, 4))
    table[1, 1] = np.nan  # a NULL in the store
    rows = {run_id: store_rows("train", 4 if run_id != 2 else 3, lambda e, r=run_id: {"loss": table[r, e - 1]})
            for run_id in range(3)}
    rows[9] = store_rows("train", 4, lambda e: {"loss": 100.0})  # not in the group
    rows[0] += store_rows("meta", 4, lambda e: {"loss": 50.0})  # another series
    curve = group_curve(metrics_frame(rows, {}), [0, 1, 2], "train", "loss")
    assert curve.columns.tolist() == ["epoch", "mean", "std", "count"] and curve["epoch"].tolist() == [1, 2, 3, 4]
    for _, row in curve.iterrows():
        present = [table[r, int(row["epoch"]) - 1] for r in range(3) if not (r == 2 and row["epoch"] == 4)]
        present = [value for value in present if not np.isnan(value)]
        assert row["count"] == len(present)
        assert row["mean"] == pytest.approx(np.mean(present))
        assert row["std"] == pytest.approx(np.std(present, ddof=1))
    assert group_curve(metrics_frame(rows, {}), [0], "train", "loss")["std"].isna().all()
    assert group_curve(metrics_frame(rows, {}), [0], "train", "accuracy").empty


def test_metrics_csv_round_trips_utf8():
    frame = metrics_frame({1: store_rows("train", 2, lambda e: {"loss": 0.25 * e})}, {1: "Flatten → Dense"})
    data = metrics_csv(frame)
    assert isinstance(data, bytes) and "→".encode() in data
    back = pd.read_csv(io.BytesIO(data))
    assert back.columns.tolist() == frame.columns.tolist()
    np.testing.assert_allclose(back["value"], frame["value"])


# -- one run ----------------------------------------------------------------------------------
def test_confusion_helpers():
    counts = np.array([[5, 1, 0], [0, 0, 0], [2, 2, 4]])
    fractions = normalize_confusion(counts)
    np.testing.assert_allclose(fractions.sum(axis=1), [1, 0, 1])
    assert fractions[2, 0] == pytest.approx(0.25)
    other = np.eye(3, dtype=int)
    np.testing.assert_array_equal(confusion_difference(counts.tolist(), other.tolist()), counts - other)
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_difference(counts.tolist(), np.eye(2, dtype=int).tolist())
    with pytest.raises(ValueError, match="square"):
        normalize_confusion([[1, 2, 3]])


def test_per_class_and_learners_frames():
    confusion = np.array([[3, 1], [0, 4]])
    frame = per_class_frame(per_class_scores(confusion))
    assert frame.columns.tolist() == ["digit", "precision", "recall", "f1", "support"]
    assert frame["digit"].tolist() == [0, 1] and frame["support"].tolist() == [4, 4]
    assert frame.loc[0, "recall"] == pytest.approx(0.75) and frame.loc[1, "precision"] == pytest.approx(0.8)
    summary = {"learners": [{"label": "base 1 (network)", "kind": "network", "test_accuracy": 0.97},
                            {"label": "base 2 (svm)", "kind": "svm", "test_accuracy": 0.95}],
               "test_accuracy": 0.98}
    learners = learners_frame(summary)
    assert learners["model"].tolist() == ["base 1 (network)", "base 2 (svm)", "meta network"]
    np.testing.assert_allclose(learners["vs_meta"], [-0.01, -0.03, 0.0])
    assert learners_frame({}).empty


def test_analysis_and_figures_load_without_tensorflow_or_streamlit():
    code = ("import sys, metalearn_core.analysis, metalearn_core.figures; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
