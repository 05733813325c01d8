import json
import subprocess
import sys
from pathlib import Path

import pytest
from busy_machine import scaled

from metalearn_core.cli import main
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.fewshot.setup import recommended_settings

ROOT = Path(__file__).resolve().parents[2]


def test_bad_input_is_one_line_and_exit_2(home, tmp_path, capsys):
    bad = tmp_path / "run.json"
    bad.write_text('{"training": {"epochs": 0}}')
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad}: training: epochs must be between 1 and 500, got 0"]
    assert main(["train", "--batch-size", "0"]) == 2
    assert "batch size must be between 1 and 8192" in capsys.readouterr().err
    assert main(["runs", "show", "42"]) == 2
    assert capsys.readouterr().err.strip() == "error: no run with id 42"
    assert main(["--mnist", str(tmp_path / "none.npz"), "data", "info"]) == 2
    assert "none.npz: no such file" in capsys.readouterr().err


def test_save_config_round_trips_flags(home, tmp_path):
    out = tmp_path / "saved.json"
    assert main(["train", "--preset", "seed", "--epochs", "3", "--kind", "stacked", "--learners", "network,svm",
                 "--meta-input", "logits", "--save-config", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["training"]["epochs"] == 3 and data["kind"] == "stacked"
    assert [learner["kind"] for learner in data["stacking"]["learners"]] == ["network", "svm"]


def test_data_info_names_source_and_sizes(capsys):
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "training and" in out and "test images" in out


@pytest.mark.slow
def test_train_then_list_show_delete_from_the_shell(home, mnist_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "metalearn_core", "--home", str(home), "--mnist", mnist_path,
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=scaled(300))

    done = cli("train", "--preset", "seed", "--epochs", "1", "--train-limit", "1000", "--test-limit", "300",
               "--name", "cli-run")
    assert done.returncode == 0, done.stderr
    assert "launched run 1" in done.stdout and "[base, completed]" in done.stdout
    assert "confusion matrix" in done.stdout
    listing = cli("runs", "list")
    assert "cli-run" in listing.stdout and "completed" in listing.stdout
    shown = cli("runs", "show", "1")
    assert "test accuracy" in shown.stdout and "Flatten → Dense(128, relu)" in shown.stdout
    assert cli("runs", "delete", "1").returncode == 0
    assert "no runs yet" in cli("runs", "list").stdout


def test_fewshot_flags_start_from_the_algorithms_recommended_settings(home, tmp_path, capsys):
    out = tmp_path / "fewshot.json"
    assert main(["train", "--kind", "fewshot", "--algorithm", "reptile", "--network", "dense", "--shots", "5",
                 "--budget", "60", "--save-config", str(out)]) == 0
    config = RunConfig.from_json(out.read_text())
    assert config.kind == "fewshot" and config.base.layers[0].type == "flatten"
    settings = config.settings
    assert (settings.algorithm, settings.shots, settings.time_budget) == ("reptile", 5, 60.0)
    assert settings.inner_steps == recommended_settings("reptile")["inner_steps"]
    bad = tmp_path / "bad.json"
    # A hand-edited file: the config is refused when it is read, with the few-shot kind's message.
    data = config.to_dict()
    data["base"] = NetworkConfig((LayerConfig("flatten"), LayerConfig("dropout"))).to_dict()
    bad.write_text(json.dumps(data))
    assert main(["train", "--config", str(bad), "--algorithm", "maml"]) == 2
    assert "conv blocks" in capsys.readouterr().err
