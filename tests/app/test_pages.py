"""Every page renders with streamlit's AppTest, on an empty store and on one with finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.run import fewshot_network
from metalearn_core.kinds.stacked.config import LearnerConfig, StackingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.session import config_to_token, token_to_config

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["app.py", "pages/train.py", "pages/compare.py", "pages/fewshot.py", "pages/draw.py"]  # app.py renders Home


def page(path: str) -> AppTest:
    """The app started at its home script, switched to ``path`` as a user clicking the sidebar would."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    return at


@pytest.fixture(scope="module")
def filled_home(tmp_path_factory, mnist, record_run):
    home = tmp_path_factory.mktemp("filled")
    store = RunStore(home)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    for seed in (0, 1):
        record_run(store, RunConfig(name=f"small-{seed}", base=tiny, training=TrainingConfig(
            epochs=2, train_limit=1500, test_limit=300, seed=seed)), mnist)
    record_run(store, RunConfig(kind="stacked", name="stack", base=tiny, training=TrainingConfig(
        epochs=1, train_limit=1500, test_limit=300), settings=StackingConfig(
        learners=(LearnerConfig("network"), LearnerConfig("random_forest")), meta_epochs=3)), mnist)
    record_run(store, RunConfig(kind="fewshot", name="few", base=fewshot_network("dense", hidden=(32,)),
                            settings=FewShotConfig(algorithm="protonet", iterations=20, validation_every=10,
                                                  validation_episodes=3, evaluation_episodes=10,
                                                  baseline_seconds=0.5)), mnist)
    return home


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_on_an_empty_store(path, home):
    at = page(path).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_with_finished_runs(path, filled_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(filled_home))
    at = page(path)
    if path.endswith("compare.py"):
        at.query_params["runs"] = "1,2,3,4"  # 4 is the few-shot run
    at.run()
    assert not at.exception, at.exception
    text = " ".join(str(element.value) for element in [*at.markdown, *at.caption, *at.info, *at.success])
    if path in ("app.py", "pages/home.py"):
        assert "small-0" in at.dataframe[0].value["name"].tolist()
    if path.endswith("compare.py"):
        assert len(at.get("plotly_chart")) >= 5  # two curve charts, confusion matrices, diff, parallel
    if path.endswith("draw.py"):
        assert "lift the pen" in text
        at.session_state["draw.tab"] = "Teach it your handwriting (few-shot)"  # only the open tab runs
        at.run()
        assert not at.exception, at.exception
        assert any(box.label == "Meta-trained learner" for box in at.selectbox)  # the teach tab
    if path.endswith("fewshot.py"):  # the finished few-shot run: results beside the baselines
        table = at.dataframe[0].value
        assert {"5-way 1-shot", "5-way 5-shot"} <= set(table.columns)
        assert any("Nearest centroid on pixels" in method for method in table["method"])
        assert "Support set" in text


