"""Inside a few-shot learner: its prediction after every inner step, Meta-SGD's learned step sizes,
and a Prototypical Network's embedding space in two dimensions.

Every function takes a :class:`~metalearn_core.kinds.fewshot.run.FewShotModel` (a saved learner,
reloaded) and plain arrays of images (``(n, 28, 28)`` float32 in [0, 1]); the pages only draw
what comes back (see :mod:`metalearn_core.kinds.fewshot.inside_figures`).

Example:
    >>> model = FewShotModel.load(run.folder, run.config)  # doctest: +SKIP
    >>> step_probabilities(model, support_x, support_y, query_x).shape  # doctest: +SKIP
    (11, 1, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.decomposition import PCA

from metalearn_core.data.mnist import MnistData, prepare_images
from metalearn_core.kinds.fewshot.algorithms.functional import forward, param_names
from metalearn_core.kinds.fewshot.run import FewShotError, FewShotModel, check_task

RATE_COLUMNS = ("variable", "count", "mean", "median", "q1", "q3", "min", "max", "negative share")


# -- the inner loop, step by step ------------------------------------------------------------------

def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def step_probabilities(model: FewShotModel, support_x: Any, support_y: Any, query_x: Any,
                       steps: int | None = None, with_support: bool = True) -> np.ndarray:
    """Class probabilities of every query before adapting (step 0) and after each inner step.

    Runs the same first-order inner steps as :meth:`FewShotModel.adapt_predict`, keeping the
    parameters after every step (MAML, first-order MAML and Meta-SGD: Finn et al. 2017, Li et al.
    2017; Reptile: Nichol et al. 2018). Head units beyond the taught classes are masked, as there.

    Args:
        model: a gradient-based learner (ProtoNet takes no inner steps: FewShotError).
        support_x, support_y: the labelled images, labels 0..n-1.
        query_x: the images to classify.
        steps: inner steps K; the run's evaluation steps when None.
        with_support: push the queries through together with the support images, as
            ``adapt_predict`` does (batch norm is transductive, so one drawn query alone would be
            normalised by itself); False scores the queries alone, as the run's evaluation did.

    Returns:
        (K + 1, n_query, n) probabilities; row 0 is the meta-learned initialisation's answer.

    Example:
        >>> step_probabilities(model, support_x, support_y, query_x, steps=3).shape  # doctest: +SKIP
        (4, 15, 5)
    """
    if model.is_protonet:
        raise FewShotError("Prototypical Networks take no inner steps: a new digit only needs its prototype")
    support_x, support_y, query_x = check_task(support_x, support_y, query_x)
    n = int(support_y.max()) + 1
    if n > model.settings.ways:
        raise FewShotError(f"this learner was meta-trained {model.settings.ways}-way; teach it at most "
                           f"{model.settings.ways} digits, not {n}")
    learner = model.learner
    steps = model.settings.eval_inner_steps if steps is None else int(steps)
    inputs = np.concatenate([support_x, query_x]) if with_support else query_x  # (n_s + n_q or n_q, 28, 28)
    inputs = tf.constant(inputs, dtype=learner.dtype)
    skip = len(support_x) if with_support else 0
    logits = [forward(params, inputs, learner.spec).numpy()[skip:, :n]  # (n_q, n)
              for params in learner.trajectory(support_x, support_y, steps)]
    return _softmax(np.stack(logits).astype(np.float64))  # (K + 1, n_q, n)


def episode_images(entry: dict[str, Any], data: MnistData) -> tuple[np.ndarray, ...]:
    """``(support_x, support_y, query_x, query_y)`` of a stored viewer episode (test split rows).

    Example:
        >>> support_x, support_y, query_x, query_y = episode_images(entry, data)  # doctest: +SKIP
    """
    missing = [name for name in ("support_index", "support_y", "query_index", "query_y") if name not in entry]
    if missing:
        raise FewShotError(f"the stored episode lacks {', '.join(missing)}")
    support_x = prepare_images(data.x_test[np.asarray(entry["support_index"], int)])  # (n_s, 28, 28)
    query_x = prepare_images(data.x_test[np.asarray(entry["query_index"], int)])  # (n_q, 28, 28)
    return (support_x, np.asarray(entry["support_y"], np.int32), query_x, np.asarray(entry["query_y"], np.int32))


def step_accuracy(probabilities: np.ndarray, query_y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Query accuracy and mean probability of the right class after each step: two (K + 1,) arrays.

    Example:
        >>> step_accuracy(np.array([[[0.4, 0.6]], [[0.9, 0.1]]]), [0])
        (array([0., 1.]), array([0.4, 0.9]))
    """
    probabilities = np.asarray(probabilities, float)  # (K + 1, n_q, n)
    labels = np.asarray(query_y, int)  # (n_q,)
    correct = (probabilities.argmax(axis=-1) == labels[None]).mean(axis=1)  # (K + 1,)
    right = probabilities[:, np.arange(len(labels)), labels].mean(axis=1)  # (K + 1,)
    return correct, right


# -- Meta-SGD: the step sizes it learned ----------------------------------------------------------

