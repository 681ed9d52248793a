"""Which rows of an evaluation set a model has already seen, so `stance eval` can say so.

A model scores near 1.0 on its own training sentences; without a warning that reads as a
result. The model's training data is found from its ``metrics.json`` (the ``seeds_dir`` and
``include_seed_articles`` it was trained with) or, failing that, the default seed directory;
texts are compared after collapsing whitespace and case. Sentences the model saw in another
dataset, or paraphrased, are not detected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from stance import locate

# Splits by what the model did with them: learned from, or used to choose the configuration.
TRAINED_ON = ("train", "article_train", "seed")
SELECTED_ON = ("validation", "article_validation")


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _split_texts(path: Path) -> set[str]:
    texts = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.add(_key(json.loads(line)["text"]))
    return texts


def training_seeds_dir(model_info: dict) -> Path:
    # run.json (merged into the model's info) records it; older metrics.json kept it in the config.
    recorded = model_info.get("seeds_dir") or (model_info.get("config") or {}).get("seeds_dir")
    if recorded and (Path(recorded) / "dataset").is_dir():
        return Path(recorded)
    return locate.seeds_dir()


def seen_rows(texts: Iterable[str], model_info: dict, seeds_dir: Path | None = None) -> dict[str, int]:
    """How many of ``texts`` are in each split the model learned from or was selected on."""
    seeds_dir = seeds_dir or training_seeds_dir(model_info)
    config = model_info.get("config") or {}
    splits = [s for s in TRAINED_ON if s != "seed" or config.get("include_seed_articles", True)]
    keys = [_key(t) for t in texts]
    counts = {}
    for split in (*splits, *SELECTED_ON):
        path = seeds_dir / "dataset" / f"{split}.jsonl"
        if path.is_file():
            known = _split_texts(path)
            counts[split] = sum(k in known for k in keys)
    return counts


def warning(counts: dict[str, int], total: int) -> str | None:
    trained = sum(counts.get(s, 0) for s in TRAINED_ON)
    selected = sum(counts.get(s, 0) for s in SELECTED_ON)
    if not trained and not selected:
        return None
    parts = []
    if trained:
        parts.append(f"{trained} of {total} rows are training sentences of this model")
    if selected:
        parts.append(f"{selected} are validation sentences it was selected on")
    return "; ".join(parts) + ": these figures are not held-out (the test splits are)"
