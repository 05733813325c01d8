"""The source of a transfer run: a finished base run in the store, checked, and the run config built from it.

Light (no TensorFlow): the command line and the Train page call it before launching.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from metalearn_core.config import DATASETS, ConfigError, RunConfig, TrainingConfig
from metalearn_core.data.domains import DOMAIN_LABELS
from metalearn_core.kinds.transfer.config import TransferConfig
from metalearn_core.runs.store import Run, RunNotFound, RunStore

MODEL_FILE = "model.keras"


def source_run(store: RunStore, run_id: int) -> Run:
    """Run ``run_id`` when it is a completed base run with its saved network; ConfigError saying why not.

    Example:
        >>> source_run(store, 3).kind  # doctest: +SKIP
        'base'
    """
    try:
        run = store.get(run_id)
    except RunNotFound:
        raise ConfigError(f"transfer: source run {run_id} does not exist; choose a finished base run") from None
    if run.kind != "base":
        raise ConfigError(f"transfer: source run {run_id} is a {run.kind} run; transfer starts from a "
                          "finished base run")
    if run.status != "completed":
        raise ConfigError(f"transfer: source run {run_id} is {run.status}, not completed; wait for it to "
                          "finish or choose another")
    if run.config_error:
        raise ConfigError(f"transfer: source run {run_id} cannot be read ({run.config_error})")
    if not (run.folder / MODEL_FILE).is_file():
        raise ConfigError(f"transfer: source run {run_id} has no saved network ({MODEL_FILE} missing)")
    return run


def target_domain(source_dataset: str, target: str = "") -> str:
    """``target``, or when it is empty the other domain than ``source_dataset``.

    Example:
        >>> target_domain("mnist")
        'fashion_mnist'
    """
    if target:
        return target
    return next(name for name in DATASETS if name != source_dataset)


def transfer_config(store: RunStore, settings: TransferConfig, training: TrainingConfig | None = None,
                    name: str = "") -> RunConfig:
    """The run config of a transfer from ``settings.source_run``: the source's network, the target
    resolved, and ``training`` (default: the source's own settings) on the target domain.

    A source trained by a learned optimizer is fine-tuned with Adam (the learned optimizer is
    tied to its own network). Raises ConfigError when the source run cannot be used.
    """
    source = source_run(store, settings.source_run)
    source_config = source.config
    target = target_domain(source_config.training.dataset, settings.target)
    training = training or source_config.training
    changes: dict[str, Any] = {"dataset": target}
    if training.optimizer == "learned":
        changes.update(optimizer="adam", learned_optimizer_run=0)
    training = dataclasses.replace(training, **changes)
    settings = dataclasses.replace(settings, target=target)
    name = name or f"run {source.id} → {DOMAIN_LABELS[target]}"
    return RunConfig(kind="transfer", name=name, base=source_config.base, training=training, settings=settings)