def test_fewshot_algorithm_loads_its_settings_and_launches(home, monkeypatch):
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch", lambda store, config, mnist: launched.append(config) or 1)
    at = page("pages/fewshot.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="fewshot.algorithm").set_value("reptile").run()
    assert at.slider(key="fewshot.inner_steps").value == 5  # Reptile's recommended inner steps
    at.radio(key="fewshot.network").set_value("dense").run()
    at.slider(key="fewshot.shots").set_value(5).run()
    at.button(key="fewshot.launch").click().run()
    assert not at.exception, at.exception
    assert launched and launched[0].kind == "fewshot"
    settings = launched[0].settings
    assert (settings.algorithm, settings.shots, settings.inner_steps) == ("reptile", 5, 5)
    assert [layer.type for layer in launched[0].base.layers][0] == "flatten"


def test_fewshot_rejects_a_network_maml_cannot_run(home):
    at = page("pages/fewshot.py").run()
    at.selectbox(key="fewshot.algorithm").set_value("maml").run()
    at.selectbox(key="train.fewshot.new_type").set_value("dropout").run()
    at.button(key="train.fewshot.add").click().run()
    messages = " ".join(error.value for error in at.error)
    assert "conv blocks" in messages and at.button(key="fewshot.launch").disabled


def test_train_widgets_change_the_config_in_the_link(home):
    at = page("pages/train.py").run()
    at.slider(key="train.epochs").set_value(7).run()
    at.select_slider(key="train.batch_size").set_value(64).run()
    at.selectbox(key="train.optimizer").set_value("rmsprop").run()
    at.button(key="train.base.add").click().run()  # appends a layer of the default new type (dense)
    assert not at.exception
    config = token_to_config(at.query_params["config"][0] if isinstance(at.query_params["config"], list)
                             else at.query_params["config"])
    assert (config.training.epochs, config.training.batch_size, config.training.optimizer) == (7, 64, "rmsprop")
    assert len(config.base.layers) == 4


def test_a_shared_link_restores_the_setup(home):
    shared = RunConfig(name="from a link", base=NetworkConfig((LayerConfig("flatten"),
                                                               LayerConfig("dense", units=77))),
                       training=TrainingConfig(epochs=3, batch_size=128))
    at = page("pages/train.py")
    at.query_params["config"] = config_to_token(shared)
    at.run()
    assert not at.exception
    assert at.slider(key="train.epochs").value == 3
    assert at.text_input(key="train.name").value == "from a link"
    assert any(box.value == 77 for box in at.number_input)  # the layer editor's units box


def test_validation_errors_show_before_launch(home):
    at = page("pages/train.py").run()
    at.radio(key="train.kind").set_value("stacked").run()
    at.multiselect(key="train.learners").set_value([]).run()
    messages = " ".join(error.value for error in at.error)
    assert "use between 1 and 6 base learners" in messages
    assert at.button(key="train.launch").disabled
    at.multiselect(key="train.learners").set_value(["network"]).run()
    at.selectbox(key="train.base.new_type").set_value("conv2d").run()
    at.button(key="train.base.add").click().run()
    messages = " ".join(error.value for error in at.error)
    assert "conv2d layer 1 needs an image input" in messages


def test_a_damaged_link_is_reported(home):
    at = page("pages/train.py")
    at.query_params["config"] = "not-a-real-token"
    at.run()
    assert not at.exception
    assert any("link" in error.value for error in at.error)


def test_learned_optimizer_preset_launches_the_paper_setup(home, monkeypatch):
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch", lambda store, config, mnist: launched.append(config) or 1)
    at = page("pages/train.py").run()
    at.selectbox(key="train.preset").set_value("learned-optimizer").run()
    assert not at.exception, at.exception
    assert at.radio(key="train.kind").value == "learned_optimizer"
    at.slider(key="train.lo_budget_seconds").set_value(60).run()
    at.button(key="train.launch").click().run()
    assert not at.exception, at.exception
    config = launched[0]
    assert config.kind == "learned_optimizer" and config.settings.budget_seconds == 60
    assert [(layer.type, layer.units) for layer in config.meta.layers] == [("dense", 32)]
    assert config.settings.design == "nominal" and config.settings.method == "es"
    assert config.base.layers[1].activation == "sigmoid" and config.base.layers[1].units == 20


def test_learned_optimizer_needs_an_optimizer_network(home):
    at = page("pages/train.py").run()
    at.radio(key="train.kind").set_value("learned_optimizer").run()  # the default preset has no meta network
    messages = " ".join(error.value for error in at.error)
    assert "LSTM layers" in messages and at.button(key="train.launch").disabled


def _fake_comparison(steps: int = 10, inits: int = 3) -> dict:
    """A learned-optimizer results file with made-up curves (the page only lays them out)."""
    rng = np.random.default_rng(0)
    optimizers = {}
    for index, name in enumerate(("learned", "sgd", "momentum", "rmsprop", "adam")):
        curves = np.exp(-np.linspace(0, 1 + 0.1 * index, steps + 1))[None] * (1 + 0.1 * rng.random((inits, 1)))
        optimizers[name] = {"loss_curves": curves.tolist(), "final_loss_mean": float(curves[:, -1].mean()),
                            "final_loss_ci95": 0.01, "test_accuracy_mean": 0.8, "test_accuracy_ci95": 0.01,
                            "diverged": 0}
    return {"evaluation": {"steps": steps, "init_seeds": list(range(inits)), "optimizers": optimizers},
            "tuning": {name: {"learning_rate": 0.1} for name in ("sgd", "momentum", "rmsprop", "adam")},
            "meta_training": {"seconds": 12.0, "iterations": 5, "truncations": 25}}


def test_learned_optimizer_results_and_a_check_button(home, monkeypatch):
    from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset
    from metalearn_core.kinds.learned_optimizer.results import RESULTS_FILE

    store = RunStore(home)
    run_id = store.create_run(learned_optimizer_preset())
    store.mark_running(run_id)
    (store.run_folder(run_id) / RESULTS_FILE).write_text(json.dumps(_fake_comparison()))
    store.finish(run_id, "completed")
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch", lambda store, config, mnist: launched.append(config) or 2)
    at = page("pages/train.py")
    at.query_params["run"] = str(run_id)
    at.run()
    assert not at.exception, at.exception
    assert "optimizer" in at.dataframe[0].value.columns
    assert any("loses" in w.value for w in at.warning)  # learned is the slowest of the made-up curves
    at.button(key=f"lo.check.{run_id}.ReLU").click().run()
    assert launched and launched[0].settings.reuse_optimizer_of == run_id
    assert launched[0].base.layers[1].activation == "relu"


def test_a_base_run_can_take_a_learned_optimizer(home, monkeypatch):
    from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset
    from metalearn_core.kinds.learned_optimizer.run import OPTIMIZER_FILE

    store = RunStore(home)
    run_id = store.create_run(learned_optimizer_preset())
    store.mark_running(run_id)
    (store.run_folder(run_id) / OPTIMIZER_FILE).write_bytes(b"stand-in: the page only checks it exists")
    store.finish(run_id, "completed")
    launched = []
    monkeypatch.setattr("metalearn_core.runner.launch", lambda store, config, mnist: launched.append(config) or 2)
    at = page("pages/train.py").run()
    at.selectbox(key="train.preset").set_value("learned-optimizer").run()
    at.radio(key="train.kind").set_value("base").run()
    at.selectbox(key="train.optimizer").set_value("learned").run()
    assert at.selectbox(key="train.learned_optimizer_run").value == run_id
    at.button(key="train.launch").click().run()
    assert not at.exception, at.exception
    assert launched[0].training.optimizer == "learned" and launched[0].training.learned_optimizer_run == run_id
