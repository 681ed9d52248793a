"""The labelled sentence dataset: seed articles + hand labels + the authored supplement.

``build`` is deterministic: the same files give byte-identical JSONL. Splits:

- ``train`` / ``validation`` / ``test``: the authored supplement, split 60/15/25 by a hash of
  each text (stable when sentences are added). ``test`` is never used for training or model
  selection; ``validation`` is for model selection only.
- ``seed``: every sentence of the seed articles, with the article id for leave-one-article-out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stance.articles import Article, Skipped, read_inputs
from stance.labels import LABELS, check_actor, check_label
from stance.segment import segment

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
SPLITS = ("train", "validation", "test", "seed")
TEST_SHARE = 0.25
VALIDATION_SHARE = 0.15
# Character n-gram cosine above which two sentences count as near-duplicates.
NEAR_DUPLICATE_THRESHOLD = 0.8
FIELDS = ("text", "label", "actor", "article_id", "start", "end", "published", "source", "form")


class DatasetError(ValueError):
    """The labelled files are inconsistent; the message names the file and row."""


@dataclass(frozen=True)
class SeedPaths:
    root: Path

    @property
    def articles(self) -> Path:
        return self.root / "articles"

    @property
    def labels(self) -> Path:
        return self.root / "labels.jsonl"

    @property
    def authored(self) -> Path:
        return self.root / "authored"

    @property
    def output(self) -> Path:
        return self.root / "dataset"


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: {exc.msg}") from exc
    return rows


def load_seed_articles(paths: SeedPaths) -> dict[str, Article]:
    articles = {}
    for item in read_inputs([str(paths.articles)]):
        if isinstance(item, Skipped):
            raise DatasetError(f"seed article {item.id}: {item.reason}")
        articles[item.id] = item
    return articles


def seed_rows(paths: SeedPaths) -> list[dict]:
    """One row per seed sentence; every sentence the segmenter finds must be labelled."""
    articles = load_seed_articles(paths)
    labels = {(r["article"], r["start"], r["end"]): r for r in _read_jsonl(paths.labels)}
    rows = []
    for article_id in sorted(articles):
        article = articles[article_id]
        for sentence in segment(article.text, masthead=article.source):
            key = (article_id, sentence.start, sentence.end)
            if key not in labels:
                raise DatasetError(
                    f"{paths.labels}: no label for {article_id} [{sentence.start}:{sentence.end}] "
                    f"{sentence.text[:60]!r}"
                )
            record = labels.pop(key)
            if record.get("text") not in (None, sentence.text):
                raise DatasetError(f"{paths.labels}: text differs at {key}: {record['text'][:60]!r}")
            rows.append(_row(sentence.text, record, article_id, sentence.start, sentence.end,
                             article.published, "seed"))
    if labels:
        stale = ", ".join(f"{a}[{s}:{e}]" for a, s, e in sorted(labels)[:5])
        raise DatasetError(f"{paths.labels}: labels match no sentence: {stale}")
    return rows


def _row(text, record, article_id, start, end, published, source) -> dict:
    return {
        "text": text,
        "label": check_label(record["label"]),
        "actor": check_actor(record["actor"]),
        "article_id": article_id,
        "start": start,
        "end": end,
        "published": published,
        "source": source,
        "form": record.get("form"),
    }


def authored_rows(paths: SeedPaths) -> list[dict]:
    rows = []
    for path in sorted(paths.authored.glob("*.jsonl")):
        for record in _read_jsonl(path):
            text = record["text"].strip()
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
            rows.append(_row(text, record, f"authored-{digest}", 0, len(text),
                             record.get("published"), "authored"))
    return rows


def _hash_fraction(text: str) -> float:
    """A stable pseudo-random number in [0, 1) for a sentence."""
    digest = hashlib.sha256(("split:" + text).encode("utf-8")).hexdigest()
    return int(digest[:12], 16) / 16**12


def assign_split(text: str) -> str:
    fraction = _hash_fraction(text)
    if fraction < TEST_SHARE:
        return "test"
    if fraction < TEST_SHARE + VALIDATION_SHARE:
        return "validation"
    return "train"


def split_authored(rows: list[dict]) -> dict[str, list[dict]]:
    """Split by a hash of each text: adding or removing a sentence never moves another one."""
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for row in rows:
        splits[assign_split(row["text"])].append(row)
    for name in splits:
        splits[name].sort(key=lambda r: (LABELS.index(r["label"]), r["text"]))
    return splits


def build(root: Path = SEEDS_DIR) -> dict[str, list[dict]]:
    """Assemble all splits from the article, label and authored files (no I/O side effects)."""
    paths = SeedPaths(Path(root))
    splits = split_authored(authored_rows(paths))
    splits["seed"] = seed_rows(paths)
    everything = [r["text"] for name in SPLITS for r in splits[name]]
    if len(set(everything)) != len(everything):
        raise DatasetError("the same sentence appears twice in the dataset")
    return splits


def write(splits: dict[str, list[dict]], output: Path) -> list[Path]:
    """Write one JSONL per split and the Hugging Face DatasetDict beside them."""
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SPLITS:
        path = output / f"{name}.jsonl"
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            for row in splits[name]:
                fh.write(json.dumps({k: row[k] for k in FIELDS}, ensure_ascii=False) + "\n")
        written.append(path)
    to_dataset_dict(splits).save_to_disk(str(output / "hf"))
    written.append(output / "hf")
    return written


def to_dataset_dict(splits: dict[str, list[dict]]):
    import datasets

    datasets.disable_progress_bars()
    features = datasets.Features({
        "text": datasets.Value("string"),
        "label": datasets.ClassLabel(names=list(LABELS)),
        "actor": datasets.Value("string"),
        "article_id": datasets.Value("string"),
        "start": datasets.Value("int32"),
        "end": datasets.Value("int32"),
        "published": datasets.Value("string"),
        "source": datasets.Value("string"),
        "form": datasets.Value("string"),
    })
    return datasets.DatasetDict({
        name: datasets.Dataset.from_list([{k: r[k] for k in FIELDS} for r in splits[name]],
                                         features=features)
        for name in SPLITS
    })


def load_split(name: str, root: Path = SEEDS_DIR) -> list[dict]:
    """Read a split from the built JSONL; build first with ``stance dataset build``."""
    path = SeedPaths(Path(root)).output / f"{name}.jsonl"
    if not path.is_file():
        raise DatasetError(f"{path} is missing: run `stance dataset build`")
    return _read_jsonl(path)


def near_duplicates(
    texts: Iterable[str], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[int, int, float]]:
    """Pairs of indices whose character 3–5-gram TF-IDF cosine is at least ``threshold``."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(texts)
    if len(texts) < 2:
        return []
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    np.fill_diagonal(similarity, 0.0)
    rows, cols = np.nonzero(np.triu(similarity) >= threshold)
    return [(int(i), int(j), float(similarity[i, j])) for i, j in zip(rows, cols, strict=True)]