def rate_summary(model: FewShotModel) -> pd.DataFrame:
    """Meta-SGD's learned inner learning rates, one row per parameter tensor (Li et al. 2017).

    Columns: variable (e.g. ``dense1/kernel``), count, mean, median, q1, q3, min, max and the
    share of negative rates (a negative rate steps UP the support gradient for that weight).

    Example:
        >>> rate_summary(model)["variable"].tolist()  # doctest: +SKIP
        ['dense1/kernel', 'dense1/bias', 'head/kernel', 'head/bias']
    """
    if model.settings.algorithm != "metasgd":
        raise FewShotError("only Meta-SGD learns its inner learning rates; this learner uses one fixed rate")
    rows = []
    for name, rate in zip(param_names(model.learner.spec), model.learner.rates):
        values = np.asarray(rate, np.float64).ravel()
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        rows.append((name, values.size, values.mean(), median, q1, q3, values.min(), values.max(),
                     float(np.mean(values < 0))))
    return pd.DataFrame(rows, columns=list(RATE_COLUMNS))


# -- ProtoNet: the embedding space in 2-D --------------------------------------------------------

@dataclass
class EmbeddingProjection:
    """Support images, queries and prototypes of one task projected onto 2 principal components.

    Attributes:
        support, query, prototypes: (n_s, 2), (n_q, 2) and (n, 2) projected points; the
            prototypes are the projections of the class means in the ORIGINAL embedding space.
        support_y: (n_s,) labels of the support points.
        predictions: (n_q,) nearest prototype in the original space: what the network answers.
        pca: the fitted scikit-learn PCA (on the support and query embeddings).
        grid_x, grid_y: (g,) coordinates of the region grid.
        regions: (g, g) label of the nearest PROJECTED prototype at each grid point, row per
            grid_y: an approximation of the real decision regions, which live in many dimensions.
    """

    support: np.ndarray
    support_y: np.ndarray
    query: np.ndarray
    prototypes: np.ndarray
    predictions: np.ndarray
    pca: PCA
    grid_x: np.ndarray
    grid_y: np.ndarray
    regions: np.ndarray

    @property
    def explained(self) -> float:
        """Share of the embeddings' variance the two components keep, in [0, 1]."""
        return float(np.sum(self.pca.explained_variance_ratio_))

    def agreement(self) -> float:
        """Share of queries whose 2-D region is the class the network really chose."""
        return float(np.mean(nearest(self.query, self.prototypes) == self.predictions))


def nearest(points: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Index of the nearest prototype (squared Euclidean distance) of each point: (n,) int.

    Example:
        >>> nearest(np.array([[0.0, 0.0], [3.0, 0.0]]), np.array([[1.0, 0.0], [4.0, 0.0]])).tolist()
        [0, 1]
    """
    distances = ((points[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=-1)  # (n, ways)
    return distances.argmin(axis=1)


def protonet_projection(model: FewShotModel, support_x: Any, support_y: Any, query_x: Any,
                        grid: int = 80) -> EmbeddingProjection:
    """Embed a task, fit a 2-component PCA on its support and query embeddings, project everything.

    The prototypes are the class means of the support embeddings (Snell et al. 2017, eq. 1); since
    PCA is affine, a projected prototype is also the mean of its class's projected support points.
    The regions are those of the nearest projected prototype on a ``grid`` x ``grid`` lattice
    covering every point, an approximation; the predictions are the nearest prototype in the
    original space, what actually decides.

    Example:
        >>> projection = protonet_projection(model, support_x, support_y, query_x)  # doctest: +SKIP
        >>> projection.prototypes.shape  # doctest: +SKIP
        (5, 2)
    """
    if not model.is_protonet:
        raise FewShotError("only Prototypical Networks classify by distance in an embedding space")
    support_x, support_y, query_x = check_task(support_x, support_y, query_x)
    features = np.asarray(model.learner.embedding(np.concatenate([support_x, query_x]), training=False),
                          np.float64)  # (n_s + n_q, d)
    if features.shape[1] < 2 or len(features) < 3:
        raise FewShotError("the embedding view needs at least 2 features and 3 images")
    support, query = features[:len(support_x)], features[len(support_x):]
    ways = int(support_y.max()) + 1
    prototypes = np.stack([support[support_y == label].mean(axis=0) for label in range(ways)])  # (n, d)
    pca = PCA(n_components=2).fit(features)
    flat = {name: pca.transform(points) for name, points in
            (("support", support), ("query", query), ("prototypes", prototypes))}
    grid_x, grid_y = _grid(np.concatenate(list(flat.values())), grid)
    xx, yy = np.meshgrid(grid_x, grid_y)  # (g, g) each
    regions = nearest(np.column_stack([xx.ravel(), yy.ravel()]), flat["prototypes"]).reshape(xx.shape)
    return EmbeddingProjection(flat["support"], support_y, flat["query"], flat["prototypes"],
                               nearest(query, prototypes), pca, grid_x, grid_y, regions)


def _grid(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced x and y coordinates covering ``points`` with a 10% margin."""
    low, high = points.min(axis=0), points.max(axis=0)
    margin = np.maximum(0.1 * (high - low), 1e-3)
    return (np.linspace(low[0] - margin[0], high[0] + margin[0], size),
            np.linspace(low[1] - margin[1], high[1] + margin[1], size))
