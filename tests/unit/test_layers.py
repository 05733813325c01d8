"""Imports run downwards: a module imports only modules of its own layer or of a lower one.

The layers, bottom to top:

* L0 core: the config types, the store and its database, data, models, the shared figure style;
* L1 kinds: the registry and one folder per run kind;
* L2 lab: what works across the kinds: the worker with the runner and executors that start it, the
  predictor's dispatch, presets, the views' data and figures, sweeps, the classroom;
* L3 entry: the session, the command line and the package's face (``metalearn_core/__init__.py``);
* L4 app: the dashboard's helpers; L5 pages: the Streamlit pages and ``app.py``;
* L6 tools and bench, on top.

Every import counts, at a module's top or inside a function (see ``import_graph.py``). ``tests/`` may import
anything and is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from import_graph import ROOT, import_statements, module_name, package_of, resolve

# The longest prefix names a module's layer: "metalearn_core.kinds.fewshot.run" is in "metalearn_core.kinds".
LAYERS = {
    "metalearn_core.safe_input": 0, "metalearn_core.config": 0, "metalearn_core.style": 0,
    "metalearn_core.data": 0, "metalearn_core.models": 0, "metalearn_core.runs": 0,
    "metalearn_core.kinds": 1,
    "metalearn_core.worker": 2, "metalearn_core.runner": 2, "metalearn_core.executors": 2,
    "metalearn_core.predictor": 2, "metalearn_core.presets": 2,
    "metalearn_core.analysis": 2, "metalearn_core.figures": 2, "metalearn_core.inside": 2,
    "metalearn_core.sweeps": 2, "metalearn_core.classroom": 2,
    "metalearn_core.session": 3, "metalearn_core.cli": 3, "metalearn_core.__main__": 3, "metalearn_core": 3,
    "dashboard": 4,
    "pages": 5, "app": 5,
    "tools": 6, "bench": 6,
}
NAMES = {0: "core", 1: "kinds", 2: "lab", 3: "entry", 4: "app", 5: "pages", 6: "tools and bench"}
# Names only themselves, not the modules below them: a new metalearn_core/foo.py must be given a layer.
FACES = {"metalearn_core"}
SOURCES = ("metalearn_core", "dashboard", "pages", "tools", "bench", "app.py")

# Upward imports still being removed, as (importing module, imported module); empty it as they go.
PENDING: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class UpwardImport:
    path: Path
    line: int
    importer: str
    imported: str

    def __str__(self) -> str:
        low, high = layer_of(self.importer), layer_of(self.imported)
        return (f"{self.path}:{self.line}: {self.importer} (L{low} {NAMES[low]}) imports "
                f"{self.imported} (L{high} {NAMES[high]})")


def layer_of(module: str) -> int | None:
    """The layer of ``module``: that of the longest prefix in LAYERS; None for a module in no layer.

    Example:
        >>> layer_of("metalearn_core.kinds.fewshot.run"), layer_of("metalearn_core.nowhere")
        (1, None)
    """
    name = module
    while name:
        if name in LAYERS and (name == module or name not in FACES):
            return LAYERS[name]
        name = name.rpartition(".")[0]
    return None


def source_files(root: Path) -> list[Path]:
    """The project's Python files under ``root`` that the layers cover."""
    files = []
    for name in SOURCES:
        path = root / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else [])
    return files


def upward_imports(root: Path) -> list[UpwardImport]:
    """Every import, in the project under ``root``, of a module of a higher layer than the importer's.

    ``from package import module`` is judged by the module it names, not by the package whose
    ``__init__`` Python runs first on the way.
    """
    files = source_files(root)
    known = {module_name(path, root) for path in files}
    found: dict[UpwardImport, None] = {}  # in order, once per statement and module
    for path in files:
        importer = module_name(path, root)
        for line, names, _ in import_statements(path.read_text(), package_of(path, root)):
            for imported in filter(None, (resolve(name, known) for name in names)):
                low, high = layer_of(importer), layer_of(imported)
                if low is not None and high is not None and high > low:
                    found[UpwardImport(path.relative_to(root), line, importer, imported)] = None
    return list(found)


def test_every_module_has_a_layer():
    files = source_files(ROOT)
    assert len(files) > 100  # every folder was found
    assert [module_name(path) for path in files if layer_of(module_name(path)) is None] == []


def test_imports_run_downwards():
    found = upward_imports(ROOT)
    unexpected = [str(upward) for upward in found if (upward.importer, upward.imported) not in PENDING]
    assert unexpected == [], "upward imports:\n" + "\n".join(unexpected)
    gone = PENDING - {(upward.importer, upward.imported) for upward in found}
    assert not gone, f"no longer imported upwards, remove from PENDING: {sorted(gone)}"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_checker_finds_a_planted_upward_import(tmp_path):
    write(tmp_path, {
        "metalearn_core/__init__.py": "",
        "metalearn_core/config.py": "import json\n",
        "metalearn_core/kinds/__init__.py": "from metalearn_core.config import json\n",
        "metalearn_core/kinds/fewshot/__init__.py": "",
        "metalearn_core/kinds/fewshot/run.py": "from metalearn_core import config\n",
        "metalearn_core/runs/store.py": "def store():\n    from metalearn_core.kinds.fewshot import run\n",
        "dashboard/__init__.py": "",
        "dashboard/teach.py": "from ..pages.draw import main\n",
        "pages/draw.py": "import dashboard.teach\nfrom metalearn_core.kinds import fewshot\n",
    })
    found = upward_imports(tmp_path)
    assert [str(upward) for upward in found] == [
        "metalearn_core/runs/store.py:2: metalearn_core.runs.store (L0 core) imports "
        "metalearn_core.kinds.fewshot.run (L1 kinds)",
        "dashboard/teach.py:1: dashboard.teach (L4 app) imports pages.draw (L5 pages)",
    ]


def test_a_module_in_no_layer_is_found(tmp_path):
    write(tmp_path, {"metalearn_core/__init__.py": "", "metalearn_core/extra.py": ""})
    assert layer_of(module_name(tmp_path / "metalearn_core/extra.py", tmp_path)) is None
    assert layer_of(module_name(tmp_path / "metalearn_core/__init__.py", tmp_path)) == 3
