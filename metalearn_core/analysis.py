"""Tables behind the dashboard's comparison views: runs, metric histories, config differences,
groups of runs that differ only by seed, and summary frames for one run.

Pure functions over :class:`~metalearn_core.runs.store.Run` objects and ``RunStore.metrics`` rows; they
import neither streamlit nor TensorFlow, so the pages that use them load fast.

Example:
    >>> frame = metrics_frame({1: [{"series": "train", "epoch": 1, "name": "loss", "value": 0.5},
    ...                            {"series": "train", "epoch": 1, "name": "elapsed", "value": 2.0}]},
    ...                       {1: "first"})
    >>> frame.loc[frame.metric == "loss", ["run", "value", "elapsed"]].values.tolist()
    [['first', 0.5, 2.0]]
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from metalearn_core import kinds
from metalearn_core.config import ConfigError, RunConfig, TrainingConfig
from metalearn_core.runs.run_files import metric_damage as metric_damage  # the pages say what it left out
from metalearn_core.runs.run_files import whole_number
from metalearn_core.runs.store import Run
from metalearn_core.safe_input import try_parse_id

RUN_COLUMNS = ["id", "name", "kind", "status", "created", "test_accuracy", "tags", "duration_s", "owner"]
METRIC_COLUMNS = ["run_id", "run", "series", "epoch", "metric", "value", "elapsed"]
CURVE_COLUMNS = ["epoch", "mean", "std", "count"]
PER_CLASS_COLUMNS = ["digit", "precision", "recall", "f1", "support"]
PARALLEL_COLUMNS = ["id", "name", "kind", "epochs", "batch_size", "learning_rate", "validation_split",
                    "seed", "base_layers", "dense_units", "test_accuracy"]
# Settings that change a run's outcome only through randomness or not at all: runs that differ
# only in these are repeats of one experiment.
SEED_GROUP_IGNORED = ("name", "training.seed", "fewshot.seed")
_LABEL_ARCHITECTURE_CHARS = 48


def _float_or_nan(value: Any) -> float:
    """``value`` as a float; NaN for None and for anything that is not a number (a damaged store's
    text, say)."""
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan


# -- runs and metrics -------------------------------------------------------------------------
def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run: id, name, kind, status, created, test_accuracy, tags, duration_s, owner.

    ``created`` is a timezone-aware UTC timestamp (the store keeps seconds since the epoch);
    ``test_accuracy`` and ``duration_s`` are NaN while unknown; tags are joined by ", ".

    Example:
        >>> runs_frame([]).columns.tolist()[:4]
        ['id', 'name', 'kind', 'status']
    """
    records = [
        {
            "id": run.id, "name": run.name, "kind": run.kind, "status": run.status,
            "created": run.created_at, "test_accuracy": _float_or_nan(run.test_accuracy),
            "tags": ", ".join(run.tags),
            "duration_s": (run.ended_at - run.started_at
                           if run.started_at is not None and run.ended_at is not None else math.nan),
            "owner": run.owner,  # who launched it in classroom mode, empty otherwise
        }
        for run in runs
    ]
    frame = pd.DataFrame.from_records(records, columns=RUN_COLUMNS)
    frame["created"] = pd.to_datetime(frame["created"].astype(float), unit="s", utc=True)
    return frame.astype({"id": "int64", "test_accuracy": float, "duration_s": float})


def metrics_frame(rows_by_run: dict[int, list[dict]], names: dict[int, str]) -> pd.DataFrame:
    """The metric histories of several runs in long format.

    Columns: run_id, run (its name, or "run <id>" when ``names`` lacks it), series, epoch, metric,
    value (NaN where the store holds NULL, or text: see
    :func:`~metalearn_core.runs.run_files.metric_damage`) and elapsed: the
    ``elapsed`` metric (seconds since the first batch) of the same run, series and epoch, joined
    onto every row so curves can be drawn against wall-clock time. Rows keep the order of
    ``rows_by_run``; a row whose epoch is not a whole number is left out.

    Example:
        >>> metrics_frame({}, {}).columns.tolist()
        ['run_id', 'run', 'series', 'epoch', 'metric', 'value', 'elapsed']
    """
    records = [
        (run_id, names.get(run_id, f"run {run_id}"), str(row["series"]), epoch, str(row["name"]),
         _float_or_nan(row["value"]))
        for run_id, rows in rows_by_run.items() for row in rows if (epoch := whole_number(row["epoch"])) is not None
    ]
    frame = pd.DataFrame.from_records(records, columns=METRIC_COLUMNS[:-1])
    frame = frame.astype({"run_id": "int64", "epoch": "int64", "value": float})
    keys = ["run_id", "series", "epoch"]
    elapsed = (frame.loc[frame["metric"] == "elapsed", [*keys, "value"]]
               .drop_duplicates(keys).rename(columns={"value": "elapsed"}))
    return frame.merge(elapsed, on=keys, how="left")[METRIC_COLUMNS]


