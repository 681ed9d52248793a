"""Loading a trained stance model and predicting label probabilities for sentences.

A model directory holds ``config.json`` + ``model.safetensors`` (weights), the tokenizer files,
``label_map.json`` and ``metrics.json``. Only safetensors and JSON are read from disk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stance.labels import LABELS

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "minilm-stance"
LABEL_MAP_FILE = "label_map.json"
WEIGHTS_FILE = "model.safetensors"
REQUIRED_FILES = ("config.json", WEIGHTS_FILE, LABEL_MAP_FILE, "tokenizer.json")


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or was trained for other labels."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return {"label": self.label, "confidence": self.confidence,
                "probabilities": self.probabilities}


def quiet_transformers() -> None:
    """Silence load reports and progress bars that would flood CLI output and test logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def resolve_device(requested: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an unavailable explicit device is an error."""
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {requested!r} requested but CUDA is not available")
    return device


def default_model_dir() -> Path:
    return MODELS_DIR / DEFAULT_MODEL


def check_model_dir(path: Path) -> dict:
    """Validate a model directory and return its label map; raise ModelError saying what is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist: train one with `stance train`")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"model directory {path} is incomplete: missing {', '.join(missing)}")
    label_map = json.loads((path / LABEL_MAP_FILE).read_text(encoding="utf-8"))
    if tuple(label_map.get("labels", ())) != LABELS:
        raise ModelError(
            f"model {path} was trained for labels {label_map.get('labels')}, "
            f"but this version of stance uses {list(LABELS)}"
        )
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    id2label = {int(k): v for k, v in config.get("id2label", {}).items()}
    if [id2label.get(i) for i in range(len(LABELS))] != list(LABELS):
        raise ModelError(f"model {path}: config.json id2label {id2label} does not match the label map")
    return label_map


def _iter_length_buckets(lengths: Sequence[int], batch_size: int):
    """Index batches of similar length, so padding per batch stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


class StanceClassifier:
    """Sentence → probabilities over LABELS, batched by length, on CPU or CUDA."""

    def __init__(self, model, tokenizer, *, path: Path | None = None, max_length: int = 128,
                 device: torch.device | None = None, info: dict | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.path = path
        self.max_length = max_length
        self.device = device or torch.device("cpu")
        self.info = info or {}
        self.backend = "torch-fp32"
        self.model.to(self.device).eval()

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | None = "auto") -> StanceClassifier:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        quiet_transformers()
        path = Path(path) if path else default_model_dir()
        label_map = check_model_dir(path)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForSequenceClassification.from_pretrained(str(path), use_safetensors=True)
        info = {}
        if (path / "metrics.json").is_file():
            info = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        return cls(model, tokenizer, path=path, max_length=label_map.get("max_length", 128),
                   device=resolve_device(device), info=info)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "in-memory"

    def _encode(self, texts: Sequence[str]):
        return self.tokenizer(list(texts), padding=True, truncation=True,
                              max_length=self.max_length, return_tensors="pt")

    def _logits(self, batch) -> torch.Tensor:
        batch = {k: v.to(self.device) for k, v in batch.items()}
        if self.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return self.model(**batch).logits.float()
        return self.model(**batch).logits

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Probabilities, shape ``(len(texts), len(LABELS))``, in input order."""
        texts = list(texts)
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return out
        # Token counts decide the buckets; characters are a cheap, monotone proxy.
        for idx in _iter_length_buckets([len(t) for t in texts], batch_size):
            logits = self._logits(self._encode([texts[i] for i in idx]))
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        return [to_prediction(row) for row in self.predict_proba(texts, batch_size)]


def to_prediction(probabilities: np.ndarray) -> Prediction:
    best = int(np.argmax(probabilities))
    return Prediction(
        label=LABELS[best],
        confidence=float(probabilities[best]),
        probabilities={label: float(p) for label, p in zip(LABELS, probabilities, strict=True)},
    )
