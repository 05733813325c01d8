"""What the lab knows about one run kind: :class:`RunKind`, built once in each kind's ``__init__.py``.

A kind hands the rest of the lab callables ("hooks"), never names of modules: the run entry, the
predictor, the results reader, its command-line flags, its sweep settings and its diagram. Hooks
into heavy code (TensorFlow) are small functions in the kind's ``__init__.py`` that import that
code when called, so reading a kind stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from metalearn_core.config import KindSchema
from metalearn_core.kinds.summary_text import generic_lines
from metalearn_core.kinds.sweep_hooks import SweepHooks


class UnknownKind(ValueError):
    """A run kind that is not in the registry."""


@dataclass(frozen=True)
class RunKind(KindSchema):
    """A run kind: its schema (:class:`~metalearn_core.config.KindSchema`: name, section, uses,
    checks) plus its label and hooks.

    Args:
        label: how pickers show it.
        load_run: imports the kind's training code (and with it TensorFlow) and returns its entry,
            ``(config, data, reporter, folder) -> RunResult``.
        cli: its command-line module: ``FLAGS``, ``add_arguments(parser)``,
            ``apply_arguments(config, settings, args, from_file) -> config`` (a config of this kind) and ``summary_lines(summary)``.
        describe: a short text of a config's model ("dense 384 → dense 384").
        series_plan: the (series, epochs) the run goes through, for its overall progress.
        flatten_settings: its settings as flat ``{key: value}`` for Compare's tables (default: the
            saved fields, lists joined).
        predictor: ``(folder, config) -> Predictor`` of a finished run; None for kinds whose result
            does not classify the ten digits.
        results: ``(folder) -> dict | None``: the results a finished run saved in its folder (its
            ``results.py``'s ``read_results``), None while there are none.
        sweep: its sweep settings and objective (:class:`~metalearn_core.kinds.sweep_hooks.SweepHooks`,
            in its ``sweep.py``); None for a kind that cannot be swept.
        diagram: ``(base, meta, settings) -> Diagram`` (:mod:`metalearn_core.models.diagram`) of its
            networks, from the editors' networks and its section's values as a page gathers them (a
            config need not exist yet: the diagram also shows why one cannot be built); None for the
            base network alone.
        model_file: the file offered for download on Compare.
        results_file: the file its run writes in its folder once it has finished (``store recover``
            reads a folder holding one as a finished run).
        x_axis: what its live curves are drawn against.
        main_series: the metric series that stands for the run on Compare.
        page: the page whose editor launches it ("train", "fewshot", "online", "transfer").
    """

    label: str = ""
    load_run: Callable[[], Callable[..., Any]] | None = None
    cli: ModuleType | None = None
    describe: Callable[[Any], str] | None = None
    series_plan: Callable[[Any], list[tuple[str, int]]] | None = None
    flatten_settings: Callable[[Any], dict[str, object]] | None = None
    predictor: Callable[[Any, Any], Any] | None = None
    results: Callable[[Any], dict | None] | None = None
    sweep: SweepHooks | None = None
    diagram: Callable[[Any, Any, Any], Any] | None = None
    model_file: str = ""
    results_file: str = ""
    x_axis: str = "epoch"
    main_series: str = "train"
    page: str = "train"

    @property
    def classifies_digits(self) -> bool:
        """Its finished runs give the ten digit probabilities (Draw, the MNIST test-set tables)."""
        return self.predictor is not None

    def entry(self) -> Callable[..., Any]:
        """Its run function (imports the kind's training code, and TensorFlow)."""
        if self.load_run is None:
            raise UnknownKind(f"run kind {self.name!r} has no run entry")
        return self.load_run()

    def load_predictor(self, folder: Any, config: Any) -> Any:
        """Its digit predictor (see :func:`metalearn_core.predictor.load_predictor`)."""
        if self.predictor is None:
            raise UnknownKind(f"a {self.name} run does not classify digits")
        return self.predictor(folder, config)

    def read_results(self, folder: Any) -> dict | None:
        """What a run of this kind saved in ``folder``, read back by its ``results`` hook; None while it
        saved none, or for a kind without the hook. DamagedFile names a damaged file."""
        return self.results(folder) if self.results is not None else None

    def cli_module(self) -> ModuleType:
        if self.cli is None:
            raise UnknownKind(f"run kind {self.name!r} has no command-line flags")
        return self.cli

    def summary_lines(self, summary: Any) -> list[str]:
        """What its run's summary holds, as lines for the command line (its cli module's
        ``summary_lines``, else every number and text in it). A key the summary lacks is left out, so
        an interrupted run's empty summary gives no line."""
        lines = getattr(self.cli, "summary_lines", None)
        summary = summary if isinstance(summary, dict) else {}
        return lines(summary) if lines is not None else generic_lines(summary)
