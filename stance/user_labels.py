"""Training on the user's reviewed sentences (``TrainingConfig.extra_labels``).

The label files `stance review import` writes are split **by article**: a share of the user's
articles is held out, never trained on, and both the model before retraining and the new one are
measured on it, so the before/after figures say what the corrections changed on the user's own
corpus. A user sentence that also stands in the seed data replaces the seed row (the user's
label is the one for their corpus); a held-out sentence that the training data contains is left
out of the evaluation, where it would only measure memory.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from stance.corrections import read_labels
from stance.model import DEFAULT_MODEL

SOURCE = "user"


def digest(paths: list[str]) -> str:
    """SHA-256 over the label files' bytes: the data version of a model trained on them."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def model_name(name: str, paths: list[str], replace_default: bool) -> str:
    """The default name gets the labels' digest, so a retrained model never lands on the default
    unless asked; any other name is the user's choice and kept."""
    if name != DEFAULT_MODEL or replace_default:
        return name
    return f"{DEFAULT_MODEL}-user-{digest(paths)[:8]}"


def _article_order(article_id: str) -> str:
    return hashlib.sha256(("user-split:" + article_id).encode("utf-8")).hexdigest()


def split(paths: list[str], holdout: float) -> tuple[list[dict], list[dict]]:
    """(training rows, held-out rows) in the dataset's row shape; ties (no label) are left out.

    ``ceil(holdout × articles)`` articles, chosen by a hash of their id, are held out — at least
    one and never all, when there are two articles or more.
    """
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"extra_holdout must be at least 0 and below 1, got {holdout}")
    rows = [_dataset_row(r) for r in read_labels(paths) if r.get("label") is not None]
    articles = sorted({r["article_id"] for r in rows}, key=_article_order)
    held = 0
    if holdout > 0 and len(articles) >= 2:
        held = min(max(1, math.ceil(holdout * len(articles))), len(articles) - 1)
    held_out = set(articles[:held])
    return ([r for r in rows if r["article_id"] not in held_out],
            [r for r in rows if r["article_id"] in held_out])


def _dataset_row(row: dict) -> dict:
    return {"text": row["text"], "label": row["label"], "actor": row.get("actor"),
            "article_id": row["article_id"], "start": int(row["start"]), "end": int(row["end"]),
            "published": row.get("published"), "source": SOURCE, "form": None,
            "context": row.get("context") or "", "holder": None, "outlet": row.get("source")}
