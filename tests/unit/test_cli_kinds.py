"""Issue 22, point 13: ``runs show`` (and ``train``, which ends with the same print) shows a run of
every kind, whatever its summary holds; and names and tags with control characters (from a store an
older version wrote) come out escaped, never as raw terminal codes."""

from __future__ import annotations

import json
import sqlite3

import pytest

from metalearn_core import kinds
from metalearn_core.cli import main, printable
from metalearn_core.config import RunConfig
from metalearn_core.kinds.transfer.config import TransferConfig
from metalearn_core.presets import preset_config
from metalearn_core.runs.store import RunStore

WORKER = {"data": "MNIST from path (/data/mnist.npz): 60,000 training and 10,000 test images",
          "timing": {"worker_running": 0.2, "tensorflow_imported": 5.0, "data_loaded": 5.2}, "startup_seconds": 5.3}

# Summaries shaped as each kind's run.py writes them (with what the worker adds), and what runs show
# must print of each: the kind's key figures.
KINDS = {
    "base": (lambda: RunConfig(kind="base"),
             {"epochs_done": 2, "train_seconds": 0.81, "fit_seconds": 0.87, "parameters": 12730, "train_samples": 600,
              "test_samples": 200, "data_source": "path", "test_accuracy": 0.9712, "test_loss": 0.0934},
             ["test accuracy 97.12%", "test loss 0.0934", "epochs 2", "parameters 12,730"]),
    "stacked": (lambda: RunConfig(kind="stacked"),
                {"learners": [{"label": "base 1 (network)", "kind": "network", "test_accuracy": 0.95},
                              {"label": "base 2 (random forest)", "kind": "random_forest", "test_accuracy": 0.93}],
                 "test_accuracy": 0.9612, "test_loss": 0.131, "best_base_accuracy": 0.95, "stacking_gain": 0.0112,
                 "meta_samples": 120, "train_samples": 600, "test_samples": 200, "data_source": "path",
                 "epochs_done": 3},
                ["meta network: test accuracy 96.12%", "best base learner 95.00%", "stacking gain +1.12%",
                 "base 2 (random forest): test accuracy 93.00%"]),
    "fewshot": (lambda: RunConfig(kind="fewshot"),
                {"iterations": 1500, "train_seconds": 61.0, "algorithm": "protonet", "data_source": "path",
                 "train_domain": "mnist", "eval_domain": "fashion_mnist", "test_accuracy": 0.664,
                 "baseline_seconds": 3.0, "fewshot_1shot": 0.444, "fewshot_5shot": 0.664},
                ["1-shot 44.40%", "5-shot 66.40%", "algorithm protonet", "meta-iterations 1,500",
                 "meta-trained on mnist, evaluated on fashion_mnist"]),
    "learned_optimizer": (lambda: preset_config("learned-optimizer"),
                          {"data_source": "path", "train_seconds": 240.5, "iterations": 600,
                           "final_loss_learned": 0.2556, "final_loss_sgd": 0.61, "final_loss_momentum": 0.35,
                           "final_loss_rmsprop": 0.3102, "final_loss_adam": 0.3016, "test_accuracy": 0.9121,
                           "best_hand_optimizer": "adam", "learned_beats_adam": True},
                          ["learned 0.2556", "adam 0.3016", "learned optimizer beats Adam: yes",
                           "best hand-tuned optimizer: adam", "91.21%", "meta-training trajectories 600"]),
    "online": (lambda: RunConfig(kind="online"),
               {"stream": "rotating", "examples": 2000, "drift_at": 1000, "data_source": "path",
                "final_sgd": 0.81, "auc_sgd": 0.7712, "seconds_sgd": 4.2,
                "final_adam": 0.86, "auc_adam": 0.8003, "seconds_adam": 4.5},
               ["stream rotating", "examples 2,000", "drift at example 1,000",
                "from scratch, SGD: final accuracy 81.00%  AUC 0.7712", "from scratch, Adam: final accuracy 86.00%"]),
    "transfer": (lambda: RunConfig(kind="transfer", settings=TransferConfig(source_run=1)),
                 {"source_run": 1, "source_dataset": "mnist", "target": "fashion_mnist", "train_seconds": 30.0,
                  "points": 12, "train_samples": 600, "test_samples": 200, "data_source": "path",
                  "transfer_accuracy": {"scratch@1": 0.31, "frozen@1": 0.42, "all@all": 0.85}},
                 ["from run 1", "trained on mnist", "to fashion_mnist", "points trained 12",
                  "frozen@1: 42.00%", "all@all: 85.00%"]),
}


