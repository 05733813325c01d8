"""Run kinds: one folder each, found by name in one registry.

A run kind is a package ``metalearn_core/kinds/<name>/`` with the same shape:

==============  ==========================================================================
``__init__.py``  ``KIND = RunKind(...)``: what the rest of the lab needs to know about the
                 kind (its label, its config section, its checks); imports no TensorFlow
``config.py``    its config section (a frozen dataclass, saved under its name in every run's
                 JSON) and its cross-checks of the whole run config
``run.py``       its entry, ``(config, data, reporter, folder) -> RunResult``: what the worker
                 process calls (imports TensorFlow)
``report.py``    reading its saved results back, and its figure builders
``cli.py``       its command-line flags: ``add_arguments(parser)`` and
                 ``apply_arguments(config, args, from_file) -> config``; and
                 ``summary_lines(summary) -> list[str]``, what ``runs show`` prints of a run's summary
==============  ==========================================================================

The worker, the command line, the config, the Compare tables and the pages look a kind up here
(:func:`get`) instead of comparing its name. **Adding a kind is a new folder plus one line in**
:data:`REGISTRY`. The registry names packages, not objects, and imports a kind only when it is
asked for, so any module may read it without an import cycle.

Example:
    >>> get("fewshot").section
    'fewshot'
    >>> names()[:2]
    ('base', 'stacked')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REGISTRY: dict[str, str] = {
    "base": "metalearn_core.kinds.base",
    "stacked": "metalearn_core.kinds.stacked",
    "fewshot": "metalearn_core.kinds.fewshot",
    "learned_optimizer": "metalearn_core.kinds.learned_optimizer",
    "online": "metalearn_core.kinds.online",
    "transfer": "metalearn_core.kinds.transfer",
}


class UnknownKind(ValueError):
    """A run kind that is not in the registry."""


def _resolve(reference: str) -> Any:
    """The object named by ``"package.module:attribute"``, imported now."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _nothing(config: Any) -> None:
    return None


@dataclass(frozen=True)
class RunKind:
    """What the lab knows about one run kind. References to heavy code are strings
    (``"module:function"``), resolved on use, so reading a kind imports no TensorFlow.

    Args:
        name: the kind's name, stored with every run ("base").
        label: how pickers show it.
        run: ``"module:function"`` of its entry ``(config, data, reporter, folder) -> RunResult``.
        section: the attribute of :class:`~metalearn_core.config.RunConfig` (and key of the JSON)
            that holds its own settings, "" for none.
        section_class: the frozen dataclass of that section.
        uses: the parts of a run config the kind reads; the others do not tell two of its runs apart.
        check: raises ConfigError for a run config this kind cannot run (called at construction).
        describe: a short text of a config's model ("dense 384 → dense 384").
        series_plan: the (series, epochs) the run goes through, for its overall progress.
        cli: the module with its command-line flags.
        predictor: ``"module:function"`` loading a digit predictor from a finished run's folder;
            "" for kinds whose result does not classify the ten digits.
        model_file: the file offered for download on Compare.
        x_axis: what its live curves are drawn against.
        main_series: the metric series that stands for the run on Compare.
        page: the page whose editor launches it ("train" or "fewshot").
        accepts_learned_optimizer: its network may be trained by a learned optimizer.
        meta_reads_base_outputs: its meta network reads the base learners' outputs (validated as such).
    """

    name: str
    label: str
    run: str
    section: str = ""
    section_class: type | None = None
    uses: tuple[str, ...] = ("base", "training")
    check: Callable[[Any], None] = _nothing
    describe: Callable[[Any], str] | None = None
    series_plan: Callable[[Any], list[tuple[str, int]]] | None = None
    cli: str = ""  # every kind has one (tests/unit/test_imports.py checks the shape)
    predictor: str = ""
    model_file: str = ""
    x_axis: str = "epoch"
    main_series: str = "train"
    page: str = "train"
    accepts_learned_optimizer: bool = False
    meta_reads_base_outputs: bool = False

    @property
    def classifies_digits(self) -> bool:
        """Its finished runs give the ten digit probabilities (Draw, the MNIST test-set tables)."""
        return bool(self.predictor)

    def entry(self) -> Callable:
        """Its run function (imports the kind's training code, and with it TensorFlow)."""
        return _resolve(self.run)

    def load_predictor(self, folder: Any, config: Any) -> Any:
        """Its digit predictor (see :func:`metalearn_core.predictor.load_predictor`)."""
        return _resolve(self.predictor)(folder, config)

    def cli_module(self) -> Any:
        return importlib.import_module(self.cli)

    def summary_lines(self, summary: Any) -> list[str]:
        """What its run's summary holds, as lines for the command line (its cli module's
        ``summary_lines``, else every number and text in it). A key the summary lacks is left out, so
        an interrupted run's empty summary gives no line."""
        from metalearn_core.kinds.summary_text import generic_lines

        lines = getattr(self.cli_module(), "summary_lines", None)
        summary = summary if isinstance(summary, dict) else {}
        return lines(summary) if lines is not None else generic_lines(summary)


def names() -> tuple[str, ...]:
    """The registered kinds' names, in registry order."""
    return tuple(REGISTRY)


def get(name: str) -> RunKind:
    """The kind called ``name``; UnknownKind for any other name."""
    if name not in REGISTRY:
        raise UnknownKind(f"unknown run kind {name!r}; the kinds are {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name]).KIND


def all_kinds() -> list[RunKind]:
    return [get(name) for name in REGISTRY]


def sections() -> dict[str, type]:
    """Config section name -> its dataclass, for every kind that has one, in registry order."""
    return {kind.section: kind.section_class for kind in all_kinds() if kind.section}
