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
        found |= {n for n in names if (ROOT / (n.replace(".", "/") + ".py")).is_file()}
    return found


def _closure(start: set[str]) -> set[str]:
    todo, seen = list(start), set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _imports(ROOT / (name.replace(".", "/") + ".py"))
    return seen


def test_the_bento_packs_exactly_the_modules_the_service_imports():
    service = {f"service.{p.stem}" for p in (ROOT / "service").glob("*.py")}
    needed = {n for n in _closure(service) if n.startswith("stance.")} | {"stance.__init__"}
    packed = {Path(p).with_suffix("").as_posix().replace("/", ".") for p in BENTOFILE["include"]
              if p.startswith("stance/") and p.endswith(".py")}
    assert packed == needed
    assert "stance.train" not in packed and "stance.cli" not in packed


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
