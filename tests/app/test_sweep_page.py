"""The Sweep page with streamlit's AppTest: empty, with a real finished sweep, invalid spaces, launching."""

from __future__ import annotations

from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from dashboard.text import plain
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.controller import Controller
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/sweep.py"


def sweep_page() -> AppTest:
    """The app started at its home script, switched to the Sweep page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page(PAGE)
    return at


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info, *at.success,
                                                        *at.warning])


def launch_button(at: AppTest):
    return next(button for button in at.button if button.label == "Launch sweep")


@pytest.fixture(scope="module")
def swept_home(tmp_path_factory, mnist_path):
    """A home holding one finished 3-trial sweep of a Dense(16) network (about 25 s: a worker per trial)."""
    home = tmp_path_factory.mktemp("swept")
    base = RunConfig(base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=16))),
                     training=TrainingConfig(epochs=2, batch_size=64, train_limit=1000, test_limit=300))
    space = SearchSpace.from_dict({"units": {"low": 8, "high": 64}, "learning_rate": {"low": 1e-4, "high": 1e-2}})
    config = SweepConfig(space=space, base=base, trials=3, name="tiny-sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METALEARN_WARM_WORKER", "0")
        runs, sweeps = RunStore(home), SweepStore(home)
        sweep_id = sweeps.create(config)
        assert Controller(runs, sweeps, sweep_id, mnist_path).run() == "completed"
    return home


def test_sweep_page_renders_on_an_empty_home(home):
    at = sweep_page().run()
    assert not at.exception, at.exception
    assert "No sweep yet" in texts(at)
    assert not launch_button(at).disabled  # the learning rate is ticked on a first visit: ready to launch
    assert any(box.key == "sweep.search.units" for box in at.checkbox)
    assert not any(box.key == "sweep.search.inner_lr" for box in at.checkbox)  # a few-shot setting


def test_a_finished_sweep_shows_its_trials_figures_and_importances(swept_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(swept_home))
    at = sweep_page().run()
    assert not at.exception, at.exception
    assert at.query_params["sweep"] == "1"  # the link (and a reload) shows this sweep
    table = at.dataframe[0].value
    assert len(table) == 3
    assert set(table["state"]) == {"✓ complete"}
    assert {"units_1", "learning_rate", "test_accuracy"} <= set(table.columns)
    objective = table["objective"].tolist()
    assert objective == sorted(objective, reverse=True)  # best first
    assert len(at.get("plotly_chart")) == 4  # best so far, parallel coordinates, curves, importances
    assert "Which settings mattered" in texts(at)
    assert "never looks at the test set" in texts(at)
    assert any(f"{plain('tiny-sweep')}: completed" in element.value for element in at.success)  # shown as text
    assert not any(button.label in ("Cancel sweep", "Resume sweep") for button in at.button)


def test_re_launching_the_best_trial_runs_it_on_all_the_data(swept_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(swept_home))
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch",
                        lambda store, config, mnist=None: launched.append(config) or 99)
    at = sweep_page().run()
    best = next(button for button in at.button if button.label.startswith("Re-launch the best"))
    best.click().run()
    assert not at.exception, at.exception
    (config,) = launched
    assert config.training.train_limit == 0 and config.training.test_limit == 0
    table = at.dataframe[0].value
    assert config.base.layers[1].units == int(table.iloc[0]["units_1"])  # the best trial's settings
    assert config.training.learning_rate == pytest.approx(float(table.iloc[0]["learning_rate"]))
    assert at.session_state["train.run_id"] == 99  # the Train page shows that run


def test_a_choice_list_with_one_value_is_a_clear_error_and_no_launch(home):
    at = sweep_page().run()
    at.checkbox(key="sweep.search.activation").check().run()
    at.multiselect(key="sweep.values.activation").set_value(["relu"]).run()
    assert not at.exception, at.exception
    assert any("a choice list with one value" in element.value for element in at.error)
    assert launch_button(at).disabled


def test_units_without_a_dense_layer_is_a_clear_error(home):
    at = sweep_page().run()
    at.session_state["train.base"] = []  # the Train page's network with every layer removed
    at.checkbox(key="sweep.search.units").check().run()
    assert not at.exception, at.exception
    assert any("units and activation act on dense hidden layers" in element.value for element in at.error)
    assert launch_button(at).disabled


def test_launch_hands_the_widgets_sweep_to_the_runner(home, monkeypatch):
    launched = []

    def fake_launch(sweeps, config, mnist=None):
        launched.append(config)
        return sweeps.create(config)  # stored, never started: the page shows it queued

    monkeypatch.setattr("dashboard.sweep.launch_sweep", fake_launch)
    at = sweep_page().run()
    at.checkbox(key="sweep.search.dropout").check().run()
    at.selectbox(key="sweep.sampler").set_value("random")
    at.selectbox(key="sweep.pruner").set_value("asha")
    at.number_input(key="sweep.trials").set_value(4)
    launch_button(at).click().run()
    assert not at.exception, at.exception
    (config,) = launched
    assert [dimension.name for dimension in config.space.dimensions] == ["dropout", "learning_rate"]
    assert (config.space.get("dropout").low, config.space.get("dropout").high) == (0.0, 0.5)
    assert (config.sampler, config.pruner, config.trials) == ("random", "asha", 4)
    assert config.base.training.validation_split > 0
    assert at.selectbox(key="sweep.view").value == 1  # the new sweep is the one shown
    assert any("queued" in element.value for element in at.info)


def test_a_fewshot_sweep_offers_the_fewshot_settings(home):
    at = sweep_page().run()
    at.radio(key="sweep.kind").set_value("fewshot").run()
    assert not at.exception, at.exception
    boxes = {box.key for box in at.checkbox}
    assert {"sweep.search.inner_lr", "sweep.search.meta_learning_rate"} <= boxes
    assert "sweep.search.learning_rate" not in boxes and "sweep.search.epochs" not in boxes  # base-run settings
    assert at.radio(key="sweep.objective").options == ["validation accuracy"]  # few-shot runs report only that
    assert not at.error and not launch_button(at).disabled


def test_cancel_while_active_and_resume_once_interrupted(home, monkeypatch):
    calls = []
    monkeypatch.setattr("dashboard.sweep_trials.cancel_sweep", lambda runs, sweeps, sweep_id: calls.append(("cancel", sweep_id)))
    monkeypatch.setattr("dashboard.sweep_trials.resume_sweep",
                        lambda sweeps, sweep_id, mnist=None: calls.append(("resume", sweep_id)))
    sweeps = SweepStore(home)
    config = SweepConfig(space=SearchSpace.from_dict({"epochs": {"low": 1, "high": 3}}), trials=2, name="paused")
    sweep_id = sweeps.create(config)  # queued, its controller about to start: active
    at = sweep_page().run()
    assert not any(button.label == "Resume sweep" for button in at.button)
    next(button for button in at.button if button.label == "Cancel sweep").click().run()
    sweeps.update_state(sweep_id, status="interrupted")  # as when its controller was killed
    at.run()
    assert not at.exception, at.exception
    assert not any(button.label == "Cancel sweep" for button in at.button)
    next(button for button in at.button if button.label == "Resume sweep").click().run()
    assert calls == [("cancel", sweep_id), ("resume", sweep_id)]
