"""Cross-domain few-shot: meta-train on one domain, evaluate on the other, on the same stored episodes.

The runs here are tiny (a dense learner, 20 meta-iterations) and spied on: every episode a
learner takes a gradient step on, and the pool the pre-train baseline learns from, is recorded
and checked against the evaluation domain's images.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from metalearn_core import cli
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.data.domains import load_domain
from metalearn_core.kinds.fewshot import results as fewshot_results
from metalearn_core.kinds.fewshot import run as fewshot_run
from metalearn_core.kinds.fewshot.algorithms.protonet import ProtoNet
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.episodes import ROTATIONS, parse_class_id
from metalearn_core.kinds.fewshot.setup import fewshot_network, recommended_settings
from metalearn_core.runs.reporting import Reporter

TINY = dict(iterations=20, validation_every=10, validation_episodes=3, evaluation_episodes=10, baseline_seconds=0.3,
            queries=5)
DIRECTIONS = [("mnist", "fashion_mnist"), ("fashion_mnist", "fashion_mnist"), ("fashion_mnist", "mnist")]


@pytest.fixture(scope="module")
def fashion():
    return load_domain("fashion_mnist", allow_download=False)


def _config(algorithm: str, train_domain: str, eval_domain: str) -> RunConfig:
    settings = {**recommended_settings(algorithm), **TINY, "train_domain": train_domain, "eval_domain": eval_domain}
    return RunConfig(kind="fewshot", base=fewshot_network("dense", hidden=(16,)),
                     settings=FewShotConfig(algorithm=algorithm, **settings))


class Spy:
    """Records the episodes meta-training steps on and the pool the pre-train baseline reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.episodes, self.baseline_pools = [], []
        train_step, meta_train, pretrain = ProtoNet.train_step, fewshot_run.meta_train, fewshot_run.pretrain_classifier

        def spied_step(learner, episode, optimizer):
            self.episodes.append(episode)
            return train_step(learner, episode, optimizer)

        def spied_meta_train(learner, sampler, **options):
            def sample(count):
                batch = sampler(count)
                self.episodes.extend(batch)
                return batch
            return meta_train(learner, sample, **options)

        def spied_pretrain(pool, *args, **options):
            self.baseline_pools.append(pool)
            return pretrain(pool, *args, **options)

        monkeypatch.setattr(ProtoNet, "train_step", spied_step)
        monkeypatch.setattr(fewshot_run, "meta_train", spied_meta_train)
        monkeypatch.setattr(fewshot_run, "pretrain_classifier", spied_pretrain)


@pytest.fixture(scope="module")
def runs(mnist, fashion, tmp_path_factory):
    """Tiny ProtoNet runs in each direction: {(train, eval): (result, results dict, spy)}."""
    out = {}
    for train_domain, eval_domain in DIRECTIONS:
        folder = tmp_path_factory.mktemp(f"{train_domain}-{eval_domain}")
        with pytest.MonkeyPatch.context() as monkeypatch:
            spy = Spy(monkeypatch)
            result = fewshot_run.train_fewshot(_config("protonet", train_domain, eval_domain), mnist, Reporter(),
                                               folder)
        out[train_domain, eval_domain] = (result, json.loads((folder / "fewshot.json").read_text()), spy)
    return out


def _hashes(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in np.ascontiguousarray(images, dtype=np.uint8)}


def _as_stored(images: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(images) * 255).astype(np.uint8)  # (n, 28, 28), undoing prepare_images


