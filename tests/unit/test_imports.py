"""No import cycles in metalearn_core, no unexplained import inside a function, and the registry's kinds all have
the same shape."""

import ast
import importlib
import random
import re
import subprocess
import sys

import pytest
from busy_machine import scaled
from import_graph import PACKAGE, ROOT, all_modules, import_graph

from metalearn_core import kinds


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 40  # every module was found
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["metalearn_core.config"] = graph["metalearn_core.config"] | {"metalearn_core.kinds.fewshot.episodes"}
    cycle = find_cycle(graph)
    assert cycle[0] == cycle[-1] and "metalearn_core.config" in cycle


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter_in_random_orders():
    modules = all_modules()
    for seed in range(3):
        order = random.Random(seed).sample(modules, len(modules))
        code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        result = subprocess.run([sys.executable, "-c", code, *order], cwd=ROOT, capture_output=True, text=True,
                                timeout=scaled(300))
        assert result.returncode == 0, f"order seed {seed}: {result.stderr[-2000:]}"


def test_light_modules_do_not_import_tensorflow():
    """The pages read these while drawing their widgets: TensorFlow must stay out of them."""
    light = ["metalearn_core.config", "metalearn_core.kinds", "metalearn_core.session", "metalearn_core.analysis",
             "metalearn_core.figures", "metalearn_core.presets", "metalearn_core.runs.store",
             "metalearn_core.runner", "metalearn_core.data.mnist", "metalearn_core.models.diagram",
             *(f"metalearn_core.kinds.{name}{part}" for name in kinds.names()
               for part in ("", ".cli", ".config", ".results"))]
    code = ("import sys\nfor name in sys.argv[1:]:\n    __import__(name)\n"
            "from metalearn_core import kinds\n[k.section_class for k in kinds.all_kinds()]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    result = subprocess.run([sys.executable, "-c", code, *light], cwd=ROOT, capture_output=True, text=True, timeout=scaled(120))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", kinds.names())
def test_each_kind_has_the_same_shape(name):
    folder = PACKAGE / "kinds" / name
    assert {"__init__.py", "config.py", "run.py", "results.py", "cli.py"} <= {p.name for p in folder.iterdir()}
    kind = kinds.get(name)
    assert kind.name == name and kind.label
    assert callable(kind.entry())
    assert kind.results(PACKAGE / "no-such-run") is None  # its results reader: nothing saved there
    cli = kind.cli_module()
    assert callable(cli.add_arguments) and callable(cli.apply_arguments) and isinstance(cli.FLAGS, tuple)
    if kind.section:
        assert kind.section_class is not None and kind.section in kind.uses
    views = importlib.import_module(f"dashboard.kinds.{name}")
    assert callable(views.results)
    if kind.page == "train":
        assert callable(views.meta_settings) and callable(views.training_settings)


# An import inside a function must say which boundary it keeps: a heavy module (TensorFlow, Keras, pandas, plotly,
# Optuna, SciPy, scikit-learn) that the light modules load only on use, an optional dependency (Dask, psycopg,
# fsspec), or an import cycle the layering cannot break yet. Any other import belongs at its module's top.
BOUNDARY = re.compile(r"#.*\b(heavy|optional|cycle|runtime):")
HIDDEN_IMPORT_FOLDERS = ("metalearn_core", "dashboard", "pages")


def unexplained_inner_imports(source: str) -> list[int]:
    """The lines of the imports inside a function of ``source`` that carry no boundary comment
    (``# heavy: ...``, ``# optional: ...``, ``# runtime: ...`` or ``# cycle: ...`` on one of the statement's lines).

    Example:
        >>> unexplained_inner_imports("def f():\n    import json\n    import pandas  # heavy: pandas\n")
        [2]
    """
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                if not any(BOUNDARY.search(line) for line in lines[child.lineno - 1: child.end_lineno]):
                    found.append(child.lineno)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(source), False)
    return found


def test_every_import_inside_a_function_names_its_boundary():
    unexplained = [f"{path.relative_to(ROOT)}:{line}" for folder in HIDDEN_IMPORT_FOLDERS
                   for path in sorted((ROOT / folder).rglob("*.py"))
                   for line in unexplained_inner_imports(path.read_text())]
    assert unexplained == [], ("move these imports to their module's top, or say which boundary they keep "
                               "(# heavy: TensorFlow, # optional: Dask, # cycle: why): " + ", ".join(unexplained))


def test_the_hidden_import_check_finds_a_planted_import():
    source = (ROOT / "metalearn_core" / "kinds" / "kind.py").read_text()
    assert unexplained_inner_imports(source) == []
    planted = source + "\n\ndef planted():\n    from metalearn_core.config import (\n        RunConfig,\n    )\n"
    assert unexplained_inner_imports(planted) == [len(source.splitlines()) + 4]
    wrapped = planted.replace("import (\n", "import (  # cycle: planted\n")
    assert unexplained_inner_imports(wrapped) == []
    nested = source + "\n\nclass Planted:\n    def method(self):\n        if True:\n            import json\n"
    assert unexplained_inner_imports(nested) == [len(source.splitlines()) + 6]


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(kinds.UnknownKind, match="the kinds are base, stacked"):
        kinds.get("bogus")
