"""No import cycles in metalearn_core, and the registry's kinds all have the same shape."""

import ast
import importlib
import random
import subprocess
import sys
from pathlib import Path

import pytest
from busy_machine import scaled

from metalearn_core import kinds

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "metalearn_core"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> list[str]:
    return sorted(module_name(path) for path in PACKAGE.rglob("*.py") if path.name != "__main__.py")


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every metalearn_core module ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from package import module" imports the module; "from module import name" the module
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = set(all_modules())
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        # A package's __init__ importing its own submodules is how packages work, not a cycle
        # (the fresh-interpreter test below imports every module first, parents included).
        graph[name] = imported_modules(path, known) - {name}
    return graph


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
             "metalearn_core.runs.runner", "metalearn_core.data.mnist", "metalearn_core.inside.diagram",
             *(f"{path}" for path in kinds.REGISTRY.values()),
             *(f"{path}.cli" for path in kinds.REGISTRY.values()),
             *(f"{path}.config" for path in kinds.REGISTRY.values())]
    code = ("import sys\nfor name in sys.argv[1:]:\n    __import__(name)\n"
            "from metalearn_core import kinds\n[k.section_class for k in kinds.all_kinds()]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    result = subprocess.run([sys.executable, "-c", code, *light], cwd=ROOT, capture_output=True, text=True, timeout=scaled(120))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", kinds.names())
def test_each_kind_has_the_same_shape(name):
    folder = PACKAGE / "kinds" / name
    assert {"__init__.py", "config.py", "run.py", "report.py", "cli.py"} <= {p.name for p in folder.iterdir()}
    kind = kinds.get(name)
    assert kind.name == name and kind.label
    assert callable(kind.entry())
    cli = kind.cli_module()
    assert callable(cli.add_arguments) and callable(cli.apply_arguments) and isinstance(cli.FLAGS, tuple)
    if kind.section:
        assert kind.section_class is not None and kind.section in kind.uses
    views = importlib.import_module(f"dashboard.kinds.{name}")
    assert callable(views.results)
    if kind.page == "train":
        assert callable(views.meta_settings) and callable(views.training_settings)


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(kinds.UnknownKind, match="the kinds are base, stacked"):
        kinds.get("bogus")
