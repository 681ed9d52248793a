"""The package's shape: no two modules import each other, every module imports, and the service
package holds the service only."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import service
import stance

MODULES = sorted(f"stance.{m.name}" for m in pkgutil.iter_modules(stance.__path__)
                 if m.name != "__main__")  # runs the CLI when imported


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
    graph = {name: _imports(Path(stance.__path__[0]) / f"{name.split('.')[1]}.py") - {name}
             for name in MODULES}
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


def test_the_service_package_ships_no_test_harness():
    shipped = {m.name for m in pkgutil.iter_modules(service.__path__)}
    assert "process" not in shipped
