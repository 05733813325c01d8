"""N-way K-shot episodes on MNIST with a strict split between meta-training and meta-testing.

Meta-training draws from the TRAINING split, digits 0-4, plus (by default) their 90, 180 and 270
degree rotations as extra classes: 20 classes, the "rotations as new classes" trick of Omniglot
(Santoro et al. 2016, "Meta-Learning with Memory-Augmented Neural Networks"). Meta-testing draws
from the TEST split, digits 5-9, unrotated. So no meta-test class and no meta-test image is ever
seen while meta-training, which is what makes few-shot accuracy mean something (Vinyals et al.
2016, "Matching Networks for One Shot Learning").

The same pools serve either domain (:func:`metalearn_core.data.domains.load_domain`: MNIST digits or
Fashion-MNIST clothes): a class id is a label 0-9 of the data it was drawn from, so a cross-domain
run meta-trains on one domain's pool and is scored on the other's meta-test pool.

Every image keeps its source index (into ``x_train`` or ``x_test``), so an episode can be stored
as a few integers and the same 600 evaluation episodes can be replayed for every method.

Example:
    >>> config = EpisodeConfig(ways=5, shots=1, queries=15)
    >>> pool = ClassPool.meta_test(load_mnist(), config)  # doctest: +SKIP
    >>> episode = sample_episode(pool, config, np.random.default_rng(0))  # doctest: +SKIP
    >>> episode.support_x.shape, episode.query_x.shape  # doctest: +SKIP
    ((5, 28, 28), (75, 28, 28))
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metalearn_core.config import ConfigError, check_int
from metalearn_core.data.mnist import MnistData, prepare_images

ROTATIONS = (90, 180, 270)  # degrees, counter-clockwise as np.rot90
SPLITS = ("train", "test")
# Fixed so that every method, whatever its own training seed, is scored on the same episodes.
EVALUATION_SEED = 20_240_600
EPISODE_FILE_VERSION = 1


def _check_digits(name: str, digits: Any) -> tuple[int, ...]:
    try:
        digits = tuple(digits)
    except TypeError:
        raise ConfigError(f"episodes: {name} must be a list of digits, got {digits!r}") from None
    if not digits:
        raise ConfigError(f"episodes: {name} must name at least one digit")
    for digit in digits:
        if isinstance(digit, bool) or not isinstance(digit, (int, np.integer)) or not 0 <= digit <= 9:
            raise ConfigError(f"episodes: {name} must be digits between 0 and 9, got {digit!r}")
    if len(set(digits)) != len(digits):
        raise ConfigError(f"episodes: {name} must not repeat a digit, got {digits}")
    return tuple(int(digit) for digit in digits)


@dataclass(frozen=True)
class EpisodeConfig:
    """What an episode looks like and which digits each phase may use.

    Args:
        ways: classes per episode (N).
        shots: labelled support images per class (K).
        queries: query images per class, the ones that are scored.
        train_digits: meta-training digits, taken from the training split.
        test_digits: meta-test digits, taken from the test split; disjoint from ``train_digits``.
        rotations: add the 90/180/270-degree rotations of each training digit as new classes.
        seed: seed of the meta-training episode stream.

    Example:
        >>> EpisodeConfig(ways=5, shots=5).meta_train_classes
        20
    """

    ways: int = 5
    shots: int = 1
    queries: int = 15
    train_digits: tuple[int, ...] = (0, 1, 2, 3, 4)
    test_digits: tuple[int, ...] = (5, 6, 7, 8, 9)
    rotations: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        where = "episodes"
        check_int(where, "ways", self.ways, 2, 20)
        check_int(where, "shots", self.shots, 1, 50)
        check_int(where, "queries", self.queries, 1, 100)
        check_int(where, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.rotations, bool):
            raise ConfigError(f"{where}: rotations must be true or false, got {self.rotations!r}")
        object.__setattr__(self, "train_digits", _check_digits("train digits", self.train_digits))
        object.__setattr__(self, "test_digits", _check_digits("test digits", self.test_digits))
        shared = sorted(set(self.train_digits) & set(self.test_digits))
        if shared:
            raise ConfigError(
                f"{where}: train and test digits must be disjoint, but {shared} are in both; "
                "a test class seen in meta-training makes few-shot accuracy meaningless"
            )
        if self.ways > self.meta_train_classes:
            extra = "" if self.rotations else " (rotations would give four times as many)"
            raise ConfigError(
                f"{where}: {self.ways}-way episodes need at least {self.ways} meta-training classes, "
                f"but train digits {self.train_digits} give only {self.meta_train_classes}{extra}"
            )
        if self.ways > self.meta_test_classes:
            raise ConfigError(
                f"{where}: {self.ways}-way episodes need at least {self.ways} meta-test classes, "
                f"but test digits {self.test_digits} give only {self.meta_test_classes}"
            )

    @property
    def meta_train_classes(self) -> int:
        """Classes in the meta-training pool: each digit, times four with rotations."""
        return len(self.train_digits) * (1 + len(ROTATIONS) if self.rotations else 1)

    @property
    def meta_test_classes(self) -> int:
        return len(self.test_digits)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["train_digits"], out["test_digits"] = list(self.train_digits), list(self.test_digits)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EpisodeConfig:
        try:
            return cls(**data)
        except TypeError as error:  # an unknown field
            raise ConfigError(f"episodes: {error}") from None

    def describe(self) -> str:
        """A short label such as ``5-way 1-shot (15 queries)``."""
        return f"{self.ways}-way {self.shots}-shot ({self.queries} queries)"


def class_id(digit: int, degrees: int = 0) -> str:
    """A pool class id: ``class_id(3) == "3"``, ``class_id(3, 90) == "3r90"`` (rotated by 90 degrees)."""
    return f"{digit}r{degrees}" if degrees else str(digit)


def parse_class_id(identifier: str) -> tuple[int, int]:
    """``"3r90"`` -> ``(3, 90)``; ``"7"`` -> ``(7, 0)``. Raises ValueError for anything else."""
    message = f"not a class id: {identifier!r} (expected a digit, optionally followed by r90, r180 or r270)"
    digit, _, degrees = str(identifier).partition("r")
    try:
        digit_value, degrees_value = int(digit), int(degrees or 0)
    except ValueError:
        raise ValueError(message) from None
    valid = 0 <= digit_value <= 9 and degrees_value in (0, *ROTATIONS)
    if not valid or class_id(digit_value, degrees_value) != identifier:
        raise ValueError(message)
    return digit_value, degrees_value


def _rotate(images: np.ndarray, degrees: int) -> np.ndarray:
    # np.rot90 returns a view: the three rotated classes share the memory of the upright images.
    return np.rot90(images, degrees // 90, axes=(1, 2)) if degrees else images  # (n, 28, 28)


class ClassPool:
    """Images grouped by class, from one split, each with its source index.

    Build it with :meth:`meta_train` or :meth:`meta_test`. ``images(c)`` is float32 in [0, 1]
    with shape (n_c, 28, 28); ``indices(c)`` gives, for each of those images, its row in
    ``x_train`` (split "train") or ``x_test`` (split "test"). A rotated class holds rotated views
    of the same source rows as its upright class.

    Example:
        >>> pool = ClassPool.meta_train(data, EpisodeConfig())  # doctest: +SKIP
        >>> pool.class_ids[:6], pool.split  # doctest: +SKIP
        (('0', '1', '2', '3', '4', '0r90'), 'train')
    """

    def __init__(self, split: str, images: Mapping[str, np.ndarray], indices: Mapping[str, np.ndarray]):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if list(images) != list(indices):
            raise ValueError("images and indices must have the same classes, in the same order")
        for name, array in images.items():
            parse_class_id(name)
            if array.ndim != 3 or array.shape[1:] != (28, 28):
                raise ValueError(f"class {name}: images must have shape (n, 28, 28), got {array.shape}")
            if len(indices[name]) != len(array):
                raise ValueError(f"class {name}: {len(array)} images but {len(indices[name])} indices")
            if len(array) == 0:
                raise ValueError(f"class {name} has no images in the {split} split")
        self.split = split
        self.class_ids: tuple[str, ...] = tuple(images)
        self._images = dict(images)
        self._indices = {name: np.asarray(value, dtype=np.int64) for name, value in indices.items()}

    @classmethod
    def from_split(
        cls, data: MnistData, split: str, digits: Sequence[int], rotations: Sequence[int] = ()
    ) -> ClassPool:
        """Classes ``digits`` of one split, then each rotation of them as new classes."""
        x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
        upright_images, upright_indices = {}, {}
        for digit in digits:
            rows = np.flatnonzero(y == digit)  # (n_digit,) rows of x
            upright_images[digit] = prepare_images(x[rows])  # (n_digit, 28, 28) float32 in [0, 1]
            upright_indices[digit] = rows
        images, indices = {}, {}
        for degrees in (0, *rotations):
            for digit in digits:
                images[class_id(digit, degrees)] = _rotate(upright_images[digit], degrees)
                indices[class_id(digit, degrees)] = upright_indices[digit]
        return cls(split, images, indices)

    @classmethod
    def meta_train(cls, data: MnistData, config: EpisodeConfig) -> ClassPool:
        """The meta-training pool: training split, ``train_digits`` and, optionally, their rotations."""
        return cls.from_split(data, "train", config.train_digits, ROTATIONS if config.rotations else ())

    @classmethod
    def meta_test(cls, data: MnistData, config: EpisodeConfig) -> ClassPool:
        """The meta-test pool: test split, ``test_digits``, never rotated."""
        return cls.from_split(data, "test", config.test_digits)

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    def images(self, class_id: str) -> np.ndarray:
        """All images of a class, float32 (n_c, 28, 28); may be a read-only rotated view."""
        return self._images[class_id]

    def indices(self, class_id: str) -> np.ndarray:
        """Source rows (into x_train or x_test, per :attr:`split`) of the class's images."""
        return self._indices[class_id]

    def sizes(self) -> dict[str, int]:
        return {name: len(array) for name, array in self._images.items()}

    def __len__(self) -> int:
        return sum(self.sizes().values())

    def all_examples(self) -> tuple[np.ndarray, np.ndarray]:
        """(class position, row within class) of every image, for ordinary supervised training."""
        sizes = [len(self._images[name]) for name in self.class_ids]
        positions = np.repeat(np.arange(len(sizes)), sizes)  # (total,)
        rows = np.concatenate([np.arange(size) for size in sizes])  # (total,)
        return positions, rows

    def gather(self, positions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Images for (class position, row) pairs, float32 (n, 28, 28), in the order given."""
        out = np.empty((len(positions), 28, 28), dtype=np.float32)  # (n, 28, 28)
        for position in np.unique(positions):
            where = positions == position
            out[where] = self._images[self.class_ids[position]][rows[where]]
        return out

    def describe(self) -> str:
        return f"{self.num_classes} classes, {len(self):,} images from the {self.split} split"


# eq=False: a field-wise == of numpy arrays is ambiguous; compare episodes field by field.
@dataclass(eq=False)
class Episode:
    """One N-way K-shot task; labels 0..ways-1 follow the order of ``classes``.

    Attributes:
        support_x: (ways * shots, 28, 28) float32 labelled images.
        support_y: (ways * shots,) int labels.
        query_x: (ways * queries, 28, 28) float32 images to classify.
        query_y: (ways * queries,) int labels.
        classes: pool class ids, ``classes[label]`` is the class of ``label``.
        support_index / query_index: source rows into ``x_train`` or ``x_test`` (see ``split``).
        split: "train" (meta-training) or "test" (meta-test).
    """

    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    classes: tuple[str, ...]
    support_index: np.ndarray
    query_index: np.ndarray
    split: str = "test"

    @property
    def ways(self) -> int:
        return len(self.classes)

    @property
    def shots(self) -> int:
        return len(self.support_y) // self.ways

    @property
    def queries(self) -> int:
        return len(self.query_y) // self.ways


def sample_episode(pool: ClassPool, config: EpisodeConfig, rng: np.random.Generator) -> Episode:
    """Draw one episode: ``ways`` distinct classes, ``shots`` + ``queries`` distinct images each.

    Support and query images of a class never overlap. Images come label by label
    (``support_y == [0]*shots + [1]*shots + ...``); the order does not matter to the learners here.

    Example:
        >>> episode = sample_episode(pool, EpisodeConfig(), np.random.default_rng(0))  # doctest: +SKIP
        >>> episode.support_y.tolist()  # doctest: +SKIP
        [0, 1, 2, 3, 4]
    """
    if pool.num_classes < config.ways:
        raise ValueError(
            f"{config.ways}-way episodes need {config.ways} classes, the pool has {pool.num_classes}"
        )
    per_class = config.shots + config.queries
    chosen = [pool.class_ids[i] for i in rng.choice(pool.num_classes, config.ways, replace=False)]
    support_x, query_x, support_index, query_index = [], [], [], []
    for name in chosen:
        images = pool.images(name)
        if len(images) < per_class:
            raise ValueError(
                f"class {name} has {len(images)} images in the {pool.split} split, fewer than the "
                f"{per_class} an episode needs ({config.shots} shots + {config.queries} queries)"
            )
        rows = rng.choice(len(images), per_class, replace=False)  # (shots + queries,)
        support_x.append(images[rows[: config.shots]])  # (shots, 28, 28)
        query_x.append(images[rows[config.shots :]])  # (queries, 28, 28)
        support_index.append(pool.indices(name)[rows[: config.shots]])
        query_index.append(pool.indices(name)[rows[config.shots :]])
    labels = np.arange(config.ways)
    return Episode(
        support_x=np.concatenate(support_x),  # (ways * shots, 28, 28)
        support_y=np.repeat(labels, config.shots),  # (ways * shots,)
        query_x=np.concatenate(query_x),  # (ways * queries, 28, 28)
        query_y=np.repeat(labels, config.queries),  # (ways * queries,)
        classes=tuple(chosen),
        support_index=np.concatenate(support_index),
        query_index=np.concatenate(query_index),
        split=pool.split,
    )


def episodes(pool: ClassPool, config: EpisodeConfig, count: int, seed: int | None = None) -> list[Episode]:
    """``count`` episodes from one seeded stream (``config.seed`` when ``seed`` is None).

    Example:
        >>> first = episodes(pool, config, 3, seed=1)  # doctest: +SKIP
        >>> again = episodes(pool, config, 3, seed=1)  # doctest: +SKIP
        >>> [e.classes for e in first] == [e.classes for e in again]  # doctest: +SKIP
        True
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a whole number of episodes, at least 0, got {count!r}")
    rng = np.random.default_rng(config.seed if seed is None else seed)
    return [sample_episode(pool, config, rng) for _ in range(count)]


def evaluation_episodes(
    data: MnistData, config: EpisodeConfig, count: int = 600, seed: int = EVALUATION_SEED
) -> list[Episode]:
    """The fixed evaluation set: ``count`` episodes from the meta-test pool (test split, test digits).

    The seed does not depend on ``config.seed`` on purpose: every method, however it was trained,
    is scored on the same episodes. 600 episodes is the usual count in the few-shot literature
    (e.g. Chen et al. 2019), giving a 95% interval of about +-1 point.
    """
    return episodes(ClassPool.meta_test(data, config), config, count, seed)


def data_fingerprint(data: MnistData) -> str:
    """A short hash of both label arrays: stored episodes only make sense with the same MNIST."""
    digest = hashlib.sha256()
    for array in (data.y_train, data.y_test):
        digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    return digest.hexdigest()[:16]


def episodes_digest(episodes: Sequence[Episode], data: MnistData | None = None) -> str:
    """A short hash of the episodes' split, classes and source rows, and of ``data``'s labels when given.

    Two evaluations with the same digest were scored on the very same images: the results of an
    in-domain and of a cross-domain run of one evaluation domain carry it, so a table can show
    they are comparable (the same row indices of another domain's data hash differently).

    Example:
        >>> episodes_digest(first) == episodes_digest(evaluation_episodes(data, config))  # doctest: +SKIP
        True
    """
    digest = hashlib.sha256(data_fingerprint(data).encode() if data is not None else b"")
    for episode in episodes:
        digest.update(json.dumps([episode.split, list(episode.classes)]).encode())
        for rows in (episode.support_index, episode.query_index):
            digest.update(np.ascontiguousarray(rows, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def save_episodes(
    path: str | os.PathLike, episodes: Sequence[Episode], config: EpisodeConfig, data: MnistData | None = None
) -> Path:
    """Store episodes as source INDICES (not images) with their config, in a small .npz.

    600 5-way 1-shot episodes take about 110 KB (5-shot: 130 KB). When ``data`` is given its fingerprint is
    stored too, so that :func:`load_episodes` refuses a different MNIST (for example the offline
    sample instead of the full set), whose rows would mean other images.
    """
    if not episodes:
        raise ValueError("there are no episodes to save")
    first = episodes[0]
    shapes = (first.ways, len(first.support_y), len(first.query_y))
    for number, episode in enumerate(episodes):
        if (episode.ways, len(episode.support_y), len(episode.query_y)) != shapes:
            raise ValueError(f"episode {number} has another shape than episode 0; save one kind per file")
        if episode.split != first.split:
            raise ValueError(
                f"episode {number} is from the {episode.split} split, episode 0 from the {first.split} split"
            )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"version": EPISODE_FILE_VERSION, "config": config.to_dict(), "split": first.split,
            "fingerprint": data_fingerprint(data) if data is not None else ""}
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        classes=np.array([list(e.classes) for e in episodes], dtype="<U8"),  # (count, ways)
        support_index=np.stack([e.support_index for e in episodes]).astype(np.int32),  # (count, ways*shots)
        support_y=np.stack([e.support_y for e in episodes]).astype(np.uint8),
        query_index=np.stack([e.query_index for e in episodes]).astype(np.int32),  # (count, ways*queries)
        query_y=np.stack([e.query_y for e in episodes]).astype(np.uint8),
    )
    return path


def _read_episode_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such episode file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not an episode file ({type(error).__name__}: {error})") from None
    if meta.get("version") != EPISODE_FILE_VERSION:
        found = meta.get("version")
        raise ValueError(f"{path}: episode file version {found!r}, expected {EPISODE_FILE_VERSION}")
    return meta, arrays


def load_episode_config(path: str | os.PathLike) -> EpisodeConfig:
    """The config stored with an episode file."""
    meta, _ = _read_episode_file(path)
    return EpisodeConfig.from_dict(meta["config"])


def load_episodes(path: str | os.PathLike, data: MnistData) -> list[Episode]:
    """Rebuild stored episodes from their indices and ``data`` (the images are not in the file).

    Raises ValueError when ``data`` is not the MNIST the episodes were drawn from (fingerprint,
    or a source row whose label does not match the class it was stored under).

    Example:
        >>> save_episodes("eval.npz", evaluation_episodes(data, config), config, data)  # doctest: +SKIP
        >>> len(load_episodes("eval.npz", data))  # doctest: +SKIP
        600
    """
    meta, arrays = _read_episode_file(path)
    if meta.get("fingerprint") and meta["fingerprint"] != data_fingerprint(data):
        raise ValueError(
            f"{path}: these episodes were drawn from another MNIST ({data.describe()} differs); "
            "load the data set they were saved with"
        )
    split = meta["split"]
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    for key in ("support_index", "query_index"):
        if arrays[key].size and (arrays[key].min() < 0 or arrays[key].max() >= len(x)):
            raise ValueError(f"{path}: {key} points outside the {split} split of {len(x):,} images")

    def images_of(classes: tuple[str, ...], labels: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = prepare_images(x[rows])  # (n, 28, 28) float32 upright
        for label, name in enumerate(classes):
            digit, degrees = parse_class_id(name)
            where = labels == label
            if np.any(y[rows[where]] != digit):
                raise ValueError(f"{path}: a stored row of class {name} is not a {digit} in this data")
            out[where] = _rotate(out[where], degrees)
        return out

    result = []
    for number in range(len(arrays["classes"])):
        classes = tuple(str(name) for name in arrays["classes"][number])
        support_y = arrays["support_y"][number].astype(np.int64)
        query_y = arrays["query_y"][number].astype(np.int64)
        support_index = arrays["support_index"][number].astype(np.int64)
        query_index = arrays["query_index"][number].astype(np.int64)
        result.append(Episode(
            support_x=images_of(classes, support_y, support_index),
            support_y=support_y,
            query_x=images_of(classes, query_y, query_index),
            query_y=query_y,
            classes=classes,
            support_index=support_index,
            query_index=query_index,
            split=split,
        ))
    return result
