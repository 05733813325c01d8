"""Run kinds: one folder each, listed in one registry.

A run kind is a package ``metalearn_core/kinds/<name>/`` with the same shape:

==============  ==========================================================================
``__init__.py``  ``KIND = RunKind(...)``: its label, config section, checks and hooks
                 (:class:`~metalearn_core.kinds.kind.RunKind`); imports no TensorFlow
``config.py``    its config section (a frozen dataclass, ``RunConfig.settings``) and its
                 cross-checks of the whole run config
``run.py``       its entry, ``(config, data, reporter, folder) -> RunResult``, called by the
                 worker process (imports TensorFlow)
``results.py``   reading its saved results back, and its figure builders
``cli.py``       its command-line flags and what ``runs show`` prints of its summary
``diagram.py``   its networks' shapes and parameter counts (``KIND.diagram``), where it has
                 networks of its own; made of :mod:`metalearn_core.models.diagram`'s parts
``sweep.py``     what a sweep of its runs may vary and score (``KIND.sweep``, a
                 :class:`~metalearn_core.kinds.sweep_hooks.SweepHooks`), for a kind that can be swept
==============  ==========================================================================

The worker, the command line, the config, the sweeps, the Compare tables and the pages look a kind up here
(:func:`get`) instead of comparing its name. **Adding a kind is a new folder plus one line in**
:data:`REGISTRY`.

Example:
    >>> get("fewshot").section
    'fewshot'
    >>> names()[:2]
    ('base', 'stacked')
"""

from __future__ import annotations

from metalearn_core.config import register_kind, unregister_kind
from metalearn_core.kinds import base, fewshot, learned_optimizer, online, stacked, transfer
from metalearn_core.kinds.kind import RunKind, UnknownKind

REGISTRY: dict[str, RunKind] = {}


def register(kind: RunKind) -> RunKind:
    """Add ``kind`` to the registry (and to what run configs know)."""
    register_kind(kind)
    REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (tests that register a toy kind clean up with this)."""
    REGISTRY.pop(name, None)
    unregister_kind(name)


for _package in (base, stacked, fewshot, learned_optimizer, online, transfer):
    register(_package.KIND)


def names() -> tuple[str, ...]:
    """The registered kinds' names, in registry order."""
    return tuple(REGISTRY)


def get(name: str) -> RunKind:
    """The kind called ``name``; UnknownKind for any other name."""
    if name not in REGISTRY:
        raise UnknownKind(f"unknown run kind {name!r}; the kinds are {', '.join(REGISTRY)}")
    return REGISTRY[name]


def all_kinds() -> list[RunKind]:
    return list(REGISTRY.values())


def sections() -> dict[str, type]:
    """Config section name -> its dataclass, for every kind that has one, in registry order."""
    return {kind.section: kind.section_class for kind in all_kinds() if kind.section}


def results_files() -> tuple[str, ...]:
    """The files a run writes once it has finished, over every kind (``store recover`` reads them)."""
    return tuple(dict.fromkeys(kind.results_file for kind in all_kinds() if kind.results_file))


__all__ = ["RunKind", "UnknownKind", "all_kinds", "get", "names", "register", "results_files", "sections",
           "unregister"]