def metrics_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV without the index, ready for a download button.

    Example:
        >>> metrics_csv(pd.DataFrame({"a": [1]}))
        b'a\\n1\\n'
    """
    return frame.to_csv(index=False).encode("utf-8")


# -- smoothing --------------------------------------------------------------------------------
def ema(values: Sequence[float], weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average of a curve.

    As in TensorBoard's scalar smoothing (``resmoothDataset`` in its line chart), with ``last``
    starting at 0 and ``n`` counting the finite values seen so far::

        last = weight * last + (1 - weight) * value
        smoothed = last / (1 - weight ** n)

    Dividing by ``1 - weight ** n`` removes the pull towards the starting 0, so early points are
    not biased low. Non-finite values (NaN, None, inf) are skipped and stay as they are; a
    constant curve is returned unchanged, as TensorBoard does, to avoid rounding noise. Weight 0
    means no smoothing.

    Example:
        >>> ema([1.0, 3.0], 0.5).round(4).tolist()
        [1.0, 2.3333]
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be a number in [0, 1), got {weight!r}")
    data = np.asarray(values, dtype=float)
    if data.ndim != 1:
        raise ValueError(f"ema needs a one-dimensional sequence, got shape {data.shape}")
    smoothed = data.copy()
    finite = np.isfinite(data)
    if weight == 0.0 or np.all(data[finite] == data[finite][:1]):
        return smoothed
    last, count = 0.0, 0
    for index in np.flatnonzero(finite):
        last = last * weight + (1.0 - weight) * data[index]
        count += 1
        smoothed[index] = last / (1.0 - weight**count)
    return smoothed


# -- configs ----------------------------------------------------------------------------------
def _flat_fields(settings: Any) -> dict[str, object]:
    """A section's fields as they are saved, lists joined by ", "."""
    stored = settings.to_dict() if hasattr(settings, "to_dict") else dataclasses.asdict(settings)
    return {name: ", ".join(map(str, value)) if isinstance(value, list) else value for name, value in stored.items()}


def flatten_config(config: RunConfig) -> dict[str, object]:
    """A run config as one flat dict of dotted keys, for tables that compare runs.

    Networks become their human description ("Flatten → Dense(128, relu) → Dense(classes,
    softmax)"), the stacking learners their kinds joined by ", ". A learner with a network of its
    own or a sample cap adds ``stacking.learner_<n>.network`` / ``.max_samples`` keys, so two
    configs that train differently never flatten to the same dict.

    Example:
        >>> flatten_config(RunConfig())["training.epochs"]
        5
    """
    flat: dict[str, object] = {"kind": config.kind, "name": config.name,
                               "base.layers": config.base.describe(), "meta.layers": config.meta.describe()}
    for item in dataclasses.fields(TrainingConfig):
        flat[f"training.{item.name}"] = getattr(config.training, item.name)
    if config.section:  # the kind's own settings, field by field
        own = kinds.get(config.kind).flatten_settings or _flat_fields
        flat.update({f"{config.section}.{key}": value for key, value in own(config.settings).items()})
    return flat


def config_diff(configs: dict[str, RunConfig], only_differences: bool = True) -> pd.DataFrame:
    """Settings side by side: one row per flattened setting, one column per run label.

    A setting missing from a config (a learner key another config has) shows as None. With
    ``only_differences`` only the rows whose values are not all equal remain.

    Example:
        >>> a, b = RunConfig(), RunConfig().replace(kind="stacked")
        >>> config_diff({"a": a, "b": b}).index.tolist()
        ['kind']
    """
    flats = {label: flatten_config(config) for label, config in configs.items()}
    keys = list(dict.fromkeys(key for flat in flats.values() for key in flat))
    frame = pd.DataFrame({label: pd.Series([flat.get(key) for key in keys], index=keys, dtype=object)
                          for label, flat in flats.items()}, index=pd.Index(keys, dtype=object), dtype=object)
    frame.index.name = "setting"
    if only_differences:
        # Python equality, not pandas': 5 == 5.0 is the same setting, None only equals None.
        differs = [len(row) > 0 and any(value != row[0] for value in row[1:])
                   for row in (list(values) for values in frame.itertuples(index=False))]
        frame = frame.loc[differs]
    return frame


