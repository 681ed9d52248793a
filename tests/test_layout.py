"""The package's shape: no two modules import each other, every module imports, serving never
imports the export code, and the service package holds the service only."""

import ast
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import service
import stance

MODULES = sorted(m.name for m in pkgutil.walk_packages(stance.__path__, "stance.")
                 if m.name != "stance.__main__")  # runs the CLI when imported
ROOT = Path(stance.__path__[0]).parent


def _source(name: str) -> Path:
    path = ROOT / name.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imports(path: Path) -> set[str]:
    """Modules of the package a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stance"):
            found.add(node.module)
            if node.module == "stance":
                found.update(f"stance.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("stance."))
    return found


def test_no_import_cycles_in_the_library():
    graph = {name: _imports(_source(name)) - {name} for name in MODULES}
    state: dict[str, str] = {}

    def visit(name, path):
        if state.get(name) == "open":
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if state.get(name) == "done":
            return
        state[name] = "open"
        for dep in graph.get(name, ()):
            visit(dep, path + [name])
        state[name] = "done"

    for name in MODULES:
        visit(name, [])


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    importlib.import_module(name)


def test_the_walk_covers_the_subpackages():
    assert {"stance.backends", "stance.backends.onnx_int8", "stance.exporting.quality"} <= set(MODULES)


@pytest.mark.integration
def test_serving_never_imports_the_export_code(tiny_model_dir):
    serving = ["stance.model", "stance.backends", "stance.integrity",
               *sorted(f"service.{m.name}" for m in pkgutil.iter_modules(service.__path__))]
    code = (f"import importlib, json, sys\nfor name in {serving!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('stance.'))))")
    # Importing the service checks the model it would serve (a fresh clone has no default model).
    env = {**os.environ, "STANCE_MODEL_DIR": str(tiny_model_dir)}
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                       text=True, cwd=ROOT, env=env).stdout)
    assert "stance.backends.onnx_int8" in loaded
    assert not [name for name in loaded if name.startswith("stance.exporting")]


def test_the_service_package_ships_no_test_harness():
    shipped = {m.name for m in pkgutil.iter_modules(service.__path__)}
    assert "process" not in shipped
