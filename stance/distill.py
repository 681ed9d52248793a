"""Knowledge distillation: a larger fine-tuned model's logits as soft targets for the fast model.

The teacher (all-mpnet-base-v2 fine-tuned with context, ``training/teacher.py``) takes about 40
minutes to fine-tune on the 2-core CPU machine, four times the default model's whole training
budget, so its logits are computed once and kept in a JSONL file that the default model's
retraining reads. Each line is keyed by the sentence and its context, so a row whose text or
context changed since the teacher ran gets no soft target (it trains on its gold label alone)
instead of a stale one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from stance.labels import LABELS

ROOT = Path(__file__).resolve().parent.parent
# Keys a soft-label line must hold.
FIELDS = ("key", "logits")
# Where training/teacher.py writes the teacher's logits; the training report compares a model
# distilled from them whenever they exist, whether or not the default model uses them.
TEACHER_LABELS = "models/mpnet-stance/soft_labels.jsonl"

log = logging.getLogger(__name__)


def report_teacher(configured: str | None) -> str | None:
    """The soft labels the report distils from: the configured ones, else the teacher's if written."""
    if configured:
        return configured
    return TEACHER_LABELS if resolve(TEACHER_LABELS).is_file() else None


def resolve(path: str | Path) -> Path:
    """A relative path is the repository's (``training/config.json`` names files under it)."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path


def teacher_result(soft_labels: str | Path, splits: dict[str, list] | None = None) -> dict | None:
    """The teacher's own figures (``metrics.json`` beside its logits), for the training report.

    None when they were measured on other data than ``splits`` (a held-out split of another size):
    the data changed since the teacher was fitted, and its row would compare unlike with like.
    """
    path = resolve(soft_labels).parent / "metrics.json"
    if not path.exists():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    kept = ("approach", "fit_seconds", "sentences_per_second", "temperature",
            "validation", "article_validation", "test", "article_test", "seed")
    result = {key: metrics[key] for key in kept if key in metrics}
    held_out = ("validation", "article_validation", "test", "article_test", "seed")
    stale = [split for split in held_out if splits is not None and split in result
             and result[split].get("n") != len(splits.get(split, []))]
    if stale:
        log.warning("teacher %s left out of the report: measured on other data (%s); rerun "
                    "training/teacher.py", path.parent, ", ".join(stale))
        return None
    return result


def row_key(text: str, context: str | None) -> str:
    digest = hashlib.sha256(f"{text}\x1f{context or ''}".encode()).hexdigest()
    return digest[:20]


def write_soft_labels(path: str | Path, rows: Sequence[dict], logits: np.ndarray) -> int:
    """Write one line per row (first of each key), logits by label name; returns lines written."""
    if len(rows) != len(logits):
        raise ValueError(f"{len(rows)} rows but {len(logits)} logit rows")
    seen: set[str] = set()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row, values in zip(rows, logits, strict=True):
            key = row_key(row["text"], row.get("context"))
            if key in seen:
                continue
            seen.add(key)
            named = {label: round(float(v), 4) for label, v in zip(LABELS, values, strict=True)}
            out.write(json.dumps({"key": key, "logits": named}) + "\n")
    return len(seen)


def read_soft_labels(path: str | Path) -> dict[str, np.ndarray]:
    """Key → logits in LABELS order; a line without every label is an error, not a guess."""
    soft: dict[str, np.ndarray] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        missing = [f for f in FIELDS if f not in item] or [lb for lb in LABELS if lb not in item["logits"]]
        if missing:
            raise ValueError(f"{path}:{number}: soft label without {missing}")
        soft[item["key"]] = np.array([item["logits"][label] for label in LABELS], dtype=np.float32)
    return soft


def attach(rows: Iterable[dict], soft: dict[str, np.ndarray]) -> tuple[list[dict], int]:
    """Copies of ``rows``, those the teacher scored carrying ``teacher_logits``; and their count."""
    out, matched = [], 0
    for row in rows:
        logits = soft.get(row_key(row["text"], row.get("context")))
        if logits is not None:
            row = {**row, "teacher_logits": logits}
            matched += 1
        out.append(row)
    return out, matched


def loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-row KL divergence from the softened teacher to the softened student, scaled by T²
    so that its gradients keep the size of the hard-label loss's as T changes (Hinton et al.)."""
    log_student = torch.nn.functional.log_softmax(student / temperature, dim=-1)
    log_teacher = torch.nn.functional.log_softmax(teacher / temperature, dim=-1)
    per_row = (log_teacher.exp() * (log_teacher - log_student)).sum(-1)
    return per_row * temperature ** 2
