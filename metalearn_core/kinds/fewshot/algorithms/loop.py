"""The meta-training loop shared by the gradient-based meta-learners (MAML, FOMAML, Meta-SGD, Reptile).

Each learner owns its meta-update (``meta_train_step``); this loop only samples meta-batches,
calls it, and streams the metrics to a plain callback, so a terminal, a test or a Streamlit page
can listen without the core importing any UI.

Example:
    >>> from metalearn_core.kinds.fewshot.algorithms.maml import MAML
    >>> learner = MAML((784, 64, 64), ways=5)
    >>> history = meta_train(learner, lambda n: sampler.sample_batch(n), iterations=200,  # doctest: +SKIP
    ...                      meta_batch_size=4, on_iteration=lambda i, m: print(i, m["accuracy"]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from metalearn_core.kinds.fewshot.algorithms.functional import EpisodeLike


class MetaLearner(Protocol):
    """What :func:`meta_train` needs: a learner that does one meta-update on a meta-batch."""

    def meta_train_step(
        self, episodes: Sequence[EpisodeLike], meta_optimizer: Any | None = None
    ) -> dict[str, float]: ...


def meta_train(
    learner: MetaLearner,
    sample_batch: Callable[[int], Sequence[EpisodeLike]],
    iterations: int,
    meta_batch_size: int,
    on_iteration: Callable[[int, dict[str, float]], Any] | None = None,
    meta_optimizer: Any | None = None,
) -> list[dict[str, float]]:
    """Run ``iterations`` meta-updates of ``learner`` on freshly sampled meta-batches.

    Args:
        learner: a :class:`MetaLearner` (MAML, MetaSGD, Reptile, ...).
        sample_batch: ``sample_batch(n)`` returns ``n`` episodes (objects with support_x,
            support_y, query_x, query_y).
        iterations: number of meta-updates.
        meta_batch_size: episodes per meta-update.
        on_iteration: called after every meta-update as ``on_iteration(iteration, metrics)``, with
            ``iteration`` counted from 0 and ``metrics`` the learner's dict (``"loss"`` and
            ``"accuracy"``: post-adaptation query metrics of that meta-batch). Returning ``False``
            (exactly) stops training early, e.g. for a dashboard's stop button.
        meta_optimizer: passed to every ``meta_train_step``; ``None`` lets each learner use its own
            default (Adam for MAML/Meta-SGD, the annealed interpolation for Reptile).

    Returns:
        The metrics of every iteration run, in order.
    """
    if int(iterations) < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if int(meta_batch_size) < 1:
        raise ValueError(f"meta_batch_size must be >= 1, got {meta_batch_size}")
    history: list[dict[str, float]] = []
    for iteration in range(int(iterations)):
        episodes = list(sample_batch(int(meta_batch_size)))
        if not episodes:
            raise ValueError(f"sample_batch({meta_batch_size}) returned no episodes")
        metrics = learner.meta_train_step(episodes, meta_optimizer)
        history.append(metrics)
        if on_iteration is not None and on_iteration(iteration, metrics) is False:
            break
    return history