# -- seed groups ------------------------------------------------------------------------------
def _experiment_key(config: RunConfig) -> dict[str, object]:
    """The flattened config without the settings that do not define the experiment."""
    flat = flatten_config(config)
    ignored = set(SEED_GROUP_IGNORED)
    # Settings a run kind never uses (the editor may leave any values there) must not split a group.
    used = tuple(f"{part}." for part in kinds.get(config.kind).uses)
    ignored |= {key for key in flat if "." in key and not key.startswith(used)}
    return {key: value for key, value in flat.items() if key not in ignored}


def _architecture(config: RunConfig) -> str:
    describe = kinds.get(config.kind).describe or kinds.get("base").describe
    text = describe(config)
    if len(text) > _LABEL_ARCHITECTURE_CHARS:
        text = text[:_LABEL_ARCHITECTURE_CHARS].rstrip(" →+") + " …"
    return f"{config.kind}: {text}"


def seed_groups(runs: list[Run], min_size: int = 2) -> dict[str, list[int]]:
    """Runs that repeat one experiment: configs equal except ``training.seed`` and the name.

    Keys are short labels such as ``"base: Flatten → Dense(128, relu) (3 seeds)"``; when two
    groups share an architecture, the settings that tell them apart are added ("· learning_rate
    0.01"). Values are run ids in ascending order; groups come in the order their first run
    appears in ``runs``. Groups with fewer than ``min_size`` runs are left out, and so are runs
    whose stored config cannot be read. Statuses are not looked at: pass the runs you want.

    Example:
        >>> seed_groups([])
        {}
    """
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    groups: dict[str, dict[str, Any]] = {}
    for run in runs:
        try:
            config = run.config
        except ConfigError:
            continue  # a broken config cannot be compared with anything
        key_dict = _experiment_key(config)
        key = json.dumps(key_dict, sort_keys=True, default=str)
        group = groups.setdefault(key, {"settings": key_dict, "config": config, "ids": [], "seeds": set()})
        group["ids"].append(run.id)
        group["seeds"].add(config.training.seed)
    kept = [group for group in groups.values() if len(group["ids"]) >= min_size]
    names = [_architecture(group["config"]) for group in kept]
    labels = []
    for group, name in zip(kept, names):
        rivals = [other for other, other_name in zip(kept, names) if other_name == name]
        if len(rivals) > 1:
            # Name the settings on which the groups with this architecture label disagree.
            differing = [key for key in group["settings"]
                         if len({json.dumps(other["settings"].get(key), default=str) for other in rivals}) > 1]
            name += " · " + ", ".join(f"{key.rsplit('.', 1)[-1]} {group['settings'][key]}" for key in differing)
        runs_count, seeds_count = len(group["ids"]), len(group["seeds"])
        count = (f"{seeds_count} seed{'s' if seeds_count != 1 else ''}" if runs_count == seeds_count
                 else f"{runs_count} runs, {seeds_count} seed{'s' if seeds_count != 1 else ''}")
        labels.append(f"{name} ({count})")
    return {label: sorted(group["ids"]) for label, group in zip(labels, kept)}


def group_curve(frame: pd.DataFrame, run_ids: list[int], series: str, metric: str) -> pd.DataFrame:
    """Mean, standard deviation and count of one metric per epoch across runs.

    ``frame`` is a :func:`metrics_frame`. The std is the sample standard deviation (ddof=1: the
    seeds are a sample of all possible seeds), NaN where only one run has a value. Missing and
    NaN values are left out, so ``count`` says how many runs each epoch rests on.

    Example:
        >>> rows = {i: [{"series": "train", "epoch": 1, "name": "loss", "value": v}] for i, v in [(1, 1.0), (2, 3.0)]}
        >>> group_curve(metrics_frame(rows, {}), [1, 2], "train", "loss").values.tolist()
        [[1.0, 2.0, 1.4142135623730951, 2.0]]
    """
    selected = frame[frame["run_id"].isin(run_ids) & (frame["series"] == series) & (frame["metric"] == metric)]
    selected = selected.dropna(subset=["value"])
    if selected.empty:
        return pd.DataFrame({"epoch": pd.Series(dtype="int64"), "mean": pd.Series(dtype=float),
                             "std": pd.Series(dtype=float), "count": pd.Series(dtype="int64")})
    summary = selected.groupby("epoch")["value"].agg(["mean", "std", "count"]).reset_index()
    return summary.astype({"epoch": "int64", "count": "int64"})[CURVE_COLUMNS]


