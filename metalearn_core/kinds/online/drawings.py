"""Online learning from the user's own drawings (the Draw page): guess a drawing, be told, learn.

A :class:`DrawingLearner` keeps an :class:`~metalearn_core.kinds.online.learners.OnlineLearner` in
memory (one per browser session). For each drawing it first **guesses** (with the weights as they
are), then the user gives the right digit and it **learns** one gradient step from that drawing:
the prequential protocol of an online run, with the user as the stream. Its running accuracy is
the share of right first guesses, so it rises as the network picks up the user's handwriting.

Example:
    >>> learner = DrawingLearner.start(None, None)  # doctest: +SKIP
    >>> probabilities = learner.guess(image28)  # doctest: +SKIP
    >>> learner.teach(7)  # doctest: +SKIP
    False
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metalearn_core.config import RunConfig
from metalearn_core.kinds.online.config import OnlineConfig
from metalearn_core.kinds.online.learners import (
    OnlineError,
    OnlineLearner,
    metalearned_learner,
    pretrained_from_run,
    scratch_learner,
)

DRAWING_RATE = 0.05  # one SGD step per drawing: large enough that a few drawings change the guesses


class DrawingLearner:
    """A network that learns the user's digits one drawing at a time (guess first, then learn).

    Args:
        learner: the network and its update rule.
        source: where it started, in words ("run 3 · base-3", "a fresh network").
    """

    def __init__(self, learner: OnlineLearner, source: str):
        self.learner, self.source = learner, source
        self.correct: list[bool] = []
        self.labels: list[int] = []
        self._pending: tuple[np.ndarray, int] | None = None

    @classmethod
    def start(cls, folder: Path | None, config: RunConfig | None, rate: float = DRAWING_RATE) -> DrawingLearner:
        """From a finished base run, a MAML / Meta-SGD / Reptile run (its meta-learned start) or,
        with no run, a fresh network; each learns by SGD at ``rate``."""
        if folder is None or config is None:
            return cls(scratch_learner("sgd", OnlineConfig(sgd_learning_rate=rate)), "a fresh network")
        name = f"run {Path(folder).name} · {config.name or config.kind}"
        if config.kind == "base":
            return cls(pretrained_from_run(Path(folder), config, rate), name)
        if config.kind == "fewshot":
            return cls(metalearned_learner(Path(folder), config, rate), name)
        raise OnlineError(f"drawings are learned by a base or few-shot run's network, not a {config.kind} run")

    @property
    def waiting(self) -> bool:
        """A drawing has been guessed and waits for its right digit."""
        return self._pending is not None

    def guess(self, image: np.ndarray) -> np.ndarray:
        """The (10,) digit probabilities of a (28, 28) drawing in [0, 1], with the weights as they are;
        the drawing then waits for :meth:`teach`."""
        image = np.asarray(image, np.float32)
        if image.shape != (28, 28):
            raise OnlineError(f"a drawing must be a 28x28 image, got shape {image.shape}")
        probabilities = self.learner.probabilities(image[None])[0]
        self._pending = (image, int(np.argmax(probabilities)))
        return probabilities

    def teach(self, label: int) -> bool:
        """Record whether the guess was ``label``, then learn one step from the drawing; returns the
        guess's correctness."""
        if self._pending is None:
            raise OnlineError("guess a drawing before teaching its digit")
        if not 0 <= int(label) <= 9:
            raise OnlineError(f"the digit must be 0-9, got {label}")
        image, guessed = self._pending
        self._pending = None
        self.learner.step(image[None], np.array([int(label)], np.int32))
        self.correct.append(guessed == int(label))
        self.labels.append(int(label))
        return self.correct[-1]

    @property
    def running_accuracy(self) -> float | None:
        """The share of right first guesses so far (None before the first taught drawing)."""
        return float(np.mean(self.correct)) if self.correct else None

    def curve(self) -> list[float]:
        """The running accuracy after each taught drawing."""
        return (np.cumsum(self.correct) / np.arange(1, len(self.correct) + 1)).tolist()
