"""The ``stacked`` kind's config section: the base learners and how the meta network sees them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metalearn_core.config import ConfigError, NetworkConfig, check_choice, check_int, check_range

LEARNER_KINDS = ("network", "random_forest", "svm")
META_INPUTS = ("probabilities", "logits", "logits+features")


@dataclass(frozen=True)
class LearnerConfig:
    """One base learner of a stacked run: a neural network or a scikit-learn model.

    A ``network`` learner with ``network=None`` uses the run's base network. ``max_samples`` caps
    the training images of a scikit-learn learner (an RBF SVM is quadratic in them); 0 means all.
    """

    kind: str = "network"
    network: NetworkConfig | None = None
    max_samples: int = 0

    def __post_init__(self) -> None:
        check_choice("stacking learner", "kind", self.kind, LEARNER_KINDS)
        check_int("stacking learner", "max samples", self.max_samples, 0, 10_000_000)
        if self.network is not None:
            if self.kind != "network":
                raise ConfigError(f"stacking learner: a {self.kind} learner takes no network")
            self.network.validate("stacking learner")

    def label(self, index: int) -> str:
        return f"base {index + 1} ({self.kind.replace('_', ' ')})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "max_samples": self.max_samples}
        if self.network is not None:
            out["network"] = self.network.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnerConfig:
        network = data.get("network")
        return cls(
            kind=data.get("kind", "network"),
            network=NetworkConfig.from_dict(network) if network is not None else None,
            max_samples=data.get("max_samples", 0),
        )


@dataclass(frozen=True)
class StackingConfig:
    """Stacked generalisation (Wolpert 1992): how the meta network sees the base learners.

    The meta network learns only from base outputs on images the base learners did not train on:
    with ``folds == 1`` a held-out fraction of the training split, otherwise out-of-fold
    predictions from ``folds``-fold cross-fitting (each learner is then trained folds + 1 times).
    """

    learners: tuple[LearnerConfig, ...] = (LearnerConfig("network"), LearnerConfig("random_forest"))
    meta_input: str = "probabilities"
    holdout_fraction: float = 0.2
    folds: int = 1
    meta_epochs: int = 20
    # The meta network is small and its standardised inputs are well conditioned: a larger step
    # and smaller batches than the base network's let it converge in a few seconds.
    meta_learning_rate: float = 1e-2
    meta_batch_size: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "learners", tuple(self.learners))
        where = "stacking"
        if not 1 <= len(self.learners) <= 6:
            raise ConfigError(f"{where}: use between 1 and 6 base learners, got {len(self.learners)}")
        check_choice(where, "meta input", self.meta_input, META_INPUTS)
        check_range(where, "held-out fraction", self.holdout_fraction, 0.05, 0.5)
        check_int(where, "folds", self.folds, 1, 10)
        check_int(where, "meta epochs", self.meta_epochs, 1, 500)
        check_range(where, "meta learning rate", self.meta_learning_rate, 1e-7, 10.0)
        check_int(where, "meta batch size", self.meta_batch_size, 1, 8192)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["learners"] = [learner.to_dict() for learner in self.learners]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackingConfig:
        fields = dict(data)
        fields["learners"] = tuple(LearnerConfig.from_dict(x) for x in data.get("learners", []))
        return cls(**fields)


def describe(config: Any) -> str:
    return " + ".join(learner.kind.replace("_", " ") for learner in config.settings.learners)


def series_plan(config: Any) -> list[tuple[str, int]]:
    """The (series, epochs) a stacked run goes through: each learner (per fold), then the meta network."""
    plan = []
    stacking = config.settings
    for index, learner in enumerate(stacking.learners):
        label = learner.label(index)
        epochs = config.training.epochs if learner.kind == "network" else 1
        names = [label] if stacking.folds == 1 else [f"{label} fold {k + 1}" for k in range(stacking.folds)]
        names += [] if stacking.folds == 1 else [f"{label} (all)"]
        plan += [(name, epochs) for name in names]
    return plan + [("meta", stacking.meta_epochs)]


def flatten(stacking: StackingConfig) -> dict[str, object]:
    """The settings as flat keys for Compare: the learners' kinds joined by ", ", and a learner with
    a network of its own or a sample cap as ``learner_<n>.network`` / ``.max_samples``, so two configs
    that train differently never flatten alike."""
    flat: dict[str, object] = {"learners": ", ".join(learner.kind for learner in stacking.learners)}
    for number, learner in enumerate(stacking.learners, start=1):
        if learner.network is not None:
            flat[f"learner_{number}.network"] = learner.network.describe()
        if learner.max_samples:
            flat[f"learner_{number}.max_samples"] = learner.max_samples
    for item in dataclasses.fields(stacking):
        if item.name != "learners":
            flat[item.name] = getattr(stacking, item.name)
    return flat
