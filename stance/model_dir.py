"""A model directory (``models/<name>/``): the only code that knows its file names, reads and
writes them, and computes the version digest of the file that serves.

Files: ``config.json`` + ``model.safetensors`` (the fp32 weights) and the tokenizer files (written by
transformers), ``label_map.json`` (labels, window, context mode, temperature), ``training_args.json``,
``metrics.json`` (committed: held-out results and the int8 check), ``run.json`` (when, where, how long;
never committed), ``model.int8.onnx`` (the fast CPU path), ``probe.json`` (stance.integrity),
``README.md`` (the card), ``reliability.png``, and ``comparison.json`` + ``REPORT.md`` (the comparison
of approaches). Only JSON, safetensors and ONNX are read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
LABEL_MAP_FILE = "label_map.json"
TRAINING_ARGS_FILE = "training_args.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
INT8_FILE = "model.int8.onnx"
PROBE_FILE = "probe.json"
CARD_FILE = "README.md"
RELIABILITY_PNG = "reliability.png"
COMPARISON_FILE = "comparison.json"
REPORT_FILE = "REPORT.md"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, LABEL_MAP_FILE, TOKENIZER_FILE)
# Version digits: what the service's ``/model`` reports and every stored row records.
VERSION_DIGITS = 12


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or was trained for other labels."""


def file_digest(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB blocks (weights are tens of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ModelDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def read_json(self, name: str, default: dict | None = None) -> dict:
        """A JSON file of the directory; ``default`` (when given) if it is absent."""
        if default is not None and not self.has(name):
            return default
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def write_json(self, name: str, data: dict, indent: int = 2) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / name
        path.write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")
        return path

    def write_text(self, name: str, text: str) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / name
        path.write_text(text, encoding="utf-8")
        return path

    def metrics(self) -> dict:
        return self.read_json(METRICS_FILE, {})

    def write_metrics(self, metrics: dict) -> Path:
        return self.write_json(METRICS_FILE, metrics)

    def info(self) -> dict:
        """metrics.json (committed with the model) updated with run.json (when, where, how long)."""
        return {**self.metrics(), **self.read_json(RUN_FILE, {})}

    def label_map(self) -> dict:
        return self.read_json(LABEL_MAP_FILE)

    def digest(self, name: str) -> str:
        return file_digest(self.path / name)

    def check(self, labels: Sequence[str]) -> dict:
        """Validate the directory for a model of ``labels`` and return its label map; raise
        ModelError saying what is wrong. (The labels are passed in so that this module imports no
        other of the package: the label code may read the label map through it.)"""
        path = self.path
        if not path.is_dir():
            raise ModelError(f"model directory {path} does not exist: train one with `stance train`")
        missing = [name for name in REQUIRED_FILES if not self.has(name)]
        if missing:
            raise ModelError(f"model directory {path} is incomplete: missing {', '.join(missing)}")
        label_map = self.label_map()
        if tuple(label_map.get("labels", ())) != tuple(labels):
            raise ModelError(
                f"model {path} was trained for labels {label_map.get('labels')}, "
                f"but this version of stance uses {list(labels)}"
            )
        config = self.read_json(CONFIG_FILE)
        id2label = {int(k): v for k, v in config.get("id2label", {}).items()}
        if [id2label.get(i) for i in range(len(labels))] != list(labels):
            raise ModelError(f"model {path}: {CONFIG_FILE} id2label {id2label} does not match the label map")
        return label_map
