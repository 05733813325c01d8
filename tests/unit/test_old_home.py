"""Data homes written by earlier versions of the lab still open: their version-1 configs (every kind's
section in every run, no ``"version"`` key) load with their own kind's values kept, and their runs
compare, predict and reuse one another.

Two fixture homes, copied into ``tmp_path`` before use (tests never write into ``tests/fixtures``):

- ``tests/fixtures/home-v1``: written by commit 80ce4f7's flat layout, one small run of each kind it had
  (base, stacked, ProtoNet and MAML few-shot, learned optimizer, a base run trained by that optimizer).
- ``tests/fixtures/home-v1-kinds``: written by commit 8750fac (kinds in folders, six kinds) by a script
  run in a worktree of that commit (``git worktree add /tmp/wt-8750fac 8750fac``, ``PYTHONPATH`` set to
  it so its own package is imported), on MNIST and Fashion-MNIST. Each run was created in a
  ``RunStore`` and trained in-process by ``metalearn_core.runs.worker.execute``:
  1 ``base`` (Flatten, Dense(16); 2 epochs on 600 images; tags "kinds", "seed 0"), 2 ``base-seed1``
  (the same, seed 1), 3 ``stacked`` (that network and an RBF SVM on 100 images, a Dense(8) meta
  network), 4 ``protonet`` and 5 ``metasgd`` (dense 16 learners, 6 meta-iterations), 6
  ``learned-optimizer`` (the nominal design, ES, 6 trajectories of 20 steps), 7
  ``learned-optimizer-check`` (its "ReLU" check, reusing run 6's optimizer), 8 ``base-learned``
  (trained by run 6's optimizer), 9 ``online`` (a rotating stream of 120 digits: SGD from scratch,
  run 1 fine-tuned, run 5's meta-learned start), 10 ``transfer`` (run 1 carried to Fashion-MNIST with
  2 and 5 examples per class).
"""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from metalearn_core import analysis, kinds
from metalearn_core.config import NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.kinds.fewshot.results import read_results as fewshot_results
from metalearn_core.kinds.learned_optimizer.results import read_results as optimizer_results
from metalearn_core.runs.reporting import Reporter
from metalearn_core.runs.store import RunStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOMES = ("home-v1", "home-v1-kinds")


def copy_home(name: str, tmp_path: Path) -> RunStore:
    home = tmp_path / name
    shutil.copytree(FIXTURES / name, home)
    return RunStore(home)


@pytest.fixture(params=HOMES)
def old_store(request, tmp_path) -> RunStore:
    """Each old home in turn, copied."""
    return copy_home(request.param, tmp_path)


@pytest.fixture()
def kinds_store(tmp_path) -> RunStore:
    """The home written by commit 8750fac, copied; its runs by name."""
    return copy_home("home-v1-kinds", tmp_path)


def by_name(store: RunStore) -> dict:
    return {run.name: run for run in store.list_runs()}


def new_run_folder(store: RunStore, config: RunConfig) -> Path:
    """The folder of a new run of ``config`` in ``store``, beside the old runs (where reuse looks)."""
    return store.run_folder(store.create_run(config))


def test_every_stored_config_opens_with_its_own_values_kept(old_store):
    runs = old_store.list_runs()
    assert runs and all(run.status == "completed" and not run.config_error for run in runs)
    for run in runs:
        stored = json.loads((run.folder / "config.json").read_text())
        config = run.config
        assert "version" not in stored and config.kind == stored["kind"] and config.name == stored["name"]
        # The common parts read back as they were stored ...
        assert config.base == NetworkConfig.from_dict(stored["base"])
        assert config.meta == NetworkConfig.from_dict(stored.get("meta", {}))
        training = dataclasses.asdict(config.training)
        assert {**training, **stored["training"]} == training
        # ... the run's own section keeps every stored value (settings added since take their defaults) ...
        own = kinds.get(run.kind).section
        written = config.to_dict()
        if own:
            assert {**written[own], **stored[own]} == written[own]
        else:
            assert config.settings is None
        # ... and saved again it is a version-2 config with no other kind's section, which reads back equal.
        assert written["version"] == 2 and not set(written) & (set(kinds.sections()) - {own})
        assert RunConfig.from_json(config.to_json()) == config


