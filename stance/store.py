"""The corpus store: one DuckDB file holding articles, their sentences, and every model's predictions.

Tables (schema version in ``schema_info``; :data:`MIGRATIONS` brings an older file up to date):

- ``articles``: ``id`` (the store's number), ``key`` (the id the input gave: file name, CSV id,
  feed guid, URL), ``url``, ``content_hash`` (SHA-256 of the whitespace-normalised text),
  ``title``, ``site``, ``published`` (DATE), ``date_source``, ``text_source``, ``path``,
  ``fetched_at``, ``ingested_at``, ``sentences`` (how many), ``text``, ``warnings``.
- ``sentences``: ``article_id``, ``sentence_index``, ``start_char``, ``end_char``, ``text``,
  ``furniture``: segmented once, at ingest.
- ``models``: each model version that scored here (name, backend, path, when first seen).
- ``predictions``: one row per sentence and ``model_version``: ``label``, ``confidence``, one
  ``p_<label>`` column per label, ``actor``, ``actor_surface``, ``actor_rule``, ``actor_detail``
  (nullable: filled when the attributor provides it). A new model adds rows; history stays.
- ``scored_articles``: (``article_id``, ``model_version``, ``scored_at``), written in the same
  transaction as the article's predictions: the marker that an article is done, so a killed
  run loses at most the batch in flight and the next run starts after the last committed one.
- ``human_labels`` (schema 2): one reviewed label per sentence (``article_id``,
  ``sentence_index``, its ``start_char``/``end_char`` and ``text_sha256``), with ``actor``,
  ``agreement``, ``actor_agreement``, ``annotators`` (how many) and ``annotations`` (JSON: who
  said what) as `stance review import` resolves them, ``sample``, ``reviewed_model``,
  ``source`` and ``imported_at`` (:mod:`stance.store_labels` writes it).
- ``human_attributions`` (schema 2): per (sentence, ``model_version``), the attribution the
  attributor gives once the human labels of the article are in (the learned actor decision
  reads each sentence's label), with the reviewer's actor in place of its own as `stance track
  --labels` does; only where it differs from the prediction's.

The reports read predictions through :meth:`Store.predictions`: a human label (confidence 1,
``label_source`` ``human``) and its attribution in place of the model's; the ``p_*`` columns stay
the model's.

An article already stored under the same URL or the same text is a duplicate and is not added.
DuckDB lets one process write a file at a time; a second writer gets a clear error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stance import sentence_rows
from stance.labels import LABELS, NEUTRAL, column, dominant_of
from stance.records import Article

DB_ENV = "STANCE_DB"
DEFAULT_DB = "stance.duckdb"
# Articles committed per ingest transaction.
INGEST_BATCH = 200
PROBABILITY_COLUMNS = sentence_rows.PROBABILITY_COLUMNS

_SCHEMA_1 = [
    "CREATE SEQUENCE article_ids START 1",
    """CREATE TABLE articles (
        id BIGINT PRIMARY KEY DEFAULT nextval('article_ids'),
        key VARCHAR NOT NULL UNIQUE,
        url VARCHAR UNIQUE,
        content_hash VARCHAR NOT NULL UNIQUE,
        title VARCHAR, site VARCHAR, published DATE, date_source VARCHAR, text_source VARCHAR,
        path VARCHAR, fetched_at TIMESTAMPTZ, ingested_at TIMESTAMPTZ NOT NULL,
        sentences INTEGER NOT NULL, text VARCHAR NOT NULL, warnings VARCHAR[])""",
    # No index on the large tables: rows arrive in article order, so DuckDB's per-block min/max
    # finds an article range without one, and an index over millions of rows costs memory and
    # write time. The scored_articles marker, written in the same transaction, keeps rows unique.
    """CREATE TABLE sentences (
        article_id BIGINT NOT NULL, sentence_index INTEGER NOT NULL, start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL, text VARCHAR NOT NULL, furniture BOOLEAN NOT NULL)""",
    """CREATE TABLE models (
        model_version VARCHAR PRIMARY KEY, name VARCHAR, backend VARCHAR, path VARCHAR,
        registered_at TIMESTAMPTZ NOT NULL)""",
    f"""CREATE TABLE predictions (
        article_id BIGINT NOT NULL, sentence_index INTEGER NOT NULL, model_version VARCHAR NOT NULL,
        label VARCHAR NOT NULL, confidence DOUBLE NOT NULL,
        {", ".join(f"{name} DOUBLE NOT NULL" for name in PROBABILITY_COLUMNS)},
        furniture BOOLEAN NOT NULL, actor VARCHAR NOT NULL, actor_surface VARCHAR,
        actor_rule VARCHAR, actor_detail VARCHAR)""",
    """CREATE TABLE scored_articles (
        article_id BIGINT NOT NULL, model_version VARCHAR NOT NULL, scored_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (article_id, model_version))""",
]
_SCHEMA_2 = [
    """CREATE TABLE human_labels (
        article_id BIGINT NOT NULL, sentence_index INTEGER NOT NULL, start_char INTEGER NOT NULL,
        end_char INTEGER NOT NULL, text_sha256 VARCHAR NOT NULL, label VARCHAR NOT NULL,
        actor VARCHAR, agreement VARCHAR, actor_agreement VARCHAR, annotators INTEGER NOT NULL,
        annotations VARCHAR, sample VARCHAR, reviewed_model VARCHAR, source VARCHAR,
        imported_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (article_id, sentence_index))""",
    """CREATE TABLE human_attributions (
        article_id BIGINT NOT NULL, sentence_index INTEGER NOT NULL, model_version VARCHAR NOT NULL,
        actor VARCHAR NOT NULL, actor_surface VARCHAR, actor_rule VARCHAR, actor_detail VARCHAR,
        PRIMARY KEY (article_id, sentence_index, model_version))""",
]
# MIGRATIONS[n] takes a file from schema version n to n + 1; version 0 is an empty file. Append,
# never edit: a file made by any release upgrades by running the steps it has not seen.
MIGRATIONS: list[list[str]] = [_SCHEMA_1, _SCHEMA_2]
# The oldest schema a read-only connection reads without migrating: schema 2 only added the
# human-label tables, and a file without them holds no human label.
READ_AS_IS = 1
HUMAN_LABELS_SINCE = 2
_WHITESPACE = re.compile(r"\s+")
ATTRIBUTION_COLUMNS = ("actor", "actor_surface", "actor_rule", "actor_detail")
_PLAIN = "(SELECT *, 'model' AS label_source FROM predictions)"


def _corrected() -> str:
    attribution = ", ".join(f"CASE WHEN c.article_id IS NULL THEN p.{name} ELSE c.{name} END AS {name}"
                            for name in ATTRIBUTION_COLUMNS)
    return f"""(SELECT p.article_id, p.sentence_index, p.model_version,
            coalesce(h.label, p.label) AS label,
            CASE WHEN h.label IS NULL THEN p.confidence ELSE 1.0::DOUBLE END AS confidence,
            {", ".join(f"p.{name}" for name in PROBABILITY_COLUMNS)}, p.furniture, {attribution},
            CASE WHEN h.label IS NULL THEN 'model' ELSE 'human' END AS label_source
        FROM predictions p
        LEFT JOIN human_labels h ON h.article_id = p.article_id
             AND h.sentence_index = p.sentence_index AND NOT p.furniture
        LEFT JOIN human_attributions c ON c.article_id = p.article_id
             AND c.sentence_index = p.sentence_index AND c.model_version = p.model_version)"""


_CORRECTED = _corrected()


class StoreError(Exception):
    """A store that cannot be used as asked (locked, newer than this program, not a store)."""


def default_path(path: str | None = None) -> str:
    return path or os.environ.get(DB_ENV) or DEFAULT_DB


def content_hash(text: str) -> str:
    """SHA-256 of the text with whitespace runs made single spaces: re-saved copies match."""
    return hashlib.sha256(_WHITESPACE.sub(" ", text).strip().encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Ingested:
    """What became of one input: ``added``, ``duplicate`` (of ``existing``) or ``skipped``."""

    key: str
    status: str
    reason: str | None = None
    article_id: int | None = None
    sentences: int = 0
    path: str | None = None


class Store:
    """One DuckDB file; open with :func:`open_store` (a context manager closes it)."""

    def __init__(self, connection, path: str):
        self.db = connection
        self.path = path

    # --- schema -------------------------------------------------------------------------------

    def schema_version(self) -> int:
        exists = self.db.execute("SELECT count(*) FROM information_schema.tables "
                                 "WHERE table_name = 'schema_info'").fetchone()[0]
        if not exists:
            return 0
        return self.db.execute("SELECT version FROM schema_info").fetchone()[0]

    def migrate(self) -> list[int]:
        """Run the migrations this file has not had, each in its own transaction."""
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise StoreError(f"{self.path}: schema version {current} was written by a newer stance "
                             f"(this one knows up to {len(MIGRATIONS)}); upgrade stance")
        applied = []
        for version in range(current, len(MIGRATIONS)):
            self.db.execute("BEGIN TRANSACTION")
            try:
                if version == 0:
                    self.db.execute("CREATE TABLE schema_info (version INTEGER NOT NULL)")
                    self.db.execute("INSERT INTO schema_info VALUES (0)")
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement)
                self.db.execute("UPDATE schema_info SET version = ?", [version + 1])
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise
            applied.append(version + 1)
        return applied

    # --- ingest -------------------------------------------------------------------------------

    def _duplicate_of(self, url: str | None, digest: str) -> tuple[str, str, int] | None:
        row = self.db.execute("SELECT key, url = ?, id FROM articles WHERE url = ? OR content_hash = ? "
                              "LIMIT 1", [url, url, digest]).fetchone()
        if row is None:
            return None
        return row[0], "same url" if row[1] else "same text", row[2]

    def _free_key(self, key: str, taken: set[str]) -> str:
        candidate, n = key, 1
        while candidate in taken or self.db.execute("SELECT 1 FROM articles WHERE key = ?",
                                                    [candidate]).fetchone():
            n += 1
            candidate = f"{key}#{n}"
        return candidate

    def ingest(self, articles: Iterable[Article], batch: int = INGEST_BATCH) -> Iterator[Ingested]:
        """Add articles (segmented now), ``batch`` per transaction; yield what became of each."""
        from stance.segment import segment

        # In input order: an Ingested already decided (duplicate, skipped), or an article to add.
        pending: list[Ingested | tuple[Article, str, list]] = []
        seen: dict[str, str] = {}  # url or hash → key, for duplicates within one batch
        taken: set[str] = set()

        def flush() -> Iterator[Ingested]:
            if not pending:
                return
            self.db.execute("BEGIN TRANSACTION")
            try:
                results = [item if isinstance(item, Ingested) else self._insert(*item) for item in pending]
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise
            pending.clear()
            seen.clear()
            taken.clear()
            yield from results

        for article in articles:
            digest = content_hash(article.text)
            earlier = seen.get(digest) or (seen.get(article.url) if article.url else None)
            duplicate = (earlier, "same text" if digest in seen else "same url", None) if earlier \
                else self._duplicate_of(article.url, digest)
            if duplicate:
                # The stored article's id (None for one added earlier in this batch).
                pending.append(Ingested(article.id, "duplicate", f"{duplicate[1]} as {duplicate[0]!r}",
                                        article_id=duplicate[2], path=article.path))
                continue
            sentences = segment(article.text, masthead=article.source)
            if not sentences:
                pending.append(Ingested(article.id, "skipped", "no sentences found", path=article.path))
                continue
            article.id = self._free_key(article.id, taken)
            taken.add(article.id)
            seen[digest] = article.id
            if article.url:
                seen[article.url] = article.id
            pending.append((article, digest, sentences))
            if len(pending) >= batch:
                yield from flush()
        yield from flush()

    def _insert(self, article: Article, digest: str, sentences: list) -> Ingested:
        import pyarrow as pa

        article_id = self.db.execute(
            """INSERT INTO articles (key, url, content_hash, title, site, published, date_source,
                   text_source, path, fetched_at, ingested_at, sentences, text, warnings)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            [article.id, article.url, digest, article.title, article.source,
             dt.date.fromisoformat(article.published) if article.published else None,
             article.date_source, article.text_source, article.path,
             dt.datetime.fromisoformat(article.fetched_at) if article.fetched_at else None,
             _now(), len(sentences), article.text, list(article.warnings)]).fetchone()[0]
        rows = pa.table({
            "article_id": pa.array([article_id] * len(sentences), pa.int64()),
            "sentence_index": pa.array([s.index for s in sentences], pa.int32()),
            "start_char": pa.array([s.start for s in sentences], pa.int32()),
            "end_char": pa.array([s.end for s in sentences], pa.int32()),
            "text": pa.array([s.text for s in sentences], pa.string()),
            "furniture": pa.array([s.furniture for s in sentences], pa.bool_()),
        })
        self.db.register("_new_sentences", rows)
        try:
            self.db.execute("INSERT INTO sentences SELECT * FROM _new_sentences")
        finally:
            self.db.unregister("_new_sentences")
        return Ingested(article.id, "added", article_id=article_id, sentences=len(sentences),
                        path=article.path)

    # --- scoring ------------------------------------------------------------------------------

    def register_model(self, version: str, name: str | None, backend: str | None,
                       path: str | None) -> None:
        self.db.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [version, name, backend, path, _now()])

    def unscored(self, version: str, after: int, limit: int) -> list[tuple[int, str, int]]:
        """(id, key, sentence count) of up to ``limit`` articles after ``after`` not yet scored
        by ``version``, in id order."""
        return self.db.execute(
            """SELECT id, key, sentences FROM articles a WHERE id > ? AND NOT EXISTS (
                   SELECT 1 FROM scored_articles s WHERE s.article_id = a.id AND s.model_version = ?)
               ORDER BY id LIMIT ?""", [after, version, limit]).fetchall()

    def count_unscored(self, version: str) -> int:
        return self.db.execute(
            """SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM scored_articles s
               WHERE s.article_id = a.id AND s.model_version = ?)""", [version]).fetchone()[0]

    def published_of(self, ids: list[int]) -> dict[int, str | None]:
        """The publication date (``YYYY-MM-DD``) of each of the articles ``ids``, None when undated."""
        rows = self.db.execute(
            """SELECT id, published FROM articles WHERE id BETWEEN ? AND ? AND list_contains(?, id)""",
            [min(ids), max(ids), ids]).fetchall()
        return {article_id: day.isoformat() if day is not None else None for article_id, day in rows}

    def sentences_of(self, ids: list[int]) -> dict[int, list[tuple[int, str, bool]]]:
        """(index, text, furniture) of each sentence of the articles ``ids``, in order."""
        rows = self.db.execute(
            """SELECT article_id, sentence_index, text, furniture FROM sentences
               WHERE article_id BETWEEN ? AND ? AND list_contains(?, article_id)
               ORDER BY article_id, sentence_index""", [min(ids), max(ids), ids]).fetchall()
        out: dict[int, list] = {i: [] for i in ids}
        for article_id, index, text, furniture in rows:
            out[article_id].append((index, text, furniture))
        return out

    def add_predictions(self, version: str, table, article_ids: list[int],
                        attributions: list[tuple] = ()) -> None:
        """Insert one batch of prediction rows (and the ``human_attributions`` rows that go with
        them) and mark its articles scored, atomically."""
        import pyarrow as pa

        self.db.execute("BEGIN TRANSACTION")
        try:
            if attributions:
                self.db.executemany("INSERT INTO human_attributions VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    list(attributions))
            self.db.register("_new_predictions", table)
            self.db.execute(f"INSERT INTO predictions ({', '.join(table.column_names)}) "
                            "SELECT * FROM _new_predictions")
            marks = pa.table({"article_id": pa.array(article_ids, pa.int64()),
                              "model_version": pa.array([version] * len(article_ids), pa.string()),
                              "scored_at": pa.array([_now()] * len(article_ids),
                                                    pa.timestamp("us", tz="UTC"))})
            self.db.register("_new_marks", marks)
            self.db.execute("INSERT INTO scored_articles SELECT * FROM _new_marks")
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise
        finally:
            self.db.unregister("_new_predictions")
            self.db.unregister("_new_marks")

    def latest_model(self, exclude: str | None = None) -> str | None:
        """The model registered last that has scored anything (other than ``exclude``)."""
        row = self.db.execute(
            """SELECT m.model_version FROM models m WHERE m.model_version IS DISTINCT FROM ?
               AND EXISTS (SELECT 1 FROM scored_articles s WHERE s.model_version = m.model_version)
               ORDER BY m.registered_at DESC LIMIT 1""", [exclude]).fetchone()
        return row[0] if row else None

    def label_changes(self, old: str, new: str) -> tuple[int, int]:
        """(sentences both versions labelled, those whose label differs), furniture left out."""
        both, changed = self.db.execute(
            """SELECT count(*), count(*) FILTER (WHERE o.label <> n.label)
               FROM predictions o JOIN predictions n
                 ON n.article_id = o.article_id AND n.sentence_index = o.sentence_index
               WHERE o.model_version = ? AND n.model_version = ? AND NOT o.furniture""",
            [old, new]).fetchone()
        return both, changed

    def model_versions(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT model_version FROM models ORDER BY registered_at")
                .fetchall()]

    # --- human labels -------------------------------------------------------------------------

    def human_label_count(self) -> int:
        if self.schema_version() < HUMAN_LABELS_SINCE:  # an older file opened read-only
            return 0
        return self.db.execute("SELECT count(*) FROM human_labels").fetchone()[0]

    def predictions(self) -> str:
        """SQL of the predictions as every report reads them (a subquery: ``FROM {it} p``), with
        ``label_source``; the human labels' overlay only when the store holds one, so a store
        without any reads its table as before."""
        return _CORRECTED if self.human_label_count() else _PLAIN

    def replace_attributions(self, ids: list[int], rows: list[tuple]) -> None:
        """The ``human_attributions`` of the articles ``ids`` become ``rows`` (caller's transaction)."""
        if ids:
            self.db.execute("DELETE FROM human_attributions WHERE list_contains(?, article_id)",
                            [list(ids)])
        if rows:
            self.db.executemany("INSERT INTO human_attributions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def human_labels_of(self, ids: list[int]) -> dict[int, dict[int, tuple[str, str | None]]]:
        """(label, actor) of every reviewed sentence of the articles ``ids``, by sentence index."""
        out: dict[int, dict[int, tuple[str, str | None]]] = {}
        if not ids:
            return out
        for article_id, index, label, actor in self.db.execute(
                """SELECT article_id, sentence_index, label, actor FROM human_labels
                   WHERE list_contains(?, article_id)""", [list(ids)]).fetchall():
            out.setdefault(article_id, {})[index] = (label, actor)
        return out

    # --- reading ------------------------------------------------------------------------------

    def is_scored(self, article_id: int, version: str) -> bool:
        return self.db.execute("SELECT count(*) FROM scored_articles WHERE article_id = ? AND "
                               "model_version = ?", [article_id, version]).fetchone()[0] > 0

    def article(self, article_id: int, version: str | None) -> dict | None:
        """One stored article with its sentences and ``version``'s prediction for each (the
        prediction fields are None while ``version`` has not scored it), a human label in place
        of the model's where one is stored (``label_source`` says which); None when there is no
        such article. Dates are ISO strings."""
        if not -(2 ** 63) <= article_id < 2 ** 63:
            return None
        row = self.db.execute(
            """SELECT id, key, url, content_hash, title, site, published, date_source, text_source,
                      fetched_at, ingested_at, text, warnings FROM articles WHERE id = ?""",
            [article_id]).fetchone()
        if row is None:
            return None
        names = ("id", "key", "url", "content_hash", "title", "site", "published", "date_source",
                 "text_source", "fetched_at", "ingested_at", "text", "warnings")
        article = dict(zip(names, row, strict=True))
        for name in ("published", "fetched_at", "ingested_at"):
            if article[name] is not None:
                article[name] = article[name].isoformat()
        article["warnings"] = list(article["warnings"] or [])
        article["model_version"] = version
        article["scored"] = version is not None and self.is_scored(article_id, version)
        fields = ("label", "confidence", *PROBABILITY_COLUMNS, *ATTRIBUTION_COLUMNS, "label_source")
        rows = self.db.execute(
            f"""SELECT s.sentence_index, s.start_char, s.end_char, s.text, s.furniture,
                       {", ".join(f"p.{name}" for name in fields)}
                FROM sentences s LEFT JOIN {self.predictions()} p ON p.article_id = s.article_id
                     AND p.sentence_index = s.sentence_index AND p.model_version = ?
                WHERE s.article_id = ? ORDER BY s.sentence_index""", [version, article_id]).fetchall()
        article["sentences"] = [
            {"sentence_index": r[0], "start": r[1], "end": r[2], "text": r[3], "furniture": r[4],
             **dict(zip(fields, r[5:], strict=True))} for r in rows]
        return article

    def counts(self) -> dict[str, int]:
        return {table: self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("articles", "sentences", "predictions")}

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(path: str | None = None, read_only: bool = False) -> Store:
    """Open (creating and migrating when writable) the store at ``path`` or ``$STANCE_DB``."""
    import duckdb

    path = default_path(path)
    if read_only and not Path(path).is_file():
        raise StoreError(f"{path}: no such store; add articles with `stance ingest --db {path} …`")
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            raise StoreError(f"{path}: in use by another process (DuckDB allows one writer at a "
                             f"time): {message.splitlines()[0]}") from exc
        raise StoreError(f"{path}: cannot open it as a store: {message.splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"{path}: cannot open it as a store: {str(exc).splitlines()[0]}") from exc
    store = Store(connection, path)
    try:
        if read_only:
            version = store.schema_version()
            if not READ_AS_IS <= version <= len(MIGRATIONS):
                raise StoreError(f"{path}: schema version {version}, this stance reads "
                                 f"{len(MIGRATIONS)}: open it once for writing to migrate it")
        else:
            store.migrate()
    except BaseException:
        connection.close()
        raise
    return store


# --- aggregation in SQL -----------------------------------------------------------------------

_TRUNCATE = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


def timeline(store: Store, version: str, by: str = "month", by_actor: bool | str = False,
             min_confidence: float | None = None, actor: str | None = None,
             since: str | None = None) -> list[dict]:
    """The ``stance track`` table from the store, counted in SQL: the same rows as
    :func:`stance.tracking.aggregate` over the same predictions (furniture and sentences below
    ``min_confidence`` left out; ``actor`` and ``since`` narrow it), human labels in place of
    the model's as `stance track --labels` puts them.

    Rows are grouped on the date truncated to the period's first day (``date_trunc``, integer
    work) and only the grouped rows are written as ISO periods; articles per row are counted
    from one row per (article, actor) rather than with ``count(DISTINCT …)`` over sentences.
    """
    from stance.labels import ACTORS
    from stance.periods import ALL, UNDATED, net_stance, period_of, period_sort_key

    if by not in _TRUNCATE:
        raise ValueError(f"unknown period {by!r}; expected one of {', '.join(_TRUNCATE)}")
    # "detail": the actor and its state or organisation, as tracking's ``actor/detail`` groups.
    group_actor = ("p.actor || '/' || coalesce(p.actor_detail, '')" if by_actor == "detail"
                   else "p.actor" if by_actor else f"'{ALL}'")
    where = ["p.model_version = ?", "NOT p.furniture"]
    params: list = [version]
    if min_confidence is not None:
        where.append("p.confidence >= ?")
        params.append(min_confidence)
    if actor is not None:
        where.append("p.actor = ?")
        params.append(actor)
    joined = "JOIN articles a ON a.id = p.article_id"
    if since is not None:
        where.append("a.published >= ?")
        params.append(dt.date.fromisoformat(since))
    condition = " AND ".join(where)
    start = f"date_trunc('{_TRUNCATE[by]}', a.published)"
    source = store.predictions()
    per_label = store.db.execute(
        f"""SELECT {start}, {group_actor}, p.label, count(*), sum(p.confidence)
            FROM {source} p {joined} WHERE {condition} GROUP BY ALL""", params).fetchall()
    per_row = store.db.execute(
        f"""WITH pa AS (SELECT p.article_id, {group_actor} AS actor FROM {source} p {joined}
                        WHERE {condition} GROUP BY ALL)
            SELECT {start}, pa.actor, count(*) FROM pa JOIN articles a ON a.id = pa.article_id
            GROUP BY ALL""", params).fetchall()

    def period(day) -> str:
        return period_of(day.isoformat(), by) if day is not None else UNDATED

    labels: dict[tuple, dict[str, tuple[int, float]]] = {}
    sentences: dict[tuple, int] = {}
    for day, actor_value, label, n, mass in per_label:
        key = (period(day), actor_value)
        labels.setdefault(key, {})[label] = (n, mass)
        sentences[key] = sentences.get(key, 0) + n
    order = {name: i for i, name in enumerate((ALL, *ACTORS))}
    rows = []
    for day, actor_value, articles in sorted(
            per_row, key=lambda r: (period_sort_key(period(r[0])),
                                    order.get(r[1].partition("/")[0], len(order)), r[1])):
        key = (period(day), actor_value)
        found, total = labels[key], sentences[key]
        counts = {label: found.get(label, (0, 0.0))[0] for label in LABELS}
        actor_name, _, detail = actor_value.partition("/")
        row = {"period": key[0], "actor": actor_name}
        if by_actor == "detail":
            row["actor_detail"] = detail or None
        row.update(articles=articles, sentences=total)
        row.update({column(label): counts[label] for label in LABELS})
        row.update({f"share_{column(label)}": round(counts[label] / total, 4) for label in LABELS})
        dominant, share, confidence = dominant_of(found) or (NEUTRAL, None, None)
        row.update(net_stance=net_stance(counts), dominant_stance=dominant, dominant_share=share,
                   dominant_confidence=confidence)
        rows.append(row)
    return rows


def network_counts(store: Store, version: str, by: str = "year", detail: bool = False,
                   min_confidence: float | None = None) -> dict[tuple[str, str, str], int]:
    """Sentences per (period, holder, label) counted in SQL: the counts
    :func:`stance.network.sentence_counts` takes from ``stance track``'s sentences (furniture and
    sentences below ``min_confidence`` left out); the holder is the state or organisation with
    ``detail``, else the actor."""
    from stance.periods import UNDATED, period_of

    if by not in _TRUNCATE:
        raise ValueError(f"unknown period {by!r}; expected one of {', '.join(_TRUNCATE)}")
    holder = "coalesce(nullif(p.actor_detail, ''), p.actor)" if detail else "p.actor"
    where, params = ["p.model_version = ?", "NOT p.furniture"], [version]
    if min_confidence is not None:
        where.append("p.confidence >= ?")
        params.append(min_confidence)
    rows = store.db.execute(
        f"""SELECT date_trunc('{_TRUNCATE[by]}', a.published), {holder}, p.label, count(*)
            FROM {store.predictions()} p JOIN articles a ON a.id = p.article_id
            WHERE {" AND ".join(where)} GROUP BY ALL""", params).fetchall()
    counts: dict[tuple[str, str, str], int] = {}
    for day, who, label, n in rows:
        key = (period_of(day.isoformat(), by) if day is not None else UNDATED, who, label)
        counts[key] = counts.get(key, 0) + n
    return counts
