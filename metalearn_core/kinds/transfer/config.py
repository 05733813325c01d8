"""The ``transfer`` kind's config section: which finished base run to carry to which domain, and how.

A transfer run takes a finished base run's network, trained on one domain (MNIST digits or
Fashion-MNIST clothes), and trains it on the other domain from a few labelled examples per class,
beside the same network trained from scratch on the same examples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metalearn_core.config import DATASETS, ConfigError, check_int

# "frozen": the source's layers are kept as they are and only a new head learns;
# "all": every layer is fine-tuned from the source's weights. "scratch" (fresh weights, the same
# network) is always trained as the baseline.
TRANSFER_MODES = ("frozen", "all")
BASELINE = "scratch"
MAX_SHOTS = 6000  # the smallest Fashion-MNIST / MNIST training class has 5421 images; 0 means all


@dataclass(frozen=True)
class TransferConfig:
    """A transfer run: the learning curve of a finished base run carried to another domain.

    For each number of labelled examples per class in ``shots`` (0 = the whole training split) and
    each mode (``modes`` plus the ``scratch`` baseline), the network is trained ``repeats`` times on
    a class-balanced sample of the target domain's training split (the sample of repeat r is fixed by
    the run's seed + r, and the same for every mode) and scored on the target's test split.
    Each point trains for ``epochs`` passes over its sample but at least ``min_steps`` optimizer
    steps, so a 1-shot sample (10 images) still gets enough updates.
    ``target`` "" means the other domain of the source run's.

    Example:
        >>> TransferConfig(source_run=3, shots=(1, 5)).all_modes()
        ('scratch', 'frozen', 'all')
    """

    source_run: int = 0
    target: str = ""
    modes: tuple[str, ...] = TRANSFER_MODES
    shots: tuple[int, ...] = (1, 5, 20, 100, 0)
    repeats: int = 2
    epochs: int = 2
    min_steps: int = 200  # a new head on frozen features needs a few hundred steps even for ten images

    def __post_init__(self) -> None:
        where = "transfer"
        check_int(where, "source run", self.source_run, 0, 2**31 - 1)
        if self.target and self.target not in DATASETS:
            raise ConfigError(f"{where}: target must be one of {', '.join(DATASETS)} (or empty for the "
                              f"other domain), got {self.target!r}")
        object.__setattr__(self, "modes", tuple(self.modes))
        object.__setattr__(self, "shots", tuple(self.shots))
        for mode in self.modes:
            if mode not in TRANSFER_MODES:
                raise ConfigError(f"{where}: each mode must be one of {', '.join(TRANSFER_MODES)} "
                                  f"(scratch is always trained), got {mode!r}")
        if len(set(self.modes)) != len(self.modes):
            raise ConfigError(f"{where}: a mode is listed twice in {', '.join(self.modes)}")
        if not self.shots:
            raise ConfigError(f"{where}: give at least one number of examples per class")
        for shots in self.shots:
            check_int(where, "examples per class", shots, 0, MAX_SHOTS)
        if len(set(self.shots)) != len(self.shots):
            raise ConfigError(f"{where}: a number of examples per class is listed twice")
        check_int(where, "repeats", self.repeats, 1, 20)
        check_int(where, "epochs", self.epochs, 1, 100)
        check_int(where, "minimum steps", self.min_steps, 1, 100_000)

    def all_modes(self) -> tuple[str, ...]:
        """The baseline first, then the transfer modes."""
        return (BASELINE, *self.modes)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["modes"], out["shots"] = list(self.modes), list(self.shots)
        return out


def check(config: Any) -> None:
    """A transfer run needs the finished base run it starts from."""
    if not config.settings.source_run:
        raise ConfigError("transfer: choose the source run, a finished base run whose network is carried "
                          "to the other domain")


def describe(config: Any) -> str:
    settings = config.settings
    target = settings.target or "the other domain"
    return f"run {settings.source_run} → {target}: " + " → ".join(layer.describe() for layer in config.base.layers)


def shots_label(shots: int) -> str:
    """``0`` -> ``"all"``, else the number."""
    return "all" if shots == 0 else str(shots)
