"""The bento's contents: what the service needs, and nothing the CLI or training alone needs."""

import ast
import re
from pathlib import Path

import yaml

from tests.conftest import ROOT

BENTOFILE = yaml.safe_load((ROOT / "bentofile.yaml").read_text())


def _imports(path: Path) -> set[str]:
    """Project modules ``path`` imports anywhere, function bodies included (the lazy imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n for n in names if _source(n).is_file()}
    return found


def _source(name: str) -> Path:
    """The file a module name is read from: ``a/b.py``, or ``a/b/__init__.py`` for a package."""
    path = ROOT / name.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _closure(start: set[str]) -> set[str]:
    todo, seen = list(start), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _imports(_source(name))
    return seen


def test_the_bento_packs_exactly_the_modules_the_service_imports():
    service = {f"service.{p.stem}" for p in (ROOT / "service").glob("*.py")}
    needed = {_source(n).relative_to(ROOT).as_posix() for n in _closure(service) if n.startswith("stance.")}
    packed = {p for p in BENTOFILE["include"] if p.startswith("stance/") and p.endswith(".py")}
    assert packed == needed | {"stance/__init__.py"}
    assert "stance/train.py" not in packed and "stance/cli.py" not in packed
    assert not [p for p in packed if p.startswith("stance/exporting/")]


def test_the_bento_installs_the_fast_path_and_the_input_readers():
    packages = " ".join(BENTOFILE["python"]["packages"])
    for name in ("onnxruntime", "python-dateutil", "charset-normalizer", "pysbd", "transformers",
                 "duckdb", "pyarrow"):
        assert name in packages


def test_bentoml_build_finds_uv_installed():
    # (tomllib is Python 3.11+; the project supports 3.10)
    pyproject = (ROOT / "pyproject.toml").read_text()
    dev = re.search(r"^dev = \[(.*?)\]$", pyproject, re.MULTILINE | re.DOTALL).group(1)
    assert re.search(r'"uv[>=<~ ]', dev)