def test_the_flat_layouts_runs_keep_their_settings(tmp_path):
    runs = by_name(copy_home("home-v1", tmp_path))
    assert set(runs) == {"old-base-renamed", "old-stacked", "old-protonet", "old-maml", "old-learned-optimizer",
                         "old-base-learned"}
    assert runs["old-base-renamed"].tags == ["legacy", "v1"]
    assert all(run.config.training.dataset == "mnist" and run.config.training.hypergradient_rate == 0.0
               for run in runs.values())  # added since: their defaults
    assert runs["old-maml"].config.settings.algorithm == "maml"
    # saved before the nominal design and ES existed: it was the dense MLP trained by backprop, unclipped
    old_optimizer = runs["old-learned-optimizer"].config.settings
    assert (old_optimizer.design, old_optimizer.method, old_optimizer.loss_clip) == ("dense", "backprop", 0.0)
    assert runs["old-stacked"].config.settings.learners[1].kind == "random_forest"
    assert runs["old-base-learned"].config.training.learned_optimizer_run == runs["old-learned-optimizer"].id


def test_the_six_kinds_runs_keep_their_settings_and_links(kinds_store):
    runs = by_name(kinds_store)
    ids = {name: run.id for name, run in runs.items()}
    assert {run.kind for run in runs.values()} == {"base", "stacked", "fewshot", "learned_optimizer", "online",
                                                   "transfer"}
    assert runs["base"].tags == ["kinds", "seed 0"] and runs["base-seed1"].config.training.seed == 1
    stacking = runs["stacked"].config.settings
    assert [(learner.kind, learner.max_samples) for learner in stacking.learners] == [("network", 0), ("svm", 100)]
    assert [runs[name].config.settings.algorithm for name in ("protonet", "metasgd")] == ["protonet", "metasgd"]
    optimizer = runs["learned-optimizer"].config.settings
    assert (optimizer.design, optimizer.method, optimizer.iterations, optimizer.steps) == ("nominal", "es", 6, 20)
    assert runs["learned-optimizer-check"].config.settings.reuse_optimizer_of == ids["learned-optimizer"]
    training = runs["base-learned"].config.training
    assert (training.optimizer, training.learned_optimizer_run) == ("learned", ids["learned-optimizer"])
    online = runs["online"].config.settings
    assert (online.pretrained_run, online.fewshot_run) == (ids["base"], ids["metasgd"])
    assert online.learners == ("sgd", "pretrained", "metalearned") and online.length == 120
    transfer = runs["transfer"].config
    assert (transfer.settings.source_run, transfer.settings.target) == (ids["base"], "fashion_mnist")
    assert transfer.training.dataset == "fashion_mnist" and transfer.settings.shots == (2, 5)


def test_old_runs_compare(old_store):
    runs = old_store.list_runs()
    table = analysis.runs_frame(runs)
    assert len(table) == len(runs)
    digit_ids = [run.id for run in runs if kinds.get(run.kind).classifies_digits]  # base and stacked runs
    assert len(digit_ids) >= 3 and table.set_index("id").loc[digit_ids, "test_accuracy"].notna().all()
    assert len(analysis.parallel_frame(runs)) == len(digit_ids)
    diff = analysis.config_diff({run.name: run.config for run in runs})
    assert {"kind", "training.epochs"} <= set(diff.index) and diff.shape[1] == len(runs)
    with_metrics = {run.id for run in runs if old_store.metrics(run.id)}
    frame = analysis.metrics_frame({run.id: old_store.metrics(run.id) for run in runs},
                                   {run.id: run.name for run in runs})
    assert len(with_metrics) >= len(runs) - 1 and set(frame["run_id"]) == with_metrics
    # Runs that differ only in their seed form a group: the two base runs of the 8750fac home.
    names = {run.id: run.name for run in runs}
    groups = [[names[run_id] for run_id in group] for group in analysis.seed_groups(runs).values()]
    assert groups == ([["base", "base-seed1"]] if "base-seed1" in names.values() else [])


@pytest.mark.slow
def test_old_models_predict_as_they_scored(old_store, mnist):
    from metalearn_core.predictor import load_predictor

    predicting = [run for run in old_store.list_runs() if kinds.get(run.kind).classifies_digits]
    assert {run.kind for run in predicting} == {"base", "stacked"}
    for run in predicting:
        evaluation = kinds.get(run.kind).results(run.folder)  # base and stacked runs: the evaluation
        count = len(evaluation["predictions"])
        predictor = load_predictor(run.folder, run.config)
        probabilities = predictor.predict_proba(mnist.x_test[:count].astype(np.float32) / 255)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        # The saved model gives the predictions it gave when the run was evaluated.
        agreement = np.mean(np.argmax(probabilities, axis=1) == np.asarray(evaluation["predictions"]))
        assert agreement > 0.98, run.name


