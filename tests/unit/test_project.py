"""The project is declared in pyproject.toml and installed, so scripts import it without sys.path edits."""

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("metalearn_core", "dashboard", "tools")
SCRIPT_FOLDERS = ("bench", "tools")


def sys_path_edits(source: str) -> list[int]:
    """Lines of ``source`` that change ``sys.path`` (a call on it, or an assignment to it)."""

    def is_sys_path(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "path"
                and isinstance(node.value, ast.Name) and node.value.id == "sys")

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_sys_path(node.func.value):
            lines.append(node.lineno)
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(is_sys_path(target) for target in targets):
                lines.append(node.lineno)
    return sorted(lines)


def test_pyproject_declares_the_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] and project["project"]["version"]
    find = project["tool"]["setuptools"]["packages"]["find"]
    assert sorted(find["include"]) == sorted(f"{top}*" for top in PACKAGES)
    # without namespaces, a folder is part of the project only if it has an __init__.py
    assert find["namespaces"] is False


def test_every_folder_with_python_files_is_a_package():
    folders = {path.parent for top in PACKAGES for path in (ROOT / top).rglob("*.py")
               if "__pycache__" not in path.parts}
    missing = sorted(str(folder.relative_to(ROOT)) for folder in folders if not (folder / "__init__.py").is_file())
    assert not missing, f"folders with Python files but no __init__.py (left out of the project): {missing}"


def test_sys_path_edits_are_found():
    source = "import sys\nsys.path.insert(0, 'x')\nx = 1\nsys.path = ['y']\nsys.path += ['z']\nprint(sys.argv)\n"
    assert sys_path_edits(source) == [2, 4, 5]


def test_scripts_do_not_edit_sys_path():
    edits = {str(path.relative_to(ROOT)): lines for folder in SCRIPT_FOLDERS
             for path in sorted((ROOT / folder).glob("*.py"))
             if (lines := sys_path_edits(path.read_text()))}
    assert not edits, f"scripts edit sys.path instead of importing the installed project: {edits}"


def test_a_bench_script_imports_the_project_from_another_folder(tmp_path):
    # bench_store.py imports metalearn_core and tools; run from tmp_path, only the install can provide them
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_store.py"), "--help"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: bench_store.py" in done.stdout
