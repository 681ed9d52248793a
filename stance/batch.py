"""Scoring tables of articles: Arrow in, one Arrow row per sentence out, for engines that run on
batches (Ray Data, Spark's ``mapInArrow``, DuckDB, a notebook).

Two steps that can run on different machines: :func:`segment_table` (CPU only, no model) splits
articles into sentences and gives each the context the model reads with it; :func:`classify_table`
labels them. :func:`score_table` does both. The steps are those of `stance score`
(stance.segment, stance.context, stance.scoring.sentence_probabilities), so the rows are its rows,
with the article's date and source and the model's name and version added.

Every article comes out: as its sentences, or as one row whose ``reason`` says why it was skipped
(no text, no id, no sentences found). Ids are kept as given: unlike `stance score`, a table split
across machines cannot rename repeats, so give every article its own id.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator

import pyarrow as pa

from stance.articles import (
    DATE_FIELDS,
    Article,
    ArticleError,
    Skipped,
    article_from_record,
    decode_text,
    read_jsonl_text,
)
from stance.context import previous_sentences
from stance.scoring import check_min_confidence, scored_sentence, sentence_probabilities
from stance.segment import segment
from stance.sentence_rows import PROBABILITY_COLUMNS, SCORE_COLUMNS

# Columns of an articles table: ``id`` and ``text`` are required; the date may sit in any of
# stance.articles.DATE_FIELDS; other columns are ignored. ``reason`` (optional) marks inputs that
# could not be read upstream: they pass through as skipped rows.
REQUIRED_COLUMNS = ("id", "text")
OPTIONAL_COLUMNS = ("title", "source", *DATE_FIELDS, "reason")

# What segment_table returns and classify_table reads.
# Where each sentence comes from: the fields both tables begin with.
_SENTENCE_ORIGIN = [
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("published", pa.date32()),
    pa.field("source", pa.string()),
    pa.field("sentence_index", pa.int64()),
    pa.field("start", pa.int64()),
    pa.field("end", pa.int64()),
    pa.field("text", pa.string()),
]
SEGMENT_SCHEMA = pa.schema([
    *_SENTENCE_ORIGIN,
    pa.field("furniture", pa.bool_()),
    # The text the model reads with the sentence (stance.context): the previous content sentence.
    pa.field("context", pa.string()),
    pa.field("reason", pa.string()),
])


# One row per sentence; a skipped article is one row with ``reason`` set and no sentence fields.
SENTENCE_SCHEMA = pa.schema([
    *_SENTENCE_ORIGIN,
    pa.field("label", pa.string()),
    pa.field("confidence", pa.float64()),
    *(pa.field(name, pa.float64()) for name in PROBABILITY_COLUMNS),
    pa.field("furniture", pa.bool_()),
    pa.field("uncertain", pa.bool_()),
    # The model directory's name and StanceClassifier.version (the digest /model reports).
    pa.field("model", pa.string()),
    pa.field("model_version", pa.string()),
    pa.field("reason", pa.string()),
])


class BatchError(ValueError):
    """A table that is not an articles table (a usage error: nothing was scored)."""


def _check_columns(table: pa.Table) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        raise BatchError(f"an articles table needs the columns {', '.join(REQUIRED_COLUMNS)}; this one "
                         f"lacks {', '.join(missing)} (it has {', '.join(table.column_names) or 'none'})")


def _record(row: dict) -> dict:
    """A table row as article_from_record reads a JSON object: nulls absent, dates as ISO text."""
    record = {}
    for key, value in row.items():
        if value is None:
            continue
        if key in DATE_FIELDS and isinstance(value, (dt.date, dt.datetime)):
            # A timestamp column keeps its zone; the date is the one written there (stance.dates).
            value = value.isoformat()
        record[key] = value
    return record


def _skipped_row(article_id: str, reason: str, row: dict | None = None) -> dict:
    return {"article_id": article_id, "source": (row or {}).get("source"), "reason": reason}


def articles_table(items: Iterable[Article | Skipped]) -> pa.Table:
    """The articles table of what stance.articles read: skipped inputs are rows with a ``reason``."""
    rows = []
    for item in items:
        if isinstance(item, Skipped):
            rows.append({"id": item.id, "reason": item.reason})
        else:
            rows.append({"id": item.id, "text": item.text, "published": item.published,
                         "title": item.title, "source": item.source})
    schema = pa.schema([(name, pa.string()) for name in ("id", "text", "published", "title", "source",
                                                          "reason")])
    return pa.Table.from_pylist(rows, schema=schema)


def segment_table(table: pa.Table, origin: str = "table") -> pa.Table:
    """Articles → sentences (:data:`SEGMENT_SCHEMA`), each with the context the model reads.

    Rows are validated as `stance score` validates a JSONL article (stance.articles); a row without
    an id, text, or any sentence becomes one skipped row with its reason. ``origin`` names the table
    in the id of a row that has none (``table:3`` for its third row).
    """
    _check_columns(table)
    rows = []
    for number, row in enumerate(table.to_pylist(), start=1):
        record = _record(row)
        where = f"{origin}:{number}"
        if record.get("reason") is not None:
            rows.append(_skipped_row(str(record.get("id", where)), str(record["reason"]), record))
            continue
        if "id" not in record:
            rows.append(_skipped_row(where, "no id: every row of an articles table needs one", record))
            continue
        try:
            article = article_from_record(record, where, strict_dates=False)
        except ArticleError as exc:
            rows.append(_skipped_row(str(record["id"]), str(exc), record))
            continue
        sentences = segment(article.text, masthead=article.source)
        if not sentences:
            rows.append(_skipped_row(article.id, "no sentences found", record))
            continue
        published = dt.date.fromisoformat(article.published) if article.published else None
        contexts = previous_sentences([s.text for s in sentences], [s.furniture for s in sentences])
        for s, context in zip(sentences, contexts, strict=True):
            rows.append({"article_id": article.id, "published": published, "source": article.source,
                         "sentence_index": s.index, "start": s.start, "end": s.end, "text": s.text,
                         "furniture": s.furniture, "context": context, "reason": None})
    return pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA)


def classify_table(classifier, sentences: pa.Table, batch_size: int = 64,
                   min_confidence: float | None = None) -> pa.Table:
    """Sentences (:data:`SEGMENT_SCHEMA`) → scored rows (:data:`SENTENCE_SCHEMA`), in input order.

    Furniture is ``neutral`` without the model; skipped rows pass through. Below ``min_confidence``
    a sentence is marked ``uncertain``.
    """
    check_min_confidence(min_confidence)
    missing = [name for name in SEGMENT_SCHEMA.names if name not in sentences.column_names]
    if missing:
        raise BatchError(f"a sentences table (segment_table's output) needs {', '.join(missing)}")
    columns = {name: sentences.column(name).to_pylist() for name in SEGMENT_SCHEMA.names}
    wanted = [i for i, reason in enumerate(columns["reason"]) if reason is None]
    probs = sentence_probabilities(classifier, [columns["text"][i] for i in wanted],
                                   [columns["context"][i] or "" for i in wanted],
                                   [bool(columns["furniture"][i]) for i in wanted], batch_size)
    out = {name: [None] * sentences.num_rows for name in SENTENCE_SCHEMA.names}
    for name in ("article_id", "published", "source", "reason"):
        out[name] = columns[name]
    for i, p in zip(wanted, probs, strict=True):
        row = scored_sentence(columns["article_id"][i], columns["sentence_index"][i], columns["start"][i],
                              columns["end"][i], columns["text"][i], bool(columns["furniture"][i]), p,
                              min_confidence).to_row()
        for name in SCORE_COLUMNS:
            out[name][i] = row[name]
    out["model"] = [classifier.name] * sentences.num_rows
    out["model_version"] = [getattr(classifier, "version", None)] * sentences.num_rows
    return pa.Table.from_pydict(out, schema=SENTENCE_SCHEMA)


def score_table(classifier, table: pa.Table, batch_size: int = 64, min_confidence: float | None = None,
                origin: str = "table") -> pa.Table:
    """Articles → one row per sentence (:data:`SENTENCE_SCHEMA`): :func:`segment_table` then
    :func:`classify_table`."""
    return classify_table(classifier, segment_table(table, origin), batch_size, min_confidence)


def skipped(table: pa.Table) -> Iterator[tuple[str, str]]:
    """(article id, reason) of every skipped row of a segmented or scored table."""
    for article_id, reason in zip(table.column("article_id").to_pylist(), table.column("reason").to_pylist(),
                                  strict=True):
        if reason is not None:
            yield article_id, reason


# File types an engine reads as article tables: JSONL and CSV here, with the CLI's rules; Parquet
# by the engine's own reader (typed columns, split by row group).
TABLE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def read_article_bytes(data: bytes, path: str) -> pa.Table:
    """An articles table from a JSONL or CSV file's bytes, read as `stance score` reads JSONL.

    Unreadable lines and a file that cannot be decoded become rows with a ``reason``. CSV cells are
    text (a date stays as written), and a quoted cell may hold line breaks.
    """
    name = path.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = TABLE_SUFFIXES.get(suffix)
    if kind not in ("jsonl", "csv"):
        raise BatchError(f"{path}: not a JSONL or CSV file")
    try:
        text = decode_text(data)
    except ArticleError as exc:
        return articles_table([Skipped(path, str(exc))])
    if kind == "jsonl":
        return articles_table(read_jsonl_text(text, path))
    return articles_table(_csv_articles(text, path))


def _csv_articles(text: str, path: str) -> Iterator[Article | Skipped]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "text" not in reader.fieldnames:
        yield Skipped(path, f"CSV without a 'text' column (columns: {', '.join(reader.fieldnames or [])})")
        return
    for row in reader:
        where = f"{path}:{reader.line_num}"  # the line the row ends on (a cell may hold line breaks)
        record = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        try:
            yield article_from_record(record, where, strict_dates=False)
        except ArticleError as exc:
            yield Skipped(str(record.get("id", where)), str(exc))
