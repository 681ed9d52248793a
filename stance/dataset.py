"""The labelled sentence dataset: seed articles + hand labels + the authored supplement.

``build`` is deterministic: the same files give byte-identical JSONL. Splits:

- ``train`` / ``validation`` / ``test``: the authored supplement, split 60/15/25 by a hash of
  each text (stable when sentences are added). ``test`` is never used for training or model
  selection; ``validation`` is for model selection only.
- ``seed``: every sentence of the seed articles, with its article id (held out in the report).
- ``article_train`` / ``article_validation`` / ``article_test``: the authored *articles*
  (``seeds/authored_articles/*.jsonl``: whole news articles in real outlets' registers, every
  sentence labelled), split 60/15/25 **by article** with a hash of the article id, so every
  sentence of an article lands in the same split. ``article_test`` is never used for training or
  selection; ``article_validation`` selects the model and fits its calibration.

Every row carries ``context``: the sentence read before it in its article (stance.context), empty
for the isolated authored sentences.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stance.articles import Article, Skipped, read_inputs
from stance.context import previous_sentences
from stance.labels import LABELS, check_actor, check_label
from stance.segment import is_furniture, segment

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE_SPLITS = ("article_train", "article_validation", "article_test")
SPLITS = ("train", "validation", "test", "seed", *ARTICLE_SPLITS)
# Forms that are page furniture rather than article text: they may repeat across articles.
FURNITURE_FORMS = frozenset({"furniture", "byline", "caption"})
TEST_SHARE = 0.25
VALIDATION_SHARE = 0.15
# Character n-gram cosine above which two sentences count as near-duplicates.
NEAR_DUPLICATE_THRESHOLD = 0.8
FIELDS = ("text", "label", "actor", "article_id", "start", "end", "published", "source", "form",
          "context", "holder", "outlet")


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
    def authored_articles(self) -> Path:
        return self.root / "authored_articles"

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
        sentences = segment(article.text, masthead=article.source)
        contexts = previous_sentences([s.text for s in sentences], [s.furniture for s in sentences])
        for sentence, context in zip(sentences, contexts, strict=True):
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
                             article.published, "seed", context=context, outlet=article.source))
    if labels:
        stale = ", ".join(f"{a}[{s}:{e}]" for a, s, e in sorted(labels)[:5])
        raise DatasetError(f"{paths.labels}: labels match no sentence: {stale}")
    return rows


def _row(text, record, article_id, start, end, published, source, context="", outlet=None) -> dict:
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
        "context": context,
        "holder": record.get("holder"),
        "outlet": outlet,
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


def article_text(article: dict) -> tuple[str, list[tuple[dict, int, int]]]:
    """Lay out an authored article as plain text — the headline on the first line, one paragraph
    per line — and return it with every labelled sentence's character span."""
    parts, spans, pos = [], [], 0
    for paragraph in [[article["headline"]], *article["paragraphs"]]:
        line_parts = []
        for sentence in paragraph:
            text = sentence["text"].strip()
            if line_parts:
                pos += 1  # the space joining sentences of a paragraph
            spans.append((sentence, pos, pos + len(text)))
            line_parts.append(text)
            pos += len(text)
        parts.append(" ".join(line_parts))
        pos += 1  # the newline ending the paragraph
    return "\n".join(parts) + "\n", spans


def article_rows(paths: SeedPaths) -> list[dict]:
    """One row per labelled sentence of the authored articles, with the article id and context.

    A sentence whose ``label`` is ``null`` (the two annotators disagreed) stays in its article as
    context for the next sentence but gets no row.
    """
    rows = []
    for path in sorted(paths.authored_articles.glob("*.jsonl")) if paths.authored_articles.is_dir() else ():
        for number, article in enumerate(_read_jsonl(path), start=1):
            try:
                _, spans = article_text(article)
                article_id = f"article-{article['id']}"
            except (KeyError, TypeError, AttributeError) as exc:
                raise DatasetError(f"{path}: article {number} is malformed: {exc!r}") from exc
            texts = [sentence["text"].strip() for sentence, _, _ in spans]
            furniture = [sentence.get("form") in FURNITURE_FORMS or is_furniture(text)
                         for (sentence, _, _), text in zip(spans, texts, strict=True)]
            contexts = previous_sentences(texts, furniture)
            for (sentence, start, end), text, context in zip(spans, texts, contexts, strict=True):
                if sentence.get("label") is None:
                    continue
                try:
                    rows.append(_row(text, sentence, article_id, start, end, article.get("published"),
                                     "article", context=context, outlet=article.get("source")))
                except (KeyError, ValueError) as exc:
                    raise DatasetError(f"{path}: article {article['id']}: {exc}") from exc
    return rows


def assign_article_split(article_id: str) -> str:
    return "article_" + assign_split(article_id)


def split_articles(rows: list[dict]) -> dict[str, list[dict]]:
    """Split by article: every sentence of an article lands in its article's split, in text order."""
    splits: dict[str, list[dict]] = {name: [] for name in ARTICLE_SPLITS}
    for row in rows:
        splits[assign_article_split(row["article_id"])].append(row)
    return splits


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
    splits.update(split_articles(article_rows(paths)))
    seen: dict[str, str] = {}
    for name in SPLITS:
        for row in splits[name]:
            if row["form"] in FURNITURE_FORMS or (row["source"] == "article" and is_furniture(row["text"])):
                continue  # "Related:" or a byline may stand in many articles
            if row["text"] in seen:
                raise DatasetError(f"the same sentence appears twice in the dataset ({seen[row['text']]}, "
                                   f"{row['article_id']}): {row['text'][:80]!r}")
            seen[row["text"]] = row["article_id"]
    return splits


def content_rows(rows: Iterable[dict]) -> list[dict]:
    """Rows the near-duplicate check compares: everything but page furniture."""
    return [r for r in rows if r["form"] not in FURNITURE_FORMS
            and not (r["source"] == "article" and is_furniture(r["text"]))]


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
        "context": datasets.Value("string"),
        "holder": datasets.Value("string"),
        "outlet": datasets.Value("string"),
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
    pairs = []
    # Row blocks keep memory linear in the corpus: a dense n×n matrix is 1 GB at 11k sentences.
    for top in range(0, len(texts), 1024):
        block = (matrix[top:top + 1024] @ matrix.T).toarray()
        rows, cols = np.nonzero(block >= threshold)
        pairs += [(top + int(i), int(j), float(block[i, j]))
                  for i, j in zip(rows, cols, strict=True) if top + i < j]
    return sorted(pairs)
