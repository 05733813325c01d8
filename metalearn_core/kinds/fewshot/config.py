"""The ``fewshot`` kind's config section: which learner, what episodes, how long to meta-train."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metalearn_core.config import DATASETS, ConfigError, check_choice, check_int, check_range
from metalearn_core.kinds.fewshot.episodes import EpisodeConfig

FEWSHOT_ALGORITHMS = ("protonet", "maml", "fomaml", "metasgd", "reptile")
DOMAIN_SHORT = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}  # DATASETS' short names, for labels


@dataclass(frozen=True)
class FewShotConfig:
    """A few-shot meta-learning run: which learner, what episodes, how long to meta-train.

    The learner's network is the run's base network. Meta-training uses ``ways``-way
    ``shots``-shot episodes of the training digits (and their rotations, as extra classes);
    at the end the learner is scored on ``evaluation_episodes`` fixed episodes of the test digits
    from the test split, both 1-shot and 5-shot, beside the pixel and pre-train baselines.
    ``time_budget`` (seconds, 0 = none) stops meta-training early, whichever comes first with
    ``iterations``. ``baseline_seconds`` trains the pre-train-then-adapt baseline (0 skips it).
    Per-algorithm recommended values: :func:`metalearn_core.kinds.fewshot.setup.recommended_settings`.

    Domains (:data:`metalearn_core.config.DATASETS`): meta-training draws ``train_digits`` of
    ``train_domain``; validation and evaluation draw ``test_digits`` of ``eval_domain``. The classes
    are the same whether or not the domains differ, so a cross-domain run (say MNIST digits 0-4 ->
    Fashion-MNIST classes 5-9) is scored on exactly the stored episodes an in-domain run of its
    evaluation domain is scored on, and only the domain of meta-training changes between the two.

    Example:
        >>> FewShotConfig(train_domain="mnist", eval_domain="fashion_mnist").cross_domain
        True
    """

    # Defaults: the measured settings of kinds/fewshot/algorithms/defaults.py (see recommended_settings).
    algorithm: str = "protonet"
    ways: int = 5
    shots: int = 5  # one model is trained on 5-shot episodes and scored 1-shot and 5-shot
    queries: int = 5
    train_ways: int = 20  # ProtoNet trains with more ways than it is tested on (Snell et al. 2017)
    inner_lr: float = 0.05  # 0.4 (the paper's) raises the loss with transductive batch norm here
    inner_steps: int = 1
    eval_inner_steps: int = 10
    meta_learning_rate: float = 1e-3
    meta_batch_size: int = 4
    iterations: int = 100_000
    time_budget: float = 300.0
    rotations: bool = True
    train_digits: tuple[int, ...] = (0, 1, 2, 3, 4)
    test_digits: tuple[int, ...] = (5, 6, 7, 8, 9)
    validation_every: int = 100
    validation_episodes: int = 40
    evaluation_episodes: int = 200
    baseline_seconds: float = 60.0
    seed: int = 0
    train_domain: str = "mnist"  # where meta-training (and the pre-train baseline) takes its classes
    eval_domain: str = "mnist"  # where the validation and evaluation episodes come from

    def __post_init__(self) -> None:
        where = "few-shot"
        check_choice(where, "algorithm", self.algorithm, FEWSHOT_ALGORITHMS)
        check_int(where, "ways", self.ways, 2, 10)
        check_int(where, "shots", self.shots, 1, 20)
        check_int(where, "queries", self.queries, 1, 50)
        check_int(where, "training ways", self.train_ways, 2, 40)
        check_range(where, "inner learning rate", self.inner_lr, 1e-5, 10.0)
        check_int(where, "inner steps", self.inner_steps, 1, 20)
        check_int(where, "evaluation inner steps", self.eval_inner_steps, 1, 50)
        check_range(where, "meta learning rate", self.meta_learning_rate, 1e-6, 1.0)
        check_int(where, "meta-batch size", self.meta_batch_size, 1, 64)
        check_int(where, "iterations", self.iterations, 1, 1_000_000)
        check_range(where, "time budget", self.time_budget, 0.0, 86_400.0)
        check_int(where, "validation interval", self.validation_every, 1, 100_000)
        check_int(where, "validation episodes", self.validation_episodes, 1, 1000)
        check_int(where, "evaluation episodes", self.evaluation_episodes, 10, 5000)
        check_range(where, "baseline seconds", self.baseline_seconds, 0.0, 86_400.0)
        check_int(where, "seed", self.seed, 0, 2**31 - 1)
        check_choice(where, "meta-training domain", self.train_domain, DATASETS)
        check_choice(where, "evaluation domain", self.eval_domain, DATASETS)
        if not isinstance(self.rotations, bool):
            raise ConfigError(f"{where}: rotations must be true or false, got {self.rotations!r}")
        for name in ("train_digits", "test_digits"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self.episodes()  # checks the digits, the split and that the ways fit it

    @property
    def cross_domain(self) -> bool:
        """Whether the evaluation domain differs from the meta-training domain."""
        return self.train_domain != self.eval_domain

    def episodes(self, shots: int | None = None):
        """The :class:`~metalearn_core.kinds.fewshot.episodes.EpisodeConfig` of this run (``shots`` overrides)."""
        return EpisodeConfig(ways=self.ways, shots=self.shots if shots is None else shots,
                             queries=self.queries, train_digits=self.train_digits,
                             test_digits=self.test_digits, rotations=self.rotations, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["train_digits"], out["test_digits"] = list(self.train_digits), list(self.test_digits)
        return out


def domains_label(settings: FewShotConfig) -> str:
    """``"MNIST → Fashion-MNIST"`` for a cross-domain run, ``"MNIST"`` in-domain.

    Example:
        >>> domains_label(FewShotConfig(train_domain="fashion_mnist"))
        'Fashion-MNIST → MNIST'
    """
    if settings.cross_domain:
        return f"{DOMAIN_SHORT[settings.train_domain]} → {DOMAIN_SHORT[settings.eval_domain]}"
    return DOMAIN_SHORT[settings.eval_domain]


def describe(config: Any) -> str:
    settings = config.settings
    return (f"{settings.algorithm} ({domains_label(settings)}) on "
            + " → ".join(layer.describe() for layer in config.base.layers))
