"""The few-shot run kind: meta-train one learner on digits it will never be tested on, then score it.

A few-shot run (``RunConfig(kind="fewshot")``) takes its learner from ``config.settings.algorithm``
(MAML, first-order MAML, Meta-SGD, Reptile or Prototypical Networks) and its network from the run's
base network. :func:`train_fewshot` does what the worker calls for every run kind:

1. meta-trains on episodes of the training digits (training split of the meta-training domain,
   rotations as extra classes), streaming the meta-training loss and accuracy (series ``meta-train``) and, every
   ``validation_every`` iterations, the accuracy on fixed validation episodes (series
   ``validation``): the test digits of the evaluation domain drawn from its TRAINING split, never
   trained on and never used to choose anything, only shown, so the curve tracks generalisation
   to new classes;
2. scores the learner on the fixed evaluation episodes (test digits, test split of the evaluation
   domain: MNIST, or Fashion-MNIST for a cross-domain run from MNIST) for 1-shot and
   5-shot, beside two baselines on the very same episodes: nearest centroid on raw pixels and
   "pre-train then adapt" (Chen et al. 2019), with 95% intervals and the query accuracy after each
   inner step;
3. saves the learner (``fewshot_params.npz`` or ``embedding.keras``) and the results
   (``fewshot.json``, with a few episodes for the episode viewer).

:class:`FewShotModel` reloads a saved learner and adapts it to new support images, e.g. digits
drawn on the Draw page.

Example:
    >>> config = RunConfig(kind="fewshot", base=fewshot_network("conv"),  # doctest: +SKIP
    ...                    settings=FewShotConfig(algorithm="maml", **recommended_settings("maml")))
    >>> result = train_fewshot(config, load_mnist(), Reporter(), folder)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from metalearn_core.config import NetworkConfig, RunConfig
from metalearn_core.data.domains import load_domain
from metalearn_core.data.mnist import MnistData
from metalearn_core.kinds.fewshot.algorithms.baselines import (
    mean_confidence_interval,
    nearest_centroid_features,
    nearest_centroid_pixels,
    pretrain_classifier,
)
from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec, forward
from metalearn_core.kinds.fewshot.algorithms.loop import meta_train
from metalearn_core.kinds.fewshot.algorithms.maml import MAML
from metalearn_core.kinds.fewshot.algorithms.metasgd import MetaSGD
from metalearn_core.kinds.fewshot.algorithms.protonet import ProtoNet, episode_logits
from metalearn_core.kinds.fewshot.algorithms.reptile import Reptile
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.episodes import (
    ClassPool,
    Episode,
    episodes_digest,
    evaluation_episodes,
    sample_episode,
)
from metalearn_core.kinds.fewshot.results import RESULTS_FILE
from metalearn_core.kinds.fewshot.setup import (  # noqa: F401 - re-exported: the light half of this module
    ALGORITHM_LABELS,
    MAX_EXAMPLES_PER_DIGIT,
    FewShotError,
    check_fewshot,
    fewshot_network,
    learner_shape,
    recommended_settings,
    teach_support,
)
from metalearn_core.runs.reporting import Reporter, RunResult

EVALUATION_SHOTS = (1, 5)
VIEWER_EPISODES = 6  # episodes per setting kept for the episode viewer
LOG_EVERY = 10  # meta-training metrics are averaged over this many iterations per stored point
PARAMS_FILE = "fewshot_params.npz"
EMBEDDING_FILE = "embedding.keras"


def network_spec(network: NetworkConfig) -> NetworkSpec:
    """The functional :class:`NetworkSpec` equal to ``network`` (see :func:`learner_shape`)."""
    shape = learner_shape(network)
    if shape[0] == "conv":
        return NetworkSpec.conv(filters=shape[1], blocks=shape[2])
    return NetworkSpec.mlp(hidden=shape[1])


# -- the learner and its saved form ----------------------------------------------------------

def build_learner(settings: FewShotConfig, network: NetworkConfig, total_iterations: int | None = None):
    """A fresh learner for ``settings.algorithm`` (not ProtoNet, which its training loop builds)."""
    algorithm, ways = settings.algorithm, settings.ways
    if algorithm in ("maml", "fomaml"):
        return MAML(network_spec(network), ways, inner_lr=settings.inner_lr, inner_steps=settings.inner_steps,
                    first_order=algorithm == "fomaml", meta_lr=settings.meta_learning_rate, seed=settings.seed)
    if algorithm == "metasgd":
        return MetaSGD(network_spec(network), ways, inner_lr=settings.inner_lr,
                       inner_steps=settings.inner_steps, meta_lr=settings.meta_learning_rate, seed=settings.seed)
    if algorithm == "reptile":
        return Reptile(network_spec(network), ways, inner_lr=settings.inner_lr, inner_steps=settings.inner_steps,
                       outer_lr=settings.meta_learning_rate, total_iterations=total_iterations,
                       seed=settings.seed)
    raise FewShotError(f"no gradient-based learner called {algorithm!r}")


class FewShotModel:
    """A meta-trained learner that adapts to a new task from a handful of labelled images.

    Wraps either a gradient-based learner (its meta-learned initialisation, adapted by inner
    steps) or a Prototypical Network (class means of embedded support images). Images are
    (n, 28, 28) float32 in [0, 1], white digit on black, like MNIST.
    """

    def __init__(self, settings: FewShotConfig, learner: Any):
        self.settings = settings
        self.learner = learner
        self.is_protonet = settings.algorithm == "protonet"

    # .. scoring on episodes
    def episode_accuracies(self, episode: Episode, steps: int | None = None) -> list[float]:
        """Query accuracy before adapting and after each inner step; ProtoNet gives one value."""
        if self.is_protonet:
            return [self.learner.accuracy(episode)]
        return [float(a) for a in self.learner.evaluate(episode, steps=self._steps(steps))]

    def _steps(self, steps: int | None) -> int:
        return self.settings.eval_inner_steps if steps is None else int(steps)

    # .. adapting to new images (the Draw page)
    def adapt_predict(self, support_x: np.ndarray, support_y: np.ndarray, query_x: np.ndarray,
                      steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of ``query_x`` before and after adapting on the support set.

        ``support_y`` holds labels 0..n-1 with n <= the learner's ways (unused head units are
        masked). Before adapting means the meta-learned initialisation for the gradient-based
        learners and nearest centroid on raw pixels for ProtoNet (no learned embedding).
        Batch norm is transductive, so queries are pushed through together with the support images.

        Returns:
            two (n_query, n) arrays of probabilities.
        """
        support_x, support_y, query_x = check_task(support_x, support_y, query_x)
        n = int(support_y.max()) + 1
        if not self.is_protonet and n > self.settings.ways:
            raise FewShotError(f"this learner was meta-trained {self.settings.ways}-way; teach it at most "
                               f"{self.settings.ways} digits, not {n}")
        if self.is_protonet:
            before = _softmax(-_squared_distances(query_x, support_x, support_y, n))
            logits = episode_logits(self.learner.embedding, tf.constant(support_x), tf.constant(support_y),
                                    tf.constant(query_x), n, training=False)
            return before, _softmax(np.asarray(logits))
        learner = self.learner
        both = tf.constant(np.concatenate([support_x, query_x]), dtype=learner.dtype)
        before_logits = forward(list(learner.params), both, learner.spec).numpy()[len(support_x):, :n]
        adapted = learner.adapt(support_x, support_y, self._steps(steps))
        after_logits = forward(adapted, both, learner.spec).numpy()[len(support_x):, :n]
        return _softmax(before_logits), _softmax(after_logits)

    # .. saving
    def save(self, folder: Path) -> Path:
        """Write the learner into ``folder``; returns the file."""
        if self.is_protonet:
            path = folder / EMBEDDING_FILE
            self.learner.embedding.save(path)
            return path
        path = folder / PARAMS_FILE
        arrays = {f"param_{i}": np.asarray(p) for i, p in enumerate(self.learner.params)}
        if self.settings.algorithm == "metasgd":
            arrays.update({f"rate_{i}": np.asarray(r) for i, r in enumerate(self.learner.learning_rates)})
        np.savez(path, **arrays)
        return path

    @classmethod
    def load(cls, folder: Path, config: RunConfig) -> FewShotModel:
        """The learner saved by a finished few-shot run; FewShotError names a missing or bad file."""
        settings = config.settings
        if settings.algorithm == "protonet":
            path = Path(folder) / EMBEDDING_FILE
            if not path.exists():
                raise FewShotError(f"{path.name} is missing from run folder {folder}")
            try:
                embedding = keras.saving.load_model(path, compile=False)
            except Exception as error:  # noqa: BLE001 - any unreadable file gets one clear message
                raise FewShotError(f"{path.name} could not be read ({type(error).__name__}: {error})") from None
            return cls(settings, ProtoNet(embedding))
        path = Path(folder) / PARAMS_FILE
        if not path.exists():
            raise FewShotError(f"{path.name} is missing from run folder {folder}")
        learner = build_learner(settings, config.base)
        try:
            with np.load(path) as stored:
                _assign(learner.params, [stored[f"param_{i}"] for i in range(len(learner.params))], path)
                if settings.algorithm == "metasgd":
                    rates = learner.learning_rates
                    _assign(rates, [stored[f"rate_{i}"] for i in range(len(rates))], path)
        except FewShotError:
            raise
        except Exception as error:  # noqa: BLE001
            raise FewShotError(f"{path.name} could not be read ({type(error).__name__}: {error})") from None
        return cls(settings, learner)