@pytest.mark.slow
def test_old_fewshot_learners_load_and_adapt(old_store, mnist):
    from metalearn_core.kinds.fewshot.run import FewShotModel

    fewshot = [run for run in old_store.list_runs() if run.kind == "fewshot"]
    assert len(fewshot) == 2
    for run in fewshot:
        entry = fewshot_results(run.folder)["settings"]["5"]["viewer"][0]
        model = FewShotModel.load(run.folder, run.config)
        support = mnist.x_test[entry["support_index"]].astype(np.float32) / 255
        query = mnist.x_test[entry["query_index"]].astype(np.float32) / 255
        before, after = model.adapt_predict(support, np.asarray(entry["support_y"]), query)
        assert after.shape == (len(query), 5)
        np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_an_old_learned_optimizer_is_reused(old_store, mnist):
    from metalearn_core.kinds.learned_optimizer.rules import LearnedOptimizer
    from metalearn_core.kinds.learned_optimizer.run import (
        OPTIMIZER_FILE,
        check_config,
        reused_optimizer_path,
        train_learned_optimizer,
    )

    source = next(run for run in old_store.list_runs()
                  if run.kind == "learned_optimizer" and not run.config.settings.reuse_optimizer_of)
    assert optimizer_results(source.folder)["evaluation"]
    saved = LearnedOptimizer.load(source.folder / OPTIMIZER_FILE).get_weights()
    assert saved

    # A check run reuses the optimizer: no meta-training, and the very weights saved with it.
    check = check_config(source.config, source.id, "ReLU")
    check = check.replace(settings=dataclasses.replace(check.settings, eval_inits=2, tune_trajectories=1,
                                                       grid_points=2))
    folder = new_run_folder(old_store, check)
    assert reused_optimizer_path(folder, source.id) == source.folder / OPTIMIZER_FILE
    result = train_learned_optimizer(check, mnist, Reporter(), folder)
    assert result.status == "completed", result.message
    assert "train_seconds" not in result.summary and optimizer_results(folder)["reused_from"] == source.id
    for mine, theirs in zip(LearnedOptimizer.load(folder / OPTIMIZER_FILE).get_weights(), saved, strict=True):
        np.testing.assert_array_equal(mine, theirs)

    # A new base run names the old run as its optimizer and trains with it into an ordinary model.
    trained_by = next(run for run in old_store.list_runs() if run.config.training.optimizer == "learned")
    assert trained_by.config.training.learned_optimizer_run == source.id
    config = RunConfig(base=trained_by.config.base, training=TrainingConfig(
        epochs=1, batch_size=128, optimizer="learned", learned_optimizer_run=source.id, train_limit=640,
        test_limit=100))
    folder = new_run_folder(old_store, config)
    result = kinds.get("base").entry()(config, mnist, Reporter(), folder)
    assert result.status in ("completed", "diverged"), result.message
    if result.status == "completed":
        assert (folder / "model.keras").is_file() and result.summary["learned_optimizer_run"] == source.id


@pytest.mark.slow
def test_runs_built_on_other_runs_find_them(kinds_store, mnist):
    from metalearn_core.kinds.fewshot.run import FewShotModel
    from metalearn_core.kinds.online.learners import build_learners
    from metalearn_core.kinds.transfer.source import source_run, transfer_config
    from metalearn_core.predictor import load_predictor

    runs = by_name(kinds_store)
    # The transfer's source resolves, and its config is rebuilt from it unchanged.
    transfer = runs["transfer"].config
    assert source_run(kinds_store, transfer.settings.source_run).name == "base"
    assert transfer_config(kinds_store, transfer.settings, transfer.training, name=transfer.name) == transfer
    assert kinds.get("transfer").results(runs["transfer"].folder)["source_run"] == runs["base"].id

    # The online run's learners start from its pre-trained base run and its few-shot run.
    online = runs["online"]
    learners = build_learners(online.config.settings, mnist, online.folder)
    assert [learner.name for learner in learners] == ["sgd", "pretrained", "metalearned"]
    x = mnist.x_test[:50].astype(np.float32) / 255
    base = runs["base"]
    expected = np.argmax(load_predictor(base.folder, base.config).predict_proba(x), axis=1)
    np.testing.assert_array_equal(learners[1].predict(x), expected)
    start = FewShotModel.load(runs["metasgd"].folder, runs["metasgd"].config).learner
    for mine, theirs in zip(learners[2].weights()[:-2], start.params[:-2], strict=True):
        np.testing.assert_array_equal(mine, np.asarray(theirs))  # the meta-learned body as it was saved