def test_every_registered_kind_is_covered_here():
    assert set(KINDS) == set(kinds.names())


def _stored(home, kind: str, summary: dict, status: str = "completed") -> str:
    store = RunStore(home)
    run_id = store.create_run(KINDS[kind][0]().replace(name=f"a {kind} run"))
    store.mark_running(run_id)
    store.finish(run_id, status, summary)
    return str(run_id)


def _show(home, run_id: str, capsys) -> str:
    assert main(["--home", str(home), "runs", "show", run_id]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_runs_show_prints_each_kinds_key_figures(kind, tmp_path, capsys):
    _, summary, expected = KINDS[kind]
    out = _show(tmp_path, _stored(tmp_path, kind, {**WORKER, **summary}), capsys)
    assert f"[{kind}, completed]" in out
    for text in expected:
        assert text in out, (text, out)
    assert "data: MNIST from path" in out
    assert main(["--home", str(tmp_path), "runs", "list"]) == 0
    assert f"a {kind} run" in capsys.readouterr().out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_interrupted_runs_empty_summary_prints(kind, tmp_path, capsys):
    out = _show(tmp_path, _stored(tmp_path, kind, {}, status="interrupted"), capsys)
    assert f"[{kind}, interrupted]" in out and "folder:" in out
    assert kinds.get(kind).summary_lines({}) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_summary_of_the_wrong_types_prints_what_it_can(kind, tmp_path, capsys):
    _, summary, _ = KINDS[kind]
    odd = {key: "abc" if isinstance(value, (int, float)) else [1] for key, value in summary.items()}
    out = _show(tmp_path, _stored(tmp_path, kind, odd), capsys)
    assert "abc" not in out and "[1]" not in out  # a value the kind cannot show is left out


def test_a_base_run_trained_by_a_learned_optimizer_says_which(tmp_path, capsys):
    summary = {"epochs_done": 1, "train_seconds": 1.3, "parameters": 15910, "test_accuracy": 0.14, "test_loss": 2.2572,
               "learned_optimizer_run": 5, "data_source": "path"}
    out = _show(tmp_path, _stored(tmp_path, "base", summary), capsys)
    assert "test accuracy 14.00%  test loss 2.2572" in out and "trained by the learned optimizer of run 5" in out


def test_a_run_of_a_kind_this_version_does_not_know_prints_its_numbers(tmp_path, capsys):
    run_id = _stored(tmp_path, "base", {"test_accuracy": 0.5, "widgets": 3, "note": "ok"})
    with sqlite3.connect(tmp_path / "runs.sqlite") as connection:
        connection.execute("UPDATE runs SET kind = 'teleport' WHERE id = ?", (int(run_id),))
    out = _show(tmp_path, run_id, capsys)
    assert "[teleport, completed]" in out and "test_accuracy: 0.5" in out and "widgets: 3" in out


ESCAPE = "\x1b[2J\x1b]0;owned\x07"  # clear the screen, set the terminal's title


def test_names_and_tags_with_control_characters_print_escaped(tmp_path, capsys):
    run_id = _stored(tmp_path, "base", KINDS["base"][1])
    with sqlite3.connect(tmp_path / "runs.sqlite") as connection:  # as an older version let them in
        connection.execute("UPDATE runs SET name = ?, tags = ?, error = ? WHERE id = ?",
                           (f"evil{ESCAPE}\nline two\u202e", json.dumps([f"t{ESCAPE}", "fine"]), "note\x1b[31m",
                            int(run_id)))
    for command in (["runs", "list"], ["runs", "show", run_id]):
        assert main(["--home", str(tmp_path), *command]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        assert "evil\\x1b[2J" in out
    assert "tags: t\\x1b[2J\\x1b]0;owned\\x07, fine" in out and "line two\\u202e" in out
    assert "evil\\x1b[2J\\x1b]0;owned\\x07\\nline two" in out and "note: note\\x1b[31m" in out


def test_printable_keeps_ordinary_text():
    assert printable("café · 日本 😀 ![t](http://x)") == "café · 日本 😀 ![t](http://x)"
    assert printable("a\tb\rc\x00\x7f\x9b") == "a\\tb\\rc\\x00\\x7f\\x9b"