def _assign(variables: Sequence[tf.Variable], arrays: Sequence[np.ndarray], path: Path) -> None:
    for variable, array in zip(variables, arrays):
        if tuple(variable.shape) != array.shape:
            raise FewShotError(f"{path.name}: a parameter has shape {array.shape}, the network needs "
                               f"{tuple(variable.shape)}; the file does not belong to this run's network")
        variable.assign(array)


def check_task(support_x, support_y, query_x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Support images, labels and queries as float32 / int32 arrays; FewShotError says what is wrong."""
    support_x = np.asarray(support_x, np.float32)
    support_y = np.asarray(support_y, np.int32)
    query_x = np.asarray(query_x, np.float32)
    for name, x in (("support", support_x), ("query", query_x)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
            raise FewShotError(f"{name} images must have shape (n, 28, 28) with n >= 1, got {x.shape}")
    if support_y.shape != (len(support_x),):
        raise FewShotError(f"need one label per support image, got {support_y.shape} for {len(support_x)}")
    present = set(support_y.tolist())
    if len(present) < 2 or present != set(range(len(present))):
        raise FewShotError("label the support images 0..n-1 with at least two classes, each used at least once")
    return support_x, support_y, query_x


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _squared_distances(query_x: np.ndarray, support_x: np.ndarray, support_y: np.ndarray, n: int) -> np.ndarray:
    query = query_x.reshape(len(query_x), -1)  # (n_q, 784)
    support = support_x.reshape(len(support_x), -1)  # (n_s, 784)
    centroids = np.stack([support[support_y == label].mean(axis=0) for label in range(n)])  # (n, 784)
    return ((query[:, None, :] - centroids[None]) ** 2).sum(axis=-1)  # (n_q, n)


# -- the run -------------------------------------------------------------------------------------

class _Stopwatch:
    """Meta-training time (validation excluded) against the budget and the iteration count."""

    def __init__(self, settings: FewShotConfig):
        self.settings = settings
        self.started = time.perf_counter()
        self.paused = 0.0

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started - self.paused

    def fraction(self, iteration: int) -> float:
        by_count = iteration / self.settings.iterations
        by_time = self.seconds / self.settings.time_budget if self.settings.time_budget else 0.0
        return min(max(by_count, by_time), 1.0)


class _MetaTrainingReporter:
    """The callback of the training loops: stores averaged metrics, validates, stops on time or NaN."""

    def __init__(self, settings: FewShotConfig, reporter: Reporter, validate: Callable[[], float]):
        self.settings, self.reporter, self.validate = settings, reporter, validate
        self.clock = _Stopwatch(settings)
        self.pending: list[dict[str, float]] = []
        self.iterations = 0
        self.diverged = False
        self.last_progress = 0.0

    def __call__(self, iteration: int, metrics: dict[str, float]) -> bool:
        self.iterations += 1
        done = self.iterations
        if not math.isfinite(float(metrics.get("loss", 0.0))):
            self.diverged = True
            return False
        self.pending.append({"loss": float(metrics["loss"]), "accuracy": float(metrics["accuracy"])})
        finished = self.clock.fraction(done) >= 1.0
        if len(self.pending) >= LOG_EVERY or finished:
            self._flush(done)
        if done % self.settings.validation_every == 0 or finished:
            paused = time.perf_counter()
            accuracy = self.validate()
            self.clock.paused += time.perf_counter() - paused
            self.reporter.on_epoch("validation", done, {"accuracy": accuracy, "elapsed": self.clock.seconds})
        if time.perf_counter() - self.last_progress > 0.25 or finished:
            self.last_progress = time.perf_counter()
            fraction = self.clock.fraction(done)
            self.reporter.on_progress({"series": "meta-train", "phase": "meta-training", "batch": done,
                                       "fraction": 0.85 * fraction,
                                       "label": f"meta-training: iteration {done:,} "
                                                f"({self.clock.seconds:.0f} s of meta-training)"})
        return not finished

    def _flush(self, iteration: int) -> None:
        values = {key: float(np.mean([m[key] for m in self.pending])) for key in ("loss", "accuracy")}
        self.reporter.on_epoch("meta-train", iteration, {**values, "elapsed": self.clock.seconds})
        self.pending = []


def _build(settings: FewShotConfig, network: NetworkConfig) -> Any:
    """The untrained learner: a ProtoNet around the network, or a gradient-based learner."""
    if settings.algorithm == "protonet":
        keras.utils.set_random_seed(settings.seed)  # the embedding's initial weights
        return ProtoNet.from_network(network)
    return build_learner(settings, network, total_iterations=settings.iterations)


def _meta_train(learner: Any, settings: FewShotConfig, pool: ClassPool, callback: _MetaTrainingReporter) -> None:
    """Run the algorithm's training loop on ``learner`` until the callback stops it."""
    rng = np.random.default_rng(settings.seed)
    if settings.algorithm == "protonet":
        # Training episodes may have more ways than the test digits allow (Snell et al.); the
        # sampler only reads ways, shots and queries.
        train_config = _TrainEpisodes(min(settings.train_ways, pool.num_classes), settings.shots, settings.queries)
        optimizer = keras.optimizers.Adam(settings.meta_learning_rate)
        for iteration in range(1, settings.iterations + 1):
            metrics = learner.train_step(sample_episode(pool, train_config, rng), optimizer)
            if callback(iteration, metrics) is False:
                return
        return
    episode_config = settings.episodes()
    anneal = settings.algorithm == "reptile" and bool(settings.time_budget)

    def on_iteration(iteration: int, metrics: dict[str, float]) -> bool:
        if anneal:  # Reptile's outer step decays to 0 over whichever limit comes first
            done = iteration + 1
            learner.total_iterations = max(done + 1, int(done / max(callback.clock.fraction(done), 1e-6)))
        return callback(iteration, metrics)

    meta_train(learner, lambda n: [sample_episode(pool, episode_config, rng) for _ in range(n)],
               iterations=settings.iterations, meta_batch_size=settings.meta_batch_size, on_iteration=on_iteration)


class _TrainEpisodes:
    """Ways, shots and queries of training episodes (ProtoNet may train with more ways than it tests)."""

    def __init__(self, ways: int, shots: int, queries: int):
        self.ways, self.shots, self.queries = ways, shots, queries


def _score(values: Sequence[float]) -> dict[str, float]:
    mean, ci95 = mean_confidence_interval(list(values))
    return {"mean": float(mean), "ci95": float(ci95), "episodes": len(values)}


def evaluate_fewshot(model: FewShotModel, episodes: Sequence[Episode], pretrained: keras.Model | None,
                     viewer: int = VIEWER_EPISODES, on_episode: Callable[[int], None] | None = None) -> dict:
    """Score the learner and the baselines on the same episodes.

    Returns a JSON-friendly dict: ``learner`` / ``pixels`` / ``pretrain`` (mean, ci95, episodes;
    pretrain None without a pre-trained embedding), ``per_step`` (mean query accuracy before
    adapting and after each inner step) and ``viewer`` (the first ``viewer`` episodes' source rows,
    classes and the adapted learner's query predictions).
    """
    per_episode, pixels, pretrain, shown = [], [], [], []
    for index, episode in enumerate(episodes):
        accuracies = model.episode_accuracies(episode)
        per_episode.append(accuracies)
        pixels.append(nearest_centroid_pixels(episode))
        if pretrained is not None:
            pretrain.append(nearest_centroid_features(pretrained, episode))
        if index < viewer:
            shown.append(_viewer_entry(model, episode, accuracies))
        if on_episode is not None:
            on_episode(index)
    curve = np.asarray(per_episode).mean(axis=0)
    return {"learner": _score([a[-1] for a in per_episode]), "pixels": _score(pixels),
            "pretrain": _score(pretrain) if pretrain else None,
            "per_step": [float(v) for v in curve], "viewer": shown}


def _viewer_entry(model: FewShotModel, episode: Episode, accuracies: list[float]) -> dict:
    if model.is_protonet:
        predictions = model.learner.predict(episode)
    else:
        probabilities = model.learner.predict(episode.support_x, episode.support_y, episode.query_x,
                                              steps=model.settings.eval_inner_steps)
        predictions = np.argmax(probabilities, axis=1)
    return {"classes": list(episode.classes), "support_index": episode.support_index.tolist(),
            "support_y": episode.support_y.tolist(), "query_index": episode.query_index.tolist(),
            "query_y": episode.query_y.tolist(), "predictions": [int(p) for p in predictions],
            "per_step": accuracies}


def pretrain_baseline(settings: FewShotConfig, network: NetworkConfig, pool: ClassPool,
                      reporter: Reporter) -> tuple[keras.Model | None, float]:
    """The pre-train-then-adapt baseline's embedding, trained on the meta-training pool for
    ``baseline_seconds`` (None when that is 0); returns (embedding, seconds)."""
    if not settings.baseline_seconds:
        return None, 0.0
    started = time.perf_counter()
    reporter.on_progress({"series": "baseline", "phase": "pre-training the baseline", "fraction": 0.86,
                          "label": f"pre-training the baseline classifier ({settings.baseline_seconds:.0f} s)"})
    embedding = pretrain_classifier(pool, network, epochs=10_000, batch_size=64, seed=settings.seed,
                                    should_stop=lambda: time.perf_counter() - started >= settings.baseline_seconds)
    return embedding, time.perf_counter() - started


def domain_data(name: str, config: RunConfig, data: MnistData) -> MnistData:
    """The images of domain ``name``: the run's own ``data`` when the run is of that domain, else loaded.

    The worker hands a run the data of ``config.training.dataset``; a cross-domain few-shot run
    needs the other domain too, loaded here (DataError, with how to get it, when it cannot be).

    Example:
        >>> domain_data("fashion_mnist", config, mnist).describe()  # doctest: +SKIP
        'Fashion-MNIST from path (/usr/share/datasets/fashion-mnist): 60,000 training and 10,000 test images'
    """
    if name == config.training.dataset:
        return data
    return load_domain(name)


def validation_episodes(eval_data: MnistData, settings: FewShotConfig) -> list[Episode]:
    """The fixed validation episodes: the evaluation classes of the evaluation domain's TRAINING split.

    They are only shown (the ``validation`` curve), never trained on and never used to choose
    anything; the evaluation episodes come from the test split, so the two share no image.
    """
    pool = ClassPool.from_split(eval_data, "train", settings.test_digits)
    rng = np.random.default_rng(settings.seed + 1)
    return [sample_episode(pool, settings.episodes(), rng) for _ in range(settings.validation_episodes)]


def meta_train_model(settings: FewShotConfig, network: NetworkConfig, train_pool: ClassPool,
                     validation: Sequence[Episode], reporter: Reporter) -> tuple[FewShotModel, _MetaTrainingReporter]:
    """A fresh learner meta-trained on episodes of ``train_pool`` until the iterations or the budget run out.

    Returns the model and the callback that ran the loop (``iterations``, ``clock.seconds``,
    ``diverged``). Only ``train_pool`` is trained on; ``validation`` is scored now and then.

    Example:
        >>> model, loop = meta_train_model(settings, network, pool, [], Reporter())  # doctest: +SKIP
    """
    learner = _build(settings, network)
    model = FewShotModel(settings, learner)

    def validate() -> float:
        return float(np.mean([model.episode_accuracies(e)[-1] for e in validation])) if validation else math.nan

    callback = _MetaTrainingReporter(settings, reporter, validate)
    _meta_train(learner, settings, train_pool, callback)
    return model, callback


def train_fewshot(config: RunConfig, data: MnistData, reporter: Reporter, folder: Path | None) -> RunResult:
    """Meta-train, evaluate and save a few-shot run (see the module docstring).

    Meta-training (and the pre-train baseline) use ``train_digits`` of the training split of
    ``fewshot.train_domain``; validation and evaluation use ``test_digits`` of
    ``fewshot.eval_domain`` (training and test split). ``data`` is the run's data
    (``config.training.dataset``); the other domain is loaded when the run needs it.

    Returns a RunResult whose summary has ``test_accuracy`` (the learner's accuracy at the run's
    shot count, or 1-shot), ``fewshot_1shot`` / ``fewshot_5shot``, the domains, iterations and
    timing; the full results go to ``fewshot.json`` in ``folder``.
    """
    settings = config.settings
    check_fewshot(config)
    train_data = domain_data(settings.train_domain, config, data)
    eval_data = domain_data(settings.eval_domain, config, data)
    keras.utils.set_random_seed(settings.seed)
    train_pool = ClassPool.meta_train(train_data, settings.episodes())
    model, callback = meta_train_model(settings, config.base, train_pool,
                                       validation_episodes(eval_data, settings), reporter)
    domains = {"train_domain": settings.train_domain, "eval_domain": settings.eval_domain}
    summary: dict[str, Any] = {"iterations": callback.iterations, "train_seconds": callback.clock.seconds,
                               "algorithm": settings.algorithm, "data_source": train_data.source, **domains}
    if callback.diverged:
        return RunResult("diverged", summary, None, "the meta-training loss became NaN or infinite; "
                         "lower the inner or meta learning rate")
    if folder is not None:
        model.save(folder)
    pretrained, baseline_seconds = pretrain_baseline(settings, config.base, train_pool, reporter)
    results: dict[str, Any] = {"algorithm": settings.algorithm, "iterations": callback.iterations,
                               "meta_train_seconds": callback.clock.seconds, "baseline_seconds": baseline_seconds,
                               **domains, "settings": {}}
    shots_list = sorted({*EVALUATION_SHOTS, settings.shots})
    for position, shots in enumerate(shots_list):
        episodes = evaluation_episodes(eval_data, settings.episodes(shots), settings.evaluation_episodes)
        progress = _evaluation_progress(reporter, settings, shots, position, len(shots_list), len(episodes))
        scored = evaluate_fewshot(model, episodes, pretrained, on_episode=progress)
        results["settings"][str(shots)] = {**scored, "episodes_digest": episodes_digest(episodes, eval_data)}
    main = results["settings"][str(settings.shots)]["learner"]["mean"]
    summary.update(test_accuracy=main, baseline_seconds=baseline_seconds,
                   **{f"fewshot_{k}shot": results["settings"][str(k)]["learner"]["mean"] for k in EVALUATION_SHOTS})
    if folder is not None:
        (folder / RESULTS_FILE).write_text(json.dumps(results))
    return RunResult("completed", summary, None)


def _evaluation_progress(reporter: Reporter, settings: FewShotConfig, shots: int, position: int,
                         settings_count: int, episodes: int) -> Callable[[int], None]:
    def progress(index: int) -> None:
        if index % 20 == 0:
            done = (position + index / episodes) / settings_count
            reporter.on_progress({"series": "evaluation", "phase": "evaluating", "fraction": 0.9 + 0.1 * done,
                                  "label": f"evaluating: {settings.ways}-way {shots}-shot, "
                                           f"episode {index + 1}/{episodes}"})
    return progress
