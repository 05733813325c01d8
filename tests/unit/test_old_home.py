"""A data home written before the package moved into folders (tests/fixtures/home-v1, written by
commit 80ce4f7's flat layout: one small run of each kind) still opens: its configs, saved models,
few-shot learners and learned optimizer load, compare and predict."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from metalearn_core import analysis, kinds
from metalearn_core.kinds.base.report import read_evaluation
from metalearn_core.kinds.fewshot.setup import read_results as fewshot_results
from metalearn_core.kinds.learned_optimizer.run import read_results as optimizer_results
from metalearn_core.runs.store import RunStore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "home-v1"


@pytest.fixture()
def old_store(tmp_path) -> RunStore:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE, home)
    return RunStore(home)


def test_every_stored_run_and_config_opens_unchanged(old_store):
    runs = {run.name: run for run in old_store.list_runs()}
    assert set(runs) == {"old-base-renamed", "old-stacked", "old-protonet", "old-maml", "old-learned-optimizer",
                         "old-base-learned"}
    assert all(run.status == "completed" and not run.config_error for run in runs.values())
    assert runs["old-base-renamed"].tags == ["legacy", "v1"]
    for run in runs.values():  # the stored JSON reads back into the same config, section by section
        stored = json.loads((run.folder / "config.json").read_text())
        config = run.config.to_dict()
        assert set(stored) <= set(config) and set(config) - set(stored) <= {"online", "transfer"}  # new kinds' sections
        for section, values in stored.items():  # every stored value is kept ...
            assert ({**config[section], **values} if isinstance(values, dict) else values) == config[section]
        # ... and settings added since (the dataset, the hypergradient rate) take their defaults
        assert run.config.training.dataset == "mnist" and run.config.training.hypergradient_rate == 0.0
        assert run.kind in kinds.names()
    assert runs["old-maml"].config.fewshot.algorithm == "maml"
    assert runs["old-stacked"].config.stacking.learners[1].kind == "random_forest"
    assert runs["old-base-learned"].config.training.learned_optimizer_run == runs["old-learned-optimizer"].id


def test_old_runs_compare(old_store):
    runs = old_store.list_runs()
    table = analysis.runs_frame(runs)
    assert len(table) == 6 and table["test_accuracy"].notna().sum() >= 3
    diff = analysis.config_diff({run.name: run.config for run in runs})
    assert "kind" in diff.index and diff.shape[1] == 6
    frame = analysis.metrics_frame({run.id: old_store.metrics(run.id) for run in runs},
                                   {run.id: run.name for run in runs})
    assert set(frame["run_id"]) == {run.id for run in runs}
    assert len(analysis.parallel_frame(runs)) == 3  # the two base runs and the stacked one


@pytest.mark.slow
def test_old_models_predict_as_they_scored(old_store, mnist):
    from metalearn_core.predictor import load_predictor

    for run in old_store.list_runs():
        if not kinds.get(run.kind).classifies_digits:
            continue
        evaluation = read_evaluation(run.folder)
        count = len(evaluation["predictions"])
        predictor = load_predictor(run.folder, run.config)
        probabilities = predictor.predict_proba(mnist.x_test[:count].astype(np.float32) / 255)
        # The saved model gives the predictions it gave when the run was evaluated.
        agreement = np.mean(np.argmax(probabilities, axis=1) == np.asarray(evaluation["predictions"]))
        assert agreement > 0.98, run.name


@pytest.mark.slow
def test_old_fewshot_learners_and_optimizer_load_and_work(old_store, mnist):
    from metalearn_core.kinds.fewshot.run import FewShotModel
    from metalearn_core.kinds.learned_optimizer.rules import LearnedOptimizer
    from metalearn_core.kinds.learned_optimizer.run import OPTIMIZER_FILE

    runs = {run.name: run for run in old_store.list_runs()}
    for name in ("old-protonet", "old-maml"):
        run = runs[name]
        entry = fewshot_results(run.folder)["settings"]["5"]["viewer"][0]
        model = FewShotModel.load(run.folder, run.config)
        support = mnist.x_test[entry["support_index"]].astype(np.float32) / 255
        query = mnist.x_test[entry["query_index"]].astype(np.float32) / 255
        before, after = model.adapt_predict(support, np.asarray(entry["support_y"]), query)
        assert after.shape == (len(query), 5)
        np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)
    run = runs["old-learned-optimizer"]
    assert optimizer_results(run.folder)["evaluation"]
    optimizer = LearnedOptimizer.load(run.folder / OPTIMIZER_FILE)
    assert optimizer.get_weights()