# -- one run ----------------------------------------------------------------------------------
def normalize_confusion(confusion: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Each row divided by its total (recall per true class); rows with no samples stay 0.

    Example:
        >>> normalize_confusion([[1, 3], [0, 0]]).tolist()
        [[0.25, 0.75], [0.0, 0.0]]
    """
    matrix = _square(confusion, "confusion matrix").astype(float)
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def _square(matrix: Sequence[Sequence[int]] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty square table, got shape {array.shape}")
    return array


def confusion_difference(a: list[list[int]], b: list[list[int]]) -> np.ndarray:
    """``a - b`` cell by cell: positive on the diagonal where A is right more often.

    Example:
        >>> confusion_difference([[2, 0], [1, 1]], [[1, 1], [1, 1]]).tolist()
        [[1, -1], [0, 0]]
    """
    first, second = _square(a, "confusion matrix A"), _square(b, "confusion matrix B")
    if first.shape != second.shape:
        raise ValueError(f"confusion matrices differ in shape: {first.shape} vs {second.shape}; "
                         "compare runs with the same number of classes")
    return first.astype(np.int64) - second.astype(np.int64)


def per_class_frame(per_class: list[dict], class_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-class scores (from ``Evaluation.per_class``) as a table: digit, precision, recall,
    f1, support. The digit is the entry's ``class`` (or ``digit``), else its position.

    With ``class_names`` (another domain's, e.g. Fashion-MNIST's) the first column is ``class``
    instead, the name of each label.

    Example:
        >>> per_class_frame([{"class": 3, "precision": 1.0, "recall": 0.5, "f1": 0.6, "support": 2}])["digit"].tolist()
        [3]
        >>> per_class_frame([{"class": 1, "precision": 1.0, "recall": 0.5, "f1": 0.6, "support": 2}],
        ...                 ["T-shirt/top", "Trouser"])["class"].tolist()
        ['Trouser']
    """
    records = [
        {"digit": int(item.get("class", item.get("digit", position))),
         **{name: float(item[name]) for name in ("precision", "recall", "f1")},
         "support": int(item["support"])}
        for position, item in enumerate(per_class)
    ]
    frame = pd.DataFrame.from_records(records, columns=PER_CLASS_COLUMNS)
    frame = frame.astype({"digit": "int64", "precision": float, "recall": float, "f1": float,
                          "support": "int64"})
    if class_names is None:
        return frame
    names = frame["digit"].map(lambda label: class_names[label] if 0 <= label < len(class_names) else str(label))
    return frame.drop(columns="digit").assign(**{"class": names})[["class", *PER_CLASS_COLUMNS[1:]]]


def learners_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """A stacked run's base learners beside its meta network: model, kind, test_accuracy and
    vs_meta (the learner's accuracy minus the meta network's; the meta row is 0).

    Example:
        >>> learners_frame({"learners": [{"label": "base 1 (svm)", "kind": "svm", "test_accuracy": 0.9}],
        ...                 "test_accuracy": 0.95})["model"].tolist()
        ['base 1 (svm)', 'meta network']
    """
    records = [{"model": item.get("label", f"base {number}"), "kind": item.get("kind", ""),
                "test_accuracy": _float_or_nan(item.get("test_accuracy"))}
               for number, item in enumerate(summary.get("learners", []), start=1) if isinstance(item, dict)]
    meta_accuracy = _float_or_nan(summary.get("test_accuracy"))
    if records:
        records.append({"model": "meta network", "kind": "meta", "test_accuracy": meta_accuracy})
    frame = pd.DataFrame.from_records(records, columns=["model", "kind", "test_accuracy"])
    frame = frame.astype({"test_accuracy": float})
    frame["vs_meta"] = frame["test_accuracy"] - meta_accuracy
    return frame


def digit_classifier_kinds() -> tuple[str, ...]:
    """The kinds whose runs classify the ten digits, scored on the MNIST test set (base, stacked)."""
    return tuple(kind.name for kind in kinds.all_kinds() if kind.classifies_digits)


def run_dataset(run: Run) -> str:
    """The domain a run learned (``training.dataset``); "mnist" for a run without a readable config.

    Example:
        >>> run_dataset(store.get(run_id))  # doctest: +SKIP
        'fashion_mnist'
    """
    try:
        return run.config.training.dataset
    except ConfigError:
        return "mnist"


def digit_runs(runs: list[Run]) -> list[Run]:
    """The runs that classify digits: those trained on MNIST (Draw leaves out Fashion-MNIST runs).

    Example:
        >>> digit_runs([])
        []
    """
    return [run for run in runs if run_dataset(run) == "mnist"]


def parallel_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per completed run with numeric settings, for a parallel-coordinates chart.

    Only MNIST classifiers (base and stacked runs) take part: a few-shot run's accuracy is on other
    tasks. Columns: id, name, kind (category code: the index in :func:`digit_classifier_kinds`, 0 base, 1 stacked),
    epochs, batch_size, learning_rate, validation_split, seed, base_layers (hidden layers of the
    base network), dense_units (total units of its dense layers) and test_accuracy. Runs without
    a readable config or a numeric test accuracy are left out.

    Example:
        >>> parallel_frame([]).empty
        True
    """
    records = []
    classifiers = digit_classifier_kinds()
    for run in runs:
        accuracy = _float_or_nan(run.test_accuracy)  # NaN also for a damaged store's text
        if run.status != "completed" or math.isnan(accuracy) or run.kind not in classifiers:
            continue
        try:
            config = run.config
        except ConfigError:
            continue
        training = config.training
        records.append({
            "id": run.id, "name": run.name, "kind": classifiers.index(config.kind),
            "epochs": training.epochs, "batch_size": training.batch_size,
            "learning_rate": training.learning_rate, "validation_split": training.validation_split,
            "seed": training.seed, "base_layers": len(config.base.layers),
            "dense_units": sum(layer.units for layer in config.base.layers if layer.type == "dense"),
            "test_accuracy": accuracy,
        })
    frame = pd.DataFrame.from_records(records, columns=PARALLEL_COLUMNS)
    integer = ["id", "kind", "epochs", "batch_size", "seed", "base_layers", "dense_units"]
    return frame.astype({**dict.fromkeys(integer, "int64"), "learning_rate": float,
                         "validation_split": float, "test_accuracy": float})


def filter_runs(
    table: pd.DataFrame, text: str = "", kinds: Sequence[str] = (), statuses: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows of a ``runs_frame`` whose name or tags contain ``text`` (any case) and whose kind and
    status are among those given (an empty selection keeps all)."""
    keep = pd.Series(True, index=table.index)
    if text.strip():
        needle = text.strip().lower()
        keep &= table["name"].str.lower().str.contains(needle, regex=False) | table["tags"].str.lower().str.contains(
            needle, regex=False)
    if kinds:
        keep &= table["kind"].isin(list(kinds))
    if statuses:
        keep &= table["status"].isin(list(statuses))
    return table[keep].reset_index(drop=True)


def main_series(kind: str) -> str:
    """The series that stands for a run in comparisons: the meta network for a stacked run, the
    meta-training episodes for a few-shot run."""
    return kinds.get(kind).main_series if kind in kinds.names() else "train"


def main_series_frame(frame: pd.DataFrame, run_kinds: dict[int, str]) -> pd.DataFrame:
    """Only the rows of each run's main series (see ``main_series``)."""
    wanted = frame["run_id"].map(lambda run_id: main_series(run_kinds.get(run_id, "base")))
    return frame[frame["series"] == wanted].reset_index(drop=True)


def parse_run_ids(text: str, known: Sequence[int] | dict) -> list[int]:
    """Run ids from a comma-separated list such as a URL's ``runs=3,5``; unknown or malformed
    entries are dropped, order and first occurrence kept."""
    ids: list[int] = []
    for part in text.split(","):
        run_id = try_parse_id(part)
        if run_id is not None and run_id in known and run_id not in ids:
            ids.append(run_id)
    return ids
