"""Issue 22, point 6: a damaged result file or metric row costs one message naming the run and what is
damaged, never a traceback; the rest of the run is still read."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from damaged_runs import OLD_HOME, damaged_home

from metalearn_core import analysis
from metalearn_core.cli import main
from metalearn_core.config import RunConfig
from metalearn_core.kinds.base.results import read_results as read_evaluation
from metalearn_core.kinds.fewshot.results import read_results as fewshot_results
from metalearn_core.kinds.learned_optimizer.results import read_results as optimizer_results
from metalearn_core.kinds.online.results import read_results as online_results
from metalearn_core.kinds.stacked.results import read_results as stacked_results
from metalearn_core.kinds.transfer.results import read_results as transfer_results
from metalearn_core.runs.run_files import DamagedFile, metric_damage, read_run_json
from metalearn_core.runs.store import RunStore


def _online() -> dict:
    point = {"examples": 50, "prequential_accuracy": 0.5, "window_accuracy": 0.5}
    return {"stream": {"name": "shuffled"}, "drift_at": None, "batch_size": 1, "window": 100, "report_every": 50,
            "learners": {"sgd": {"points": [point], "final": 0.5, "auc": 0.4, "seconds": 1.0}}}


def _transfer() -> dict:
    rows = [{"shots": 1, "mode": mode, "mean": 0.4, "std": 0.01, "min": 0.39, "max": 0.41, "loss": 1.5, "repeats": 2}
            for mode in ("scratch", "frozen")]
    return {"source_run": 1, "source_dataset": "mnist", "target": "fashion_mnist", "source_test_accuracy": 0.9,
            "modes": ["scratch", "frozen"], "shots": [1], "repeats": 2, "train_samples": 600, "test_samples": 200,
            "points": [], "summary": rows}


def _fixture(run: int, name: str) -> dict:
    return json.loads((OLD_HOME / "runs" / str(run) / name).read_text())


# reader, file name, a good file's content, contents of the right JSON but the wrong shape
READERS = {
    "evaluation": (read_evaluation, "evaluation.json", lambda: _fixture(1, "evaluation.json"),
                   [{"confusion": "x", "per_class": []}, {"confusion": [[1, 2], [3]], "per_class": []},
                    {"confusion": [["a"]], "per_class": [{}]}]),
    "fewshot": (fewshot_results, "fewshot.json", lambda: _fixture(3, "fewshot.json"),
                [{"iterations": 1, "meta_train_seconds": 1.0, "settings": {"1": {"learner": "x"}}},
                 {"iterations": "many", "meta_train_seconds": 1.0, "settings": {}}]),
    "learned_optimizer": (optimizer_results, "learned_optimizer.json", lambda: _fixture(5, "learned_optimizer.json"),
                          [{"evaluation": {"optimizers": {}, "steps": 100}}, {"evaluation": []}]),
    "online": (online_results, "online.json", _online,
               [{**_online(), "learners": {"sgd": {"points": "x", "final": 0.5, "auc": 0.4}}},
                {**_online(), "window": "100"}]),
    "transfer": (transfer_results, "transfer.json", _transfer,
                 [{**_transfer(), "summary": [{"mode": "frozen"}]}, {**_transfer(), "modes": "scratch"}]),
}


@pytest.fixture(params=sorted(READERS))
def reader(request):
    return READERS[request.param]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "7"
    folder.mkdir(parents=True)
    return folder


def _damaged(read, folder: Path, name: str) -> str:
    with pytest.raises(DamagedFile) as caught:
        read(folder)
    message = str(caught.value)
    assert message.startswith(f"run 7: {name} is damaged (") and message.endswith("the rest of the run is shown")
    assert "\n" not in message and str(folder) not in message  # one line, no server path
    return message


def test_a_good_file_reads_and_a_missing_one_is_none(reader, tmp_path):
    read, name, good, _ = reader
    folder = _folder(tmp_path)
    assert read(folder) is None
    (folder / name).write_text(json.dumps(good()))
    assert read(folder) == good()


@pytest.mark.parametrize("content", [b'{"confusion": [[1, 2], [3', b"", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe garbage",
                                     b"[" * 100_000], ids=["truncated", "empty", "binary", "too-deep"])
def test_a_file_that_is_not_json_names_the_run_and_the_file(reader, tmp_path, content):
    read, name, _, _ = reader
    folder = _folder(tmp_path)
    (folder / name).write_bytes(content)
    message = _damaged(read, folder, name)
    assert ("not text" in message) if content.startswith(b"\x89") else ("JSON" in message)


def test_json_of_the_wrong_shape_names_the_run_and_the_file(reader, tmp_path):
    read, name, _, wrong_shapes = reader
    folder = _folder(tmp_path)
    for content in [[], "text", 3, *wrong_shapes]:
        (folder / name).write_text(json.dumps(content))
        _damaged(read, folder, name)


def test_an_evaluation_with_indices_out_of_range_is_damaged(tmp_path):
    folder = _folder(tmp_path)
    evaluation = _fixture(1, "evaluation.json")
    (folder / "evaluation.json").write_text(json.dumps({**evaluation, "predictions": [0, 12]}))
    assert "predictions" in _damaged(read_evaluation, folder, "evaluation.json")
    (folder / "evaluation.json").write_text(json.dumps({**evaluation, "misclassified": ["3"]}))
    assert "misclassified" in _damaged(read_evaluation, folder, "evaluation.json")


def test_a_stacked_run_reads_its_evaluation_and_its_stack(tmp_path):
    folder = _folder(tmp_path)
    assert stacked_results(folder) is None
    evaluation = _fixture(2, "evaluation.json")
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    assert stacked_results(folder) == {**evaluation, "stack": None}  # no stack.json: the evaluation still reads
    stack = _fixture(2, "stack.json")
    (folder / "stack.json").write_text(json.dumps(stack))
    assert stacked_results(folder)["stack"] == stack and stack["learners"] == ["learner-1.keras", "learner-2.joblib"]
    for damage in ('{"learners": ["learner-1.keras"', json.dumps({**stack, "learners": [1, 2]}),
                   json.dumps({**stack, "meta": None})):
        (folder / "stack.json").write_text(damage)
        _damaged(stacked_results, folder, "stack.json")
    (folder / "stack.json").write_text(json.dumps(stack))
    (folder / "evaluation.json").write_text(json.dumps(evaluation)[:200])
    _damaged(stacked_results, folder, "evaluation.json")


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path):
    folder = _folder(tmp_path)
    (folder / "big.json").write_text("[" + "0," * 600 + "0]")
    assert "larger than 1,000 bytes" in str(pytest.raises(DamagedFile, read_run_json, folder, "big.json",
                                                          max_bytes=1000).value)


# -- metric rows ------------------------------------------------------------------------------

ROWS = [{"series": "train", "epoch": 1, "name": "loss", "value": 0.9},
        {"series": "train", "epoch": 2, "name": "loss", "value": "abc"},
        {"series": "train", "epoch": "two", "name": "accuracy", "value": 0.5},
        {"series": "train", "epoch": 2, "name": "accuracy", "value": None},
        {"series": "train", "epoch": 2, "name": "elapsed", "value": b"\x00"}]


def test_metrics_frame_leaves_text_out_and_metric_damage_says_so():
    frame = analysis.metrics_frame({7: ROWS, 8: ROWS[:1]}, {7: "seven"})
    assert len(frame[frame.run_id == 7]) == 4  # the row whose epoch is "two" has nowhere to go
    loss = frame[(frame.metric == "loss") & (frame.run_id == 7)].sort_values("epoch")["value"].tolist()
    assert loss[0] == 0.9 and math.isnan(loss[1])
    assert frame["elapsed"].isna().all()
    assert metric_damage({7: ROWS, 8: ROWS[:1]}) == [
        "run 7: 3 metric rows in the run store are damaged (not numbers) and are left out; the rest of the run is "
        "shown"]
    assert analysis.metric_damage is metric_damage  # the pages reach it through analysis


def test_a_text_test_accuracy_in_a_summary_is_a_gap_in_the_runs_table(tmp_path):
    store = RunStore(tmp_path / "home")
    run_id = store.create_run(RunConfig(name="odd"))
    store.finish(run_id, "completed", {"test_accuracy": "abc", "learners": [{"test_accuracy": "x"}]})
    run = store.get(run_id)
    assert math.isnan(analysis.runs_frame([run])["test_accuracy"].iloc[0])
    assert analysis.learners_frame(run.summary)["test_accuracy"].isna().all()


# -- the store and the command line -----------------------------------------------------------

def test_runs_show_prints_the_rest_of_a_damaged_run(tmp_path, capsys):
    home = tmp_path / "home"
    damaged_home(home)
    assert main(["--home", str(home), "runs", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "note: run 1: evaluation.json is damaged (not valid JSON); the rest of the run is shown" in out
    assert "test accuracy 80.00%" in out and "train (epoch 2)" in out and "confusion matrix" not in out
    assert main(["--home", str(home), "runs", "show", "2"]) == 0
    out = capsys.readouterr().out
    assert "note: run 2: 1 metric row in the run store is damaged (not a number)" in out
    assert "train (epoch 2): accuracy 0.8 " in out and "val_loss 0.55" in out and "abc" not in out
    assert "confusion matrix" in out
    assert main(["--home", str(home), "runs", "show", "3"]) == 0
    out = capsys.readouterr().out
    assert "abc" not in out and "meta network: test accuracy" not in out and "[stacked, completed]" in out
    assert main(["--home", str(home), "runs", "list"]) == 0
    assert "text-summary" in capsys.readouterr().out


def test_an_old_home_copied_with_a_damaged_file_still_lists(tmp_path, capsys):
    home = tmp_path / "old"
    shutil.copytree(OLD_HOME, home)
    (home / "runs" / "3" / "fewshot.json").write_bytes(b"\xff\xfe\x00")
    assert main(["--home", str(home), "runs", "list"]) == 0
    assert main(["--home", str(home), "runs", "show", "3"]) == 0
    assert "1-shot 44.40%" in capsys.readouterr().out
