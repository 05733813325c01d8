"""Transfer runs in the app: the Train page watching a finished transfer run shows its learning
curve and table; the launcher under a finished base run launches one; a run without results says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.transfer import results as transfer_results
from metalearn_core.kinds.transfer.config import TransferConfig
from metalearn_core.kinds.transfer.source import transfer_config
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page(path)
    return at


@pytest.fixture(scope="module")
def transfer_home(tmp_path_factory, mnist, record_run):
    """Run 1: a tiny base run on MNIST; run 2: its transfer to Fashion-MNIST; run 3: a failed transfer."""
    from metalearn_core.data.domains import load_domain

    home = tmp_path_factory.mktemp("transfer-pages")
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    record_run(store, RunConfig(name="digits", base=tiny, training=TrainingConfig(
        epochs=1, train_limit=1500, test_limit=300)), mnist, layer_stats=False)
    config = transfer_config(store, TransferConfig(source_run=1, shots=(1, 5, 0), repeats=2, epochs=1, min_steps=5),
                             TrainingConfig(batch_size=32, train_limit=600, test_limit=200))
    record_run(store, config, load_domain("fashion_mnist"), layer_stats=False)
    failed = store.create_run(config)
    store.finish(failed, "failed", error="transfer: source run 1 does not exist; choose a finished base run")
    return home


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.caption, *at.info, *at.markdown, *at.success, *at.error])


def test_train_page_shows_a_finished_transfer_runs_learning_curve(transfer_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(transfer_home))
    at = page("pages/train.py")
    at.query_params["run"] = "2"
    at.run()
    assert not at.exception, at.exception
    chart = next(chart for chart in at.get("plotly_chart") if chart.proto.id.endswith("transfer.curve.2"))
    spec = json.loads(chart.proto.spec)
    names = [trace.get("name") for trace in spec["data"] if trace.get("mode") == "lines+markers"]
    assert names == [transfer_results.MODE_LABELS[mode] for mode in ("scratch", "frozen", "all")]
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert "MNIST digits → Fashion-MNIST clothes" in spec["layout"]["title"]["text"]
    table = at.dataframe[0].value
    assert table["examples per class"].tolist() == ["1", "5", "all"]
    assert "what the network learned on the first domain helps" in texts(at)
    assert [metric.label for metric in at.metric] == ["1 per class: scratch", "1 per class: frozen + new head",
                                                      "1 per class: all layers"]


def test_a_transfer_run_without_results_says_so(transfer_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(transfer_home))
    at = page("pages/train.py")
    at.query_params["run"] = "3"
    at.run()
    assert not at.exception, at.exception
    assert "source run 1 does not exist" in texts(at) and "it did not complete" in texts(at)


def _launcher_script() -> None:
    from dashboard.kinds import transfer
    from metalearn_core.runs.settings import get_settings
    from metalearn_core.runs.store import RunStore

    store = RunStore(get_settings().home)
    transfer.launcher(store, store.get(1))


def test_the_launcher_under_a_base_run_launches_a_transfer(transfer_home, monkeypatch):
    from metalearn_core import runner

    monkeypatch.setenv("METALEARN_HOME", str(transfer_home))
    launched = []
    monkeypatch.setattr(runner, "launch", lambda store, config, mnist: launched.append(config) or 99)
    at = AppTest.from_function(_launcher_script, default_timeout=APP_TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert at.expander[0].label == "Transfer this network to Fashion-MNIST clothes"
    at.multiselect(key="transfer.modes.1").set_value(["frozen"])
    at.button(key="transfer.launch.1").click().run()
    assert not at.exception, at.exception
    (config,) = launched
    assert (config.kind, config.settings.source_run, config.settings.target) == ("transfer", 1, "fashion_mnist")
    assert config.settings.modes == ("frozen",) and config.settings.shots == (1, 5, 20, 100, 0)
    assert at.session_state["train.run_id"] == 99


def test_compare_lists_a_transfer_run_beside_its_source(transfer_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(transfer_home))
    at = page("pages/compare.py")
    at.query_params["runs"] = "1,2"
    at.run()
    assert not at.exception, at.exception
    kinds_shown = {value for frame in at.dataframe for value in frame.value.get("kind", [])}
    assert {"base", "transfer"} <= kinds_shown


def test_a_running_transfer_shows_its_progress_and_points_so_far(transfer_home, monkeypatch):
    import fcntl
    import os

    monkeypatch.setenv("METALEARN_HOME", str(transfer_home))
    store = RunStore(transfer_home)
    run_id = store.create_run(store.get(2).config)
    store.mark_running(run_id)
    store.set_pid(run_id, os.getpid())
    store.log_metrics(run_id, "scratch", 1, {"accuracy": 0.4, "accuracy_std": 0.01, "loss": 1.5})
    store.set_progress(run_id, {"fraction": 0.25, "label": "frozen: 1 per class, repeat 1/2"})
    with open(store.worker_lock_path(run_id), "a") as lock:  # this process plays the run's worker
        fcntl.flock(lock, fcntl.LOCK_EX)
        at = page("pages/train.py")
        at.query_params["run"] = str(run_id)
        at.run()
        assert not at.exception, at.exception
        assert "frozen: 1 per class, repeat 1/2" in " ".join(bar.proto.text for bar in at.get("progress"))
        assert any(chart.proto.id.endswith(f"live.{run_id}") for chart in at.get("plotly_chart"))
    store.finish(run_id, "cancelled")
