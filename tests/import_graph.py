r"""Who imports whom in this project, read from the source with :mod:`ast` (nothing is imported).

Shared by the cycle test (``test_imports.py``) and the layer test (``test_layers.py``). An import counts
wherever it stands: at a module's top, inside a function or under ``if TYPE_CHECKING``.

Example:
    >>> source = "import json\nfrom metalearn_core.config import RunConfig\n"
    >>> source += "def f():\n    from metalearn_core import kinds\n"
    >>> known = {"metalearn_core", "metalearn_core.config", "metalearn_core.kinds"}
    >>> [(line, resolve(name, known)) for line, names, _ in import_statements(source) for name in names]
    [(1, None), (2, 'metalearn_core.config'), (4, 'metalearn_core.kinds')]
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "metalearn_core"


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of the module in ``path`` (a package's ``__init__.py`` is the package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path, root: Path = ROOT) -> str:
    """The dotted name of the package the module in ``path`` belongs to (relative imports start there)."""
    name = module_name(path, root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def all_modules() -> list[str]:
    return sorted(module_name(path) for path in PACKAGE.rglob("*.py") if path.name != "__main__.py")


def import_statements(source: str, package: str = "") -> Iterator[tuple[int, list[str], str | None]]:
    """Each import statement of ``source``: its line, the dotted names it imports, and for
    ``from package import name`` the package it imports them from (None for ``import a.b``).

    ``import a.b`` names ``a.b``; ``from a import b`` names ``a.b``, which is a module or a name
    defined in ``a`` (:func:`resolve` tells which). Relative imports are made absolute against
    ``package``, the dotted name of the package ``source`` belongs to (see :func:`package_of`).
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield node.lineno, [alias.name for alias in node.names], None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # "from . import x" is relative to the package, ".." to the one above it
                parts = package.split(".")
                base = ".".join(part for part in (*parts[: len(parts) - node.level + 1], base) if part)
            if base:
                yield node.lineno, [f"{base}.{alias.name}" for alias in node.names], base


def resolve(name: str, known: set[str]) -> str | None:
    """The longest prefix of ``name`` that is a module in ``known``; None for outside modules."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every metalearn_core module ``path`` imports, at its top or inside a function."""
    found = set()
    for _, names, package in import_statements(path.read_text(), package_of(path)):
        # "from package import module" imports the package (its __init__ runs) and the module. Every module
        # runs metalearn_core/__init__.py first, however it is imported: no edge says so.
        parents = [package] if package and package != PACKAGE.name else []
        for name in [*names, *parents]:
            target = resolve(name, known)
            if target:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = set(all_modules())
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        # A package's __init__ importing its own submodules is how packages work, not a cycle
        # (the fresh-interpreter test imports every module first, parents included).
        graph[name] = imported_modules(path, known) - {name}
    return graph
