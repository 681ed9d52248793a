"""``stance export --db``: the store as Parquet, partitioned by publication year, one model version.

Layout of the output directory::

    export.json                        what was exported (model version, counts, schema)
    sentences/year=2022/part-0.parquet one row per sentence with that version's prediction (or
                                       the human label in its place: ``label_source``)
    sentences/year=undated/part-0.parquet
    articles/year=2022/part-0.parquet  one row per article, with ``scored`` by that version
    ...

Every file has the explicit schemas below (dates as ``date32``, times as UTC timestamps, counts
as integers, nullable columns typed even when a partition holds only nulls), so files of any
two exports, or any two years, concatenate. ``year`` is the directory's key: the year of
``published``, or ``undated``; readers get it as a string (pandas: a category), and
``published`` holds the date itself. Rows are streamed from DuckDB in batches: memory stays flat
however large the store. The export is written beside the output and moved into place when
complete, so a failed run leaves no half-written export.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stance.store import PROBABILITY_COLUMNS, Store

UNDATED_PARTITION = "undated"
# Rows per record batch streamed from DuckDB, and per Parquet row group.
BATCH_ROWS = 65_536
_PARTS = ("sentences", "articles", "export.json")

SENTENCE_SCHEMA = pa.schema([
    pa.field("article_id", pa.int64(), nullable=False),
    pa.field("article_key", pa.string(), nullable=False),
    pa.field("published", pa.date32()),
    pa.field("site", pa.string()),
    pa.field("sentence_index", pa.int32(), nullable=False),
    # Offsets named as in every other sentence row (stance.sentence_rows); the store's columns
    # are start_char and end_char.
    pa.field("start", pa.int32(), nullable=False),
    pa.field("end", pa.int32(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("furniture", pa.bool_(), nullable=False),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("confidence", pa.float64(), nullable=False),
    *(pa.field(name, pa.float64(), nullable=False) for name in PROBABILITY_COLUMNS),
    pa.field("actor", pa.string(), nullable=False),
    pa.field("actor_surface", pa.string()),
    pa.field("actor_rule", pa.string()),
    pa.field("actor_detail", pa.string()),
    # ``human`` where a reviewed label (`stance review import --db`) replaced the model's: its
    # label, confidence 1 and attribution; the p_* columns stay the model's.
    pa.field("label_source", pa.string(), nullable=False),
])

ARTICLE_SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("title", pa.string()),
    pa.field("site", pa.string()),
    pa.field("published", pa.date32()),
    pa.field("date_source", pa.string()),
    pa.field("text_source", pa.string()),
    pa.field("path", pa.string()),
    pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("sentences", pa.int32(), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("warnings", pa.list_(pa.string())),
    pa.field("scored", pa.bool_(), nullable=False),  # has the exported version scored it
])

_SENTENCE_SQL = f"""
    SELECT p.article_id, a.key, a.published, a.site, p.sentence_index, s.start_char, s.end_char,
           s.text, p.furniture, p.model_version, p.label, p.confidence,
           {", ".join(f"p.{name}" for name in PROBABILITY_COLUMNS)},
           p.actor, p.actor_surface, p.actor_rule, p.actor_detail, p.label_source
    FROM {{predictions}} p
    JOIN articles a ON a.id = p.article_id
    JOIN sentences s ON s.article_id = p.article_id AND s.sentence_index = p.sentence_index
    WHERE p.model_version = ? AND {{year}}
    ORDER BY p.article_id, p.sentence_index"""
_ARTICLE_SQL = """
    SELECT a.id, a.key, a.url, a.content_hash, a.title, a.site, a.published, a.date_source,
           a.text_source, a.path, a.fetched_at, a.ingested_at, a.sentences, a.text, a.warnings,
           EXISTS (SELECT 1 FROM scored_articles m WHERE m.article_id = a.id
                   AND m.model_version = ?) AS scored
    FROM articles a WHERE {year} ORDER BY a.id"""


class ExportError(Exception):
    """An export that cannot be written as asked (an earlier export in the way)."""


@dataclass
class Exported:
    directory: Path
    model_version: str
    sentences: int = 0
    articles: int = 0
    years: list[str] = field(default_factory=list)


def _years(store: Store) -> list[int | None]:
    rows = store.db.execute("SELECT DISTINCT year(published) AS y FROM articles ORDER BY y NULLS LAST")
    return [r[0] for r in rows.fetchall()]


def _write(store: Store, sql: str, params: list, schema: pa.Schema, path: Path) -> int:
    """Stream the rows of ``sql`` into one Parquet file of ``schema``; how many rows."""
    relation = store.db.sql(sql, params=params)  # a relation streams; an executed result copies
    # DuckDB 2 names it to_arrow_reader, 1.x fetch_arrow_reader (pyproject allows both).
    stream = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    reader = stream(BATCH_ROWS)
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch]).rename_columns(schema.names).cast(schema)
            writer.write_table(table, row_group_size=BATCH_ROWS)
            written += table.num_rows
    return written


def export_parquet(store: Store, version: str, directory: str | Path) -> Exported:
    """Write the store's articles and ``version``'s sentence predictions under ``directory``."""
    directory = Path(directory)
    in_the_way = [name for name in _PARTS if (directory / name).exists()]
    if in_the_way:
        raise ExportError(f"{directory} already holds an export ({', '.join(in_the_way)}): remove "
                          "it or choose another directory")
    directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".stance-export-", dir=directory))
    result = Exported(directory, version)
    predictions = store.predictions()  # before any stream opens: it asks the store a question
    try:
        for year in _years(store):
            name = UNDATED_PARTITION if year is None else str(year)
            condition = "a.published IS NULL" if year is None else "year(a.published) = ?"
            params = [] if year is None else [year]
            n = _write(store, _SENTENCE_SQL.format(year=condition, predictions=predictions),
                       [version, *params],
                       SENTENCE_SCHEMA, work / "sentences" / f"year={name}" / "part-0.parquet")
            result.sentences += n
            result.articles += _write(store, _ARTICLE_SQL.format(year=condition), [version, *params],
                                      ARTICLE_SCHEMA, work / "articles" / f"year={name}" / "part-0.parquet")
            result.years.append(name)
        manifest = {
            "model_version": version, "store": str(store.path),
            "schema_version": store.schema_version(),
            "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "partitioning": "hive: year=<year of published>|undated",
            "sentences": result.sentences, "articles": result.articles, "years": result.years,
            "schemas": {"sentences": _describe(SENTENCE_SCHEMA), "articles": _describe(ARTICLE_SCHEMA)},
        }
        (work / "export.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in _PARTS:
            if (work / name).exists():
                (work / name).rename(directory / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _describe(schema: pa.Schema) -> list[dict]:
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]
