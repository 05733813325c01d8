import dataclasses

import numpy as np
import pytest

from metalearn_core.config import ConfigError
from metalearn_core.data.mnist import prepare_images
from metalearn_core.kinds.fewshot.episodes import (
    EVALUATION_SEED,
    ClassPool,
    EpisodeConfig,
    episodes,
    evaluation_episodes,
    load_episode_config,
    load_episodes,
    parse_class_id,
    sample_episode,
    save_episodes,
)


@pytest.fixture(scope="module")
def small(mnist):
    """The first 3000 training and 1000 test images: every digit has well over 16 of each."""
    return dataclasses.replace(mnist, x_train=mnist.x_train[:3000], y_train=mnist.y_train[:3000],
                               x_test=mnist.x_test[:1000], y_test=mnist.y_test[:1000])


def expected_images(x, rows, classes, labels):
    """Independent reconstruction: source rows scaled to [0, 1], rotated as the class id says."""
    out = []
    for row, label in zip(rows, labels):
        digit, degrees = parse_class_id(classes[label])
        out.append(np.rot90(x[row].astype(np.float32) / 255.0, degrees // 90))
    return np.stack(out)


def assert_same_episodes(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.classes == b.classes and a.split == b.split
        for field in ("support_x", "support_y", "query_x", "query_y", "support_index", "query_index"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_pools_hold_the_right_classes_and_source_rows(small):
    config = EpisodeConfig()
    train, test = ClassPool.meta_train(small, config), ClassPool.meta_test(small, config)
    assert train.split == "train" and test.split == "test"
    assert train.num_classes == 20 and set(train.class_ids[:5]) == {"0", "1", "2", "3", "4"}
    assert {"3r90", "3r180", "3r270"} <= set(train.class_ids)
    assert test.class_ids == ("5", "6", "7", "8", "9")
    for pool, y in ((train, small.y_train), (test, small.y_test)):
        for name in pool.class_ids:
            digit, _ = parse_class_id(name)
            assert np.all(y[pool.indices(name)] == digit)
            assert pool.images(name).dtype == np.float32 and pool.images(name).max() <= 1.0
    assert len(train) == 4 * int(np.isin(small.y_train, config.train_digits).sum())
    no_rotations = ClassPool.meta_train(small, EpisodeConfig(rotations=False))
    assert no_rotations.class_ids == ("0", "1", "2", "3", "4")


def test_no_evaluation_class_or_image_reaches_meta_training(small):
    config = EpisodeConfig(ways=5, shots=5, queries=10)
    training = episodes(ClassPool.meta_train(small, config), config, 60, seed=1)
    evaluation = evaluation_episodes(small, config, count=60)
    test_images = {image.tobytes() for e in evaluation for image in (*e.support_x, *e.query_x)}
    for episode in training:
        assert episode.split == "train"
        assert {parse_class_id(name)[0] for name in episode.classes} <= set(config.train_digits)
        for x, rows, labels in ((episode.support_x, episode.support_index, episode.support_y),
                                (episode.query_x, episode.query_index, episode.query_y)):
            # The source rows are training rows of the right digit, and the pixels are those rows.
            assert rows.max() < len(small.x_train)
            np.testing.assert_array_equal(x, expected_images(small.x_train, rows, episode.classes, labels))
            digits = np.array([parse_class_id(episode.classes[label])[0] for label in labels])
            np.testing.assert_array_equal(small.y_train[rows], digits)
            # Not one meta-training image (turned upright again) is a meta-test image.
            for image, label in zip(x, labels):
                upright = np.rot90(image, -(parse_class_id(episode.classes[label])[1] // 90))
                assert np.ascontiguousarray(upright).tobytes() not in test_images
    for episode in evaluation:
        assert episode.split == "test"
        assert set(episode.classes) <= {"5", "6", "7", "8", "9"}  # unrotated test digits only
        for x, rows, labels in ((episode.support_x, episode.support_index, episode.support_y),
                                (episode.query_x, episode.query_index, episode.query_y)):
            np.testing.assert_array_equal(x, expected_images(small.x_test, rows, episode.classes, labels))
            np.testing.assert_array_equal(small.y_test[rows], [int(episode.classes[k]) for k in labels])


def test_same_seed_same_episodes_other_seed_different(small):
    config = EpisodeConfig(ways=5, shots=2, queries=3)
    pool = ClassPool.meta_train(small, config)
    assert_same_episodes(episodes(pool, config, 10, seed=7), episodes(pool, config, 10, seed=7))
    other = episodes(pool, config, 10, seed=8)
    first = episodes(pool, config, 10, seed=7)
    assert any(a.classes != b.classes or not np.array_equal(a.support_index, b.support_index)
               for a, b in zip(first, other))
    # seed=None follows config.seed; the evaluation set does not depend on config.seed at all.
    assert_same_episodes(episodes(pool, config, 3), episodes(pool, config, 3, seed=config.seed))
    evaluation = evaluation_episodes(small, config, count=5)
    reseeded = dataclasses.replace(config, seed=99)
    assert_same_episodes(evaluation, evaluation_episodes(small, reseeded, count=5))
    assert_same_episodes(evaluation, episodes(ClassPool.meta_test(small, config), config, 5, EVALUATION_SEED))


def test_save_load_round_trip_is_identical(small, tmp_path):
    config = EpisodeConfig(ways=4, shots=3, queries=5, test_digits=(5, 6, 7, 8))
    for original in (evaluation_episodes(small, config, count=25),
                     episodes(ClassPool.meta_train(small, config), config, 25, seed=3)):
        path = save_episodes(tmp_path / f"{original[0].split}.npz", original, config, small)
        assert path.stat().st_size < 20_000  # indices, not images (one episode's images are 100 KB)
        assert_same_episodes(load_episodes(path, small), original)
        assert load_episode_config(path) == config
    other_data = dataclasses.replace(small, y_test=small.y_test[:900], x_test=small.x_test[:900])
    with pytest.raises(ValueError, match="another MNIST"):
        load_episodes(tmp_path / "test.npz", other_data)
    with pytest.raises(ValueError, match="no such episode file"):
        load_episodes(tmp_path / "missing.npz", small)
    with pytest.raises(ValueError, match="no episodes"):
        save_episodes(tmp_path / "empty.npz", [], config)


@pytest.mark.parametrize("ways,shots,queries,phase",
                         [(5, 1, 15, "test"), (3, 5, 4, "test"), (5, 2, 3, "train"), (2, 10, 1, "train")])
def test_episode_shapes_and_labels(small, ways, shots, queries, phase):
    config = EpisodeConfig(ways=ways, shots=shots, queries=queries)
    pool = ClassPool.meta_test(small, config) if phase == "test" else ClassPool.meta_train(small, config)
    episode = sample_episode(pool, config, np.random.default_rng(0))
    assert episode.split == phase
    assert episode.support_x.shape == (ways * shots, 28, 28) and episode.support_x.dtype == np.float32
    assert episode.query_x.shape == (ways * queries, 28, 28)
    assert episode.support_y.shape == (ways * shots,) and episode.query_y.shape == (ways * queries,)
    assert len(episode.classes) == len(set(episode.classes)) == ways
    assert (episode.ways, episode.shots, episode.queries) == (ways, shots, queries)
    np.testing.assert_array_equal(np.bincount(episode.support_y, minlength=ways), [shots] * ways)
    np.testing.assert_array_equal(np.bincount(episode.query_y, minlength=ways), [queries] * ways)
    assert 0.0 <= episode.support_x.min() and episode.query_x.max() <= 1.0
    for label in range(ways):  # a support image is never also a query of the same class
        support = set(episode.support_index[episode.support_y == label])
        query = set(episode.query_index[episode.query_y == label])
        assert not support & query and len(support) == shots and len(query) == queries


def test_rotated_classes_are_rotated_copies(small):
    pool = ClassPool.meta_train(small, EpisodeConfig())
    upright = prepare_images(small.x_train[pool.indices("3")])
    for degrees, turns in ((90, 1), (180, 2), (270, 3)):
        name = f"3r{degrees}"
        np.testing.assert_array_equal(pool.indices(name), pool.indices("3"))
        expected = [np.rot90(image, turns) for image in upright[:50]]
        np.testing.assert_array_equal(pool.images(name)[:50], expected)
        assert not np.array_equal(pool.images(name)[:50], upright[:50])
    episode = next(e for e in episodes(pool, EpisodeConfig(), 50, seed=0) if any("r" in c for c in e.classes))
    label = next(k for k, name in enumerate(episode.classes) if "r" in name)
    digit, degrees = parse_class_id(episode.classes[label])
    row = episode.support_index[episode.support_y == label][0]
    np.testing.assert_array_equal(episode.support_x[episode.support_y == label][0],
                                  np.rot90(small.x_train[row].astype(np.float32) / 255.0, degrees // 90))


def test_too_small_classes_and_pools_are_clear_errors(small):
    config = EpisodeConfig(shots=50, queries=100)
    with pytest.raises(ValueError, match=r"fewer than the 150 an episode needs \(50 shots \+ 100 queries\)"):
        sample_episode(ClassPool.meta_test(small, config), config, np.random.default_rng(0))
    with pytest.raises(ValueError, match="count must be"):
        episodes(ClassPool.meta_test(small, EpisodeConfig()), EpisodeConfig(), -1)
    with pytest.raises(ValueError, match="not a class id"):
        parse_class_id("3r45")
    assert parse_class_id("7") == (7, 0) and parse_class_id("2r270") == (2, 270)


@pytest.mark.parametrize("changes,message", [
    ({"ways": 1}, "episodes: ways must be between 2 and 20, got 1"),
    ({"ways": 21}, "episodes: ways must be between 2 and 20, got 21"),
    ({"shots": 0}, "episodes: shots must be between 1 and 50, got 0"),
    ({"queries": 101}, "episodes: queries must be between 1 and 100, got 101"),
    ({"shots": 1.5}, "episodes: shots must be a whole number"),
    ({"test_digits": (4, 5, 6, 7, 8)}, r"train and test digits must be disjoint, but \[4\] are in both"),
    ({"train_digits": (0, 1, 10)}, "train digits must be digits between 0 and 9, got 10"),
    ({"test_digits": (5, 5, 6)}, "test digits must not repeat a digit"),
    ({"test_digits": ()}, "test digits must name at least one digit"),
    ({"ways": 6},
     r"6-way episodes need at least 6 meta-test classes, but test digits \(5, 6, 7, 8, 9\) give only 5"),
    ({"ways": 6, "rotations": False, "test_digits": (5, 6, 7, 8, 9, 0), "train_digits": (1, 2)},
     "6-way episodes need at least 6 meta-training classes, but train digits \\(1, 2\\) give only 2 "
     "\\(rotations would give four times as many\\)"),
    ({"rotations": "yes"}, "episodes: rotations must be true or false"),
    ({"seed": -1}, "episodes: seed must be between 0"),
])
def test_config_validation_messages(changes, message):
    with pytest.raises(ConfigError, match=message):
        EpisodeConfig(**changes)


def test_config_round_trip_and_defaults():
    config = EpisodeConfig(ways=3, shots=5, queries=10, train_digits=[0, 1], test_digits=[7, 8, 9], seed=4)
    assert config.train_digits == (0, 1) and config.meta_train_classes == 8 and config.meta_test_classes == 3
    assert EpisodeConfig.from_dict(config.to_dict()) == config
    assert EpisodeConfig().describe() == "5-way 1-shot (15 queries)"
    with pytest.raises(ConfigError, match="unexpected keyword"):
        EpisodeConfig.from_dict({"way": 5})
