"""Recommended settings of every few-shot method for a 2-core CPU and 300 s of meta-training.

The papers' values assume a GPU and tens of thousands of meta-iterations; here a method gets a few
hundred to a few thousand, so several values differ on purpose. Each difference is explained next
to the field. ``bench/bench_fewshot.py`` and the dashboard both read their defaults from here
(command-line flags and widgets still override them).

What these settings score (5-way, 15 queries, 600 episodes of held-out digits 5-9) is in
``docs/benchmarks.md``, "Few-shot".

Example:
    >>> from metalearn_core.kinds.fewshot.algorithms.defaults import DEFAULTS
    >>> DEFAULTS["maml"].inner_lr
    0.05
    >>> maml = MAML(NetworkSpec.conv(DEFAULTS["maml"].filters), ways=5,  # doctest: +SKIP
    ...             **DEFAULTS["maml"].learner_kwargs())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metalearn_core.config import ConfigError, check_positive, check_range

# Wall-clock seconds of meta-training per method (pre-training included for Meta-Baseline).
BUDGET_SECONDS = 300.0
# Evaluation episodes: 5-way, 15 queries per class, 1-shot and 5-shot (the usual few-shot report).
TEST_WAYS, TEST_QUERIES, TEST_SHOTS = 5, 15, (1, 5)


@dataclass(frozen=True)
class GradientSettings:
    """MAML, first-order MAML and Meta-SGD (Finn et al. 2017; Li et al. 2017).

    Attributes:
        filters, blocks: the conv network (``NetworkSpec.conv``). Papers: 64 filters, 4 blocks;
            32 filters run about 3x faster on a CPU and 4 blocks keep the head small.
        inner_lr: inner step size (Meta-SGD: the initial value of every learned rate). Paper: 0.4.
            With transductive batch norm on 1x1 feature maps the first gradient is large (norm
            ~10 per conv kernel), so a 0.4 step multiplies the support loss by 2-4 instead of
            lowering it; second-order MAML can slowly learn around that, first-order MAML cannot
            (it stayed at chance). 0.05 lowers both support and query loss from the first step.
        inner_steps: inner steps in meta-training. Paper: 1 (Omniglot) to 5; 1 gives the most
            meta-iterations per second.
        eval_steps: inner steps at evaluation. Paper: 3 (Omniglot) to 10; with the small step
            size, 10 steps are worth 5-20 points over 1 step.
        meta_lr: Adam's step on the initialisation. Paper: 1e-3.
        meta_batch_size: tasks per meta-update. Paper: 32 (Omniglot); 4 gives 8x more updates
            in the same time, which matters more with only a few hundred updates.
        train_ways, train_shots, train_queries: meta-training episodes. One model serves both
            test settings: it is trained once on 5-shot episodes (training 1-shot episodes gave
            noisier meta-gradients and lower 5-shot accuracy in the same time).
    """

    filters: int = 32
    blocks: int = 4
    inner_lr: float = 0.05
    inner_steps: int = 1
    eval_steps: int = 10
    meta_lr: float = 1e-3
    meta_batch_size: int = 4
    train_ways: int = 5
    train_shots: tuple[int, ...] = (5,)
    train_queries: int = 15

    def __post_init__(self) -> None:
        check_positive(type(self).__name__, "inner_lr", self.inner_lr)
        check_positive(type(self).__name__, "meta_lr", self.meta_lr)

    def learner_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``MAML(spec, ways, **kwargs)`` / ``MetaSGD`` (add ``first_order``)."""
        return {"inner_lr": self.inner_lr, "inner_steps": self.inner_steps,
                "eval_steps": self.eval_steps, "meta_lr": self.meta_lr}