def _check_from_training_domain(episode, train_data, train_digits) -> None:
    """The episode comes from the training split of the training domain, its classes from train_digits."""
    assert episode.split == "train"
    for label, name in enumerate(episode.classes):
        digit, degrees = parse_class_id(name)
        assert digit in train_digits
        for images, rows, labels in ((episode.support_x, episode.support_index, episode.support_y),
                                     (episode.query_x, episode.query_index, episode.query_y)):
            where = labels == label
            assert np.all(train_data.y_train[rows[where]] == digit)
            upright = np.rot90(_as_stored(images[where]), -degrees // 90, axes=(1, 2))
            np.testing.assert_array_equal(upright, train_data.x_train[rows[where]])


# -- config and command line -------------------------------------------------------------------

def test_domains_are_validated_and_round_trip():
    config = _config("protonet", "fashion_mnist", "mnist")
    again = RunConfig.from_json(config.to_json())
    assert again == config and again.settings.train_domain == "fashion_mnist" and again.settings.cross_domain
    assert not FewShotConfig(train_domain="fashion_mnist", eval_domain="fashion_mnist").cross_domain
    with pytest.raises(ConfigError, match="evaluation domain"):
        FewShotConfig(eval_domain="cifar10")
    with pytest.raises(ConfigError, match="meta-training domain"):
        FewShotConfig(train_domain="")
    old = json.loads(config.to_json())
    del old["fewshot"]["train_domain"], old["fewshot"]["eval_domain"]
    read = RunConfig.from_json(json.dumps(old)).settings
    assert (read.train_domain, read.eval_domain) == ("mnist", "mnist")


def test_command_line_flags_set_the_domains():
    args = cli._parser().parse_args(["train", "--kind", "fewshot", "--algorithm", "maml",
                                     "--train-domain", "fashion_mnist", "--eval-domain", "mnist"])
    settings = cli.build_config(args).settings
    assert (settings.train_domain, settings.eval_domain, settings.algorithm) == ("fashion_mnist", "mnist", "maml")
    args = cli._parser().parse_args(["train", "--kind", "fewshot", "--dataset", "fashion_mnist", "--eval-domain", "mnist"])
    settings = cli.build_config(args).settings
    assert (settings.train_domain, settings.eval_domain) == ("fashion_mnist", "mnist")
    args = cli._parser().parse_args(["train", "--kind", "fewshot", "--dataset", "fashion_mnist"])
    assert not cli.build_config(args).settings.cross_domain
    with pytest.raises(ConfigError, match="fewshot runs"):
        cli.build_config(cli._parser().parse_args(["train", "--kind", "base", "--eval-domain", "mnist"]))


# -- what meta-training sees -----------------------------------------------------------------

@pytest.mark.parametrize("direction", DIRECTIONS)
def test_meta_training_never_sees_an_evaluation_image_or_class(runs, direction, mnist, fashion):
    data = {"mnist": mnist, "fashion_mnist": fashion}
    result, _, spy = runs[direction]
    train_domain, eval_domain = direction
    assert result.status == "completed" and len(spy.episodes) == TINY["iterations"]
    evaluation = data[eval_domain]
    held_out = np.isin(evaluation.y_test, (5, 6, 7, 8, 9))
    forbidden = _hashes(evaluation.x_test[held_out])
    if train_domain != eval_domain:  # cross-domain: no image of the evaluation domain at all
        forbidden |= _hashes(evaluation.x_train) | _hashes(evaluation.x_test)
    trained = np.concatenate([_as_stored(np.concatenate([e.support_x, e.query_x])) for e in spy.episodes])
    for quarter_turns in range(1 + len(ROTATIONS)):
        assert not _hashes(np.rot90(trained, quarter_turns, axes=(1, 2))) & forbidden
    for episode in spy.episodes:
        _check_from_training_domain(episode, data[train_domain], (0, 1, 2, 3, 4))
    [pool] = spy.baseline_pools
    assert pool.split == "train" and {parse_class_id(c)[0] for c in pool.class_ids} == {0, 1, 2, 3, 4}
    positions, rows = pool.all_examples()
    baseline_images = _as_stored(pool.gather(positions[::50], rows[::50]))
    for quarter_turns in range(1 + len(ROTATIONS)):
        assert not _hashes(np.rot90(baseline_images, quarter_turns, axes=(1, 2))) & forbidden


def test_a_gradient_learner_meta_trains_on_the_training_domain_only(mnist, fashion, monkeypatch):
    spy = Spy(monkeypatch)
    config = _config("fomaml", "fashion_mnist", "mnist")
    config = config.replace(settings=FewShotConfig(**{**config.settings.to_dict(), "iterations": 3,
                                                     "baseline_seconds": 0.0, "meta_batch_size": 2}))
    assert fewshot_run.train_fewshot(config, mnist, Reporter(), None).status == "completed"
    assert len(spy.episodes) == 6 and not spy.baseline_pools
    forbidden = _hashes(mnist.x_train) | _hashes(mnist.x_test)
    for episode in spy.episodes:
        _check_from_training_domain(episode, fashion, (0, 1, 2, 3, 4))
        images = _as_stored(np.concatenate([episode.support_x, episode.query_x]))
        for quarter_turns in range(1 + len(ROTATIONS)):
            assert not _hashes(np.rot90(images, quarter_turns, axes=(1, 2))) & forbidden


def test_validation_episodes_come_from_the_evaluation_domains_training_split(fashion):
    settings = FewShotConfig(train_domain="mnist", eval_domain="fashion_mnist", validation_episodes=4, queries=3)
    episodes = fewshot_run.validation_episodes(fashion, settings)
    assert len(episodes) == 4
    for episode in episodes:
        assert episode.split == "train" and {int(c) for c in episode.classes} <= {5, 6, 7, 8, 9}
        np.testing.assert_array_equal(_as_stored(episode.query_x), fashion.x_train[episode.query_index])


# -- the same stored episodes in-domain and cross-domain ---------------------------------------

def test_in_domain_and_cross_domain_are_scored_on_the_same_episodes(runs):
    _, cross, _ = runs["mnist", "fashion_mnist"]
    _, within, _ = runs["fashion_mnist", "fashion_mnist"]
    _, on_mnist, _ = runs["fashion_mnist", "mnist"]
    for shots in ("1", "5"):
        assert cross["settings"][shots]["episodes_digest"] == within["settings"][shots]["episodes_digest"]
        assert cross["settings"][shots]["episodes_digest"] != on_mnist["settings"][shots]["episodes_digest"]
        for a, b in zip(cross["settings"][shots]["viewer"], within["settings"][shots]["viewer"], strict=True):
            assert (a["support_index"], a["query_index"], a["classes"]) == (
                b["support_index"], b["query_index"], b["classes"])


def test_stored_episodes_reload_only_with_their_domain(tmp_path, mnist, fashion):
    from metalearn_core.kinds.fewshot.episodes import evaluation_episodes, load_episodes, save_episodes

    config = FewShotConfig(eval_domain="fashion_mnist").episodes(1)
    drawn = evaluation_episodes(fashion, config, 5)
    path = save_episodes(tmp_path / "fashion.npz", drawn, config, fashion)
    again = load_episodes(path, fashion)
    np.testing.assert_array_equal(again[0].support_x, drawn[0].support_x)
    with pytest.raises(ValueError, match="another MNIST"):
        load_episodes(path, mnist)


# -- a whole cross-domain run ------------------------------------------------------------------

def test_a_tiny_cross_domain_run_names_both_domains(runs, fashion):
    result, results, _ = runs["mnist", "fashion_mnist"]
    assert (results["train_domain"], results["eval_domain"]) == ("mnist", "fashion_mnist")
    assert (result.summary["train_domain"], result.summary["eval_domain"]) == ("mnist", "fashion_mnist")
    for shots in ("1", "5"):
        scores = results["settings"][shots]
        assert scores["learner"]["episodes"] == TINY["evaluation_episodes"]
        assert 0.0 <= scores["learner"]["mean"] <= 1.0 and scores["pretrain"] is not None
    assert fewshot_results.domains_caption(results).startswith("cross-domain: meta-trained on MNIST")
    assert "meta-trained on MNIST" in fewshot_results.comparison_figure(results).layout.title.text
    entry = results["settings"]["5"]["viewer"][0]
    view = fewshot_results.episode_view(entry, fashion, domain="fashion_mnist")
    names = {"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
    assert set(view.class_names) == names and set(view.support_captions) == names
    np.testing.assert_array_equal(view.support[0], fashion.x_test[entry["support_index"][0]])
    _, within, _ = runs["fashion_mnist", "fashion_mnist"]
    assert fewshot_results.domains_caption(within).startswith("in-domain")


def test_the_same_episodes_table_lines_up_only_runs_scored_on_the_same_tasks(runs):
    _, cross, _ = runs["mnist", "fashion_mnist"]
    _, within, _ = runs["fashion_mnist", "fashion_mnist"]
    _, on_mnist, _ = runs["fashion_mnist", "mnist"]
    table = fewshot_results.same_episodes_table(cross, [("in-domain", within), ("digits", on_mnist)])
    assert table["run"].tolist() == ["this run", "in-domain"]
    assert table["meta-trained on"].tolist() == ["MNIST", "Fashion-MNIST"]
    learner = within["settings"]["5"]["learner"]
    assert table.loc[1, "5-way 5-shot"] == f"{100 * learner['mean']:.1f} ± {100 * learner['ci95']:.1f}%"
    assert fewshot_results.same_episodes_table(cross, [("digits", on_mnist)]) is None
    before_digests = {**within, "settings": {k: {**v, "episodes_digest": None} for k, v in within["settings"].items()}}
    assert fewshot_results.same_episodes_table(before_digests, [("cross", cross)]) is None
