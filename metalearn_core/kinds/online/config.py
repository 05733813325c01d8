"""The ``online`` kind's config section: which stream, which learners, how they learn from it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metalearn_core.config import ConfigError, check_choice, check_int, check_range

STREAMS = ("random", "rotate", "switch")
STREAM_LABELS = {
    "random": "MNIST in a random order",
    "rotate": "MNIST, digits slowly rotating (gradual drift)",
    "switch": "MNIST, then Fashion-MNIST from the middle on (sudden drift: a new task)",
}
LEARNERS = ("sgd", "adam", "pretrained", "metalearned")
LEARNER_LABELS = {
    "sgd": "from scratch, SGD",
    "adam": "from scratch, Adam",
    "pretrained": "pre-trained, fine-tuned",
    "metalearned": "meta-learned start",
}
# How the meta-learned learner steps: with the scratch SGD learner's rule (so the comparison isolates the
# starting point), or with the few-shot run's own inner step size (Meta-SGD: its learned rate per weight).
META_STEPS = ("sgd", "meta-learned")
MAX_LENGTH = 10_000  # the stream is drawn from the test split (10,000 images per domain)


@dataclass(frozen=True)
class OnlineConfig:
    """An online run: every learner meets the same stream, one small batch at a time, and is
    scored prequentially (each batch is predicted first, then learned from).

    ``stream`` is one of :data:`STREAMS`; ``length`` examples are drawn from the test split(s), so no
    learner's pre-training ever saw them. ``max_angle`` is the rotation reached at the end of a
    ``rotate`` stream. ``pretrained_run`` is a finished base run fine-tuned online (0 = pre-train a
    network like the scratch ones, inside the run, on ``pretrain_examples`` training images for
    ``pretrain_epochs``). ``fewshot_run`` is a finished MAML / Meta-SGD / Reptile run whose
    meta-learned start is adapted after every batch (the "metalearned" learner needs one), by plain
    SGD at ``sgd_learning_rate`` when ``meta_step`` is "sgd" (the default: those step sizes were
    meta-learned for a few large steps on one small support set, and thousands of them in a row
    diverge here: measured in bench/bench_online.py), or by the run's own inner step size(s).
    A point of every learner's curve is reported every ``report_every`` examples; ``window`` is the
    span of the recent-accuracy curve.
    """

    stream: str = "rotate"
    length: int = 3000
    batch_size: int = 1
    max_angle: float = 90.0
    learners: tuple[str, ...] = ("sgd", "adam", "pretrained")
    hidden: tuple[int, ...] = (100,)  # the scratch (and in-run pre-trained) network: small and dense, so fast
    sgd_learning_rate: float = 0.05
    adam_learning_rate: float = 1e-3
    finetune_learning_rate: float = 0.01
    pretrained_run: int = 0
    pretrain_examples: int = 2000
    pretrain_epochs: int = 3
    fewshot_run: int = 0
    meta_step: str = "sgd"
    report_every: int = 50
    window: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        where = "online"
        check_choice(where, "stream", self.stream, STREAMS)
        check_int(where, "stream length", self.length, 20, MAX_LENGTH)
        check_int(where, "batch size", self.batch_size, 1, 32)
        check_range(where, "maximum angle", self.max_angle, 0.0, 180.0)
        object.__setattr__(self, "learners", tuple(self.learners))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        self._check_learners(where)
        if not 1 <= len(self.hidden) <= 4:
            raise ConfigError(f"{where}: the scratch network needs 1 to 4 hidden layers, got {len(self.hidden)}")
        for width in self.hidden:
            check_int(where, "hidden width", width, 1, 1024)
        for name in ("sgd_learning_rate", "adam_learning_rate", "finetune_learning_rate"):
            check_range(where, name.replace("_", " "), getattr(self, name), 1e-6, 10.0)
        check_int(where, "pre-trained run", self.pretrained_run, 0, 2**31 - 1)
        check_int(where, "pre-training examples", self.pretrain_examples, 100, 50_000)
        check_int(where, "pre-training epochs", self.pretrain_epochs, 1, 50)
        check_int(where, "few-shot run", self.fewshot_run, 0, 2**31 - 1)
        check_choice(where, "meta-learned step", self.meta_step, META_STEPS)
        check_int(where, "report interval", self.report_every, 1, self.length)
        check_int(where, "window", self.window, 1, self.length)
        check_int(where, "seed", self.seed, 0, 2**31 - 1)

    def _check_learners(self, where: str) -> None:
        if not self.learners:
            raise ConfigError(f"{where}: choose at least one learner")
        for name in self.learners:
            check_choice(where, "learner", name, LEARNERS)
        if len(set(self.learners)) != len(self.learners):
            raise ConfigError(f"{where}: each learner may appear once, got {', '.join(self.learners)}")
        if "metalearned" in self.learners and not self.fewshot_run:
            raise ConfigError(f"{where}: the meta-learned learner starts from a finished few-shot run "
                              "(MAML, Meta-SGD or Reptile): choose one, or leave that learner out")

    @property
    def drift_at(self) -> int | None:
        """Where a sudden drift happens (the domain switch, at the middle); None for the other streams."""
        return self.length // 2 if self.stream == "switch" else None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["learners"], out["hidden"] = list(self.learners), list(self.hidden)
        return out


def describe(config: Any) -> str:
    settings = config.settings
    learners = ", ".join(LEARNER_LABELS[name] for name in settings.learners)
    return f"{settings.length:,} examples of {STREAM_LABELS[settings.stream]}, batch {settings.batch_size}: {learners}"


def check(config: Any) -> None:
    """The streams start from MNIST digits: an online run keeps the training dataset at MNIST."""
    if config.training.dataset != "mnist":
        raise ConfigError("online: the streams are made of MNIST digits (the switch stream adds Fashion-MNIST "
                          f"itself); set the training dataset to mnist, not {config.training.dataset}")