@dataclass(frozen=True)
class ReptileSettings:
    """Reptile (Nichol et al. 2018) with an SGD inner loop.

    Attributes:
        filters, blocks: as for :class:`GradientSettings`.
        inner_lr: SGD inner step. Paper: Adam at 1e-3 (beta1 = 0); plain SGD at 0.1 keeps the
            inner loop one shared function and needs no optimiser state.
        inner_steps: inner steps per training task. Paper: 5 (Omniglot). Kept.
        eval_steps: inner steps at evaluation. Paper: 50; 10 reach nearly the same accuracy at
            a fifth of the evaluation time.
        outer_lr: initial epsilon, annealed linearly to 0 over the wall-time budget. Paper: 1.0.
        meta_batch_size: tasks per outer step. Paper: 5. Kept.
        train_ways, train_shots, train_queries: the inner loop trains on support + query, so a
            5-shot, 15-query task is 20 images per class (the paper samples 10-15 for training).
    """

    filters: int = 32
    blocks: int = 4
    inner_lr: float = 0.1
    inner_steps: int = 5
    eval_steps: int = 10
    outer_lr: float = 1.0
    meta_batch_size: int = 5
    train_ways: int = 5
    train_shots: tuple[int, ...] = (5,)
    train_queries: int = 15

    def __post_init__(self) -> None:
        check_positive(type(self).__name__, "inner_lr", self.inner_lr)
        check_positive(type(self).__name__, "outer_lr", self.outer_lr)

    def learner_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Reptile(spec, ways, **kwargs)`` (add ``total_iterations``)."""
        return {"inner_lr": self.inner_lr, "inner_steps": self.inner_steps,
                "eval_steps": self.eval_steps, "outer_lr": self.outer_lr}


@dataclass(frozen=True)
class PrototypeSettings:
    """Prototypical Networks (Snell et al. 2017) and Meta-Baseline (Chen et al. 2021).

    Attributes:
        filters, blocks: the Keras conv embedding (conv3x3 -> relu -> batch norm -> max-pool).
            Papers: 64 filters, 4 blocks. 64 filters (or 3 blocks with 64) gave about a third of
            the episodes in the same time and lower accuracy after 60 s.
        train_ways: ways of a training episode. Snell et al.: 60 on Omniglot ("more ways than
            test"); all 20 meta-training classes here.
        train_shots: shots of a training episode, one drawn per episode. Snell et al. match the
            test shots; one model is trained here for both settings, on 5-shot episodes.
        train_queries: queries per class. Snell et al.: 5 on Omniglot. Kept.
        learning_rate: Adam's step. Snell et al.: 1e-3. Meta-Baseline uses it for its episodic
            stage too (the paper: SGD at 1e-3). Measured: after 100 s of pre-training, 200 s of
            episodic training at 1e-3 fitted the 20 training classes (99% training accuracy) and
            transferred worse to digits 5-9 than the classifier alone; a smaller step is the first
            thing to try (not measured yet).
        pretrain_fraction: Meta-Baseline only: share of the budget spent pre-training the
            classifier before episodic training (the paper trains both stages to convergence).
        pretrain_batch_size, pretrain_learning_rate: the classifier stage (Adam; the paper: SGD).
        temperature: Meta-Baseline's initial learned temperature. Paper: 10. Kept.
    """

    filters: int = 32
    blocks: int = 4
    train_ways: int = 20
    train_shots: tuple[int, ...] = (5,)
    train_queries: int = 5
    learning_rate: float = 1e-3
    pretrain_fraction: float = 0.0
    pretrain_batch_size: int = 64
    pretrain_learning_rate: float = 1e-3
    temperature: float = 10.0

    def __post_init__(self) -> None:
        where = type(self).__name__
        check_positive(where, "learning_rate", self.learning_rate)
        check_positive(where, "temperature", self.temperature)
        check_range(where, "pretrain_fraction", self.pretrain_fraction, 0.0, 1.0)
        if self.pretrain_fraction == 1.0:
            raise ConfigError(f"{where}: pretrain_fraction must be below 1 (the episodic stage needs some of the "
                              "budget), got 1")


DEFAULTS: dict[str, Any] = {
    "pretrain": PrototypeSettings(),  # the baseline: only the pretrain_* fields matter
    "protonet": PrototypeSettings(),
    "meta_baseline": PrototypeSettings(pretrain_fraction=1 / 3),
    "maml": GradientSettings(),
    "fomaml": GradientSettings(),
    "metasgd": GradientSettings(),
    "reptile": ReptileSettings(),
}
