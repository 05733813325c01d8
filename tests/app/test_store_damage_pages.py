"""Issue 22, points 7 and 8, as the pages see them: runs brought back by ``store recover`` after the
database was deleted show on Compare with their curves and models; a database deleted under the
running app does not break it; a corrupt database shows one message naming the file and the
recover command on every page; a read-only home shows its runs and says why Launch is disabled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from app_pages import open_page
from streamlit.testing.v1 import AppTest

from metalearn_core.cli import main as cli
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["tiny-0", "tiny-1", "tiny-2"]


def page(path: str, home: Path, monkeypatch, **query: str) -> AppTest:
    monkeypatch.setenv("METALEARN_HOME", str(home))
    return open_page(path, **query).run()


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory, mnist, record_run) -> Path:
    """Three finished base runs, trained for real (tiny), recorded as the worker records them."""
    home = tmp_path_factory.mktemp("trained") / "home"
    store = RunStore(home, database="")
    network = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16)))
    for seed, name in enumerate(NAMES):
        record_run(store, RunConfig(name=name, base=network, training=TrainingConfig(
            epochs=2, batch_size=64, train_limit=600, test_limit=200, seed=seed)), mnist)
    return home


@pytest.fixture()
def copy_of(trained_home, tmp_path, monkeypatch):
    monkeypatch.delenv("METALEARN_DB", raising=False)

    def copy() -> Path:
        home = tmp_path / "home"
        shutil.copytree(trained_home, home)
        return home

    return copy


def _curve_runs(at: AppTest, metric: str) -> set[str]:
    """The run labels drawn in the Compare curve chart of ``metric``."""
    chart = next(chart for chart in at.get("plotly_chart") if chart.proto.id.endswith(f"compare.curves.{metric}"))
    figure = json.loads(chart.proto.spec)
    return {trace["name"].split(" ")[0] for trace in figure["data"] if trace.get("name") and trace.get("x")}


def test_recovered_runs_show_on_compare_with_their_curves_and_models(copy_of, monkeypatch, capsys):
    home = copy_of()
    (home / "runs.sqlite").unlink()
    assert cli(["--home", str(home), "store", "recover"]) == 0
    assert "recovered 3 runs (3 with their curves)" in capsys.readouterr().out
    at = page("pages/compare.py", home, monkeypatch, runs="1,2,3")
    assert not at.exception, at.exception
    assert sorted(at.dataframe[0].value["name"]) == NAMES
    assert set(at.dataframe[0].value["status"]) == {"completed"}
    for metric in ("loss", "accuracy"):
        assert {"#1", "#2", "#3"} <= _curve_runs(at, metric), metric
    downloads = [button for button in at.get("download_button") if "model.keras" in str(button.proto.label)]
    assert downloads, "the chosen run's model is offered for download"
    draw = page("pages/draw.py", home, monkeypatch)
    assert not draw.exception, draw.exception
    options = " ".join(map(str, draw.selectbox(key="draw.model").options))
    assert all(f"#{run_id} · {name}" in options for run_id, name in zip((1, 2, 3), NAMES)), options


def test_a_database_deleted_under_the_running_app_is_made_again(copy_of, monkeypatch):
    home = copy_of()
    at = page("pages/compare.py", home, monkeypatch)
    assert not at.exception and len(at.dataframe[0].value) == 3
    for suffix in ("", "-wal", "-shm"):
        (home / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    at.run()
    assert not at.exception, at.exception  # before the fix: "no such table: runs"
    assert any("No runs yet" in str(info.value) for info in at.info)


@pytest.mark.parametrize("path", ["app.py", "pages/train.py", "pages/compare.py", "pages/draw.py"])
def test_a_corrupt_database_shows_one_message_on_every_page(copy_of, monkeypatch, path):
    home = copy_of()
    (home / "runs.sqlite").write_bytes(b"garbage, not a database\n" * 500)
    at = page(path, home, monkeypatch)
    assert not at.exception, at.exception
    errors = [str(error.value).replace("\\", "") for error in at.error]
    assert len(errors) == 1 and "runs.sqlite" in errors[0] and "store recover" in errors[0], errors
    assert [code.value for code in at.code] == ["python -m metalearn_core store recover"]


def test_a_read_only_home_shows_its_runs_and_says_why_launch_is_disabled(copy_of, monkeypatch):
    home = copy_of()
    # Tests run as root, whom no permission stops: the store is told the file cannot be written
    # (tests/unit/runs/test_store_damage.py checks the real thing, as another user).
    monkeypatch.setattr("metalearn_core.runs.database.writable", lambda path: False)
    compare = page("pages/compare.py", home, monkeypatch, runs="1,2")
    assert not compare.exception, compare.exception
    assert sorted(compare.dataframe[0].value["name"]) == NAMES
    assert {"#1", "#2"} <= _curve_runs(compare, "loss")
    draw = page("pages/draw.py", home, monkeypatch)
    assert not draw.exception, draw.exception
    assert len(draw.selectbox(key="draw.model").options) == 3
    train = page("pages/train.py", home, monkeypatch)
    assert not train.exception, train.exception
    assert train.button(key="train.launch").disabled
    notes = " ".join(str(info.value) for info in train.info).replace("\\", "")
    assert "Launch is unavailable" in notes and "read-only" in notes
    assert any("read-only" in str(warning.value).replace("\\", "") for warning in train.sidebar.warning)
    assert sorted(path.name for path in home.iterdir()) == ["runs", "runs.sqlite"], "nothing was written"
