"""No import cycles in metalearn_core, and the registry's kinds all have the same shape."""

import importlib
import random
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
             "metalearn_core.runs.runner", "metalearn_core.data.mnist", "metalearn_core.models.diagram",
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


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(kinds.UnknownKind, match="the kinds are base, stacked"):
        kinds.get("bogus")
