"""Human labels into the corpus store (`stance review import --db`, the service's ``POST /labels``)
and the store's sentences out for review (`stance review export --db`).

A label row (as `stance review import -o` writes it) names its sentence by the article's key,
the character offsets and the SHA-256 of the text. It is applied only when the store holds that
article, a sentence at exactly those offsets, and that sentence still hashes the same; otherwise
the row is reported with the reason and nothing of it is written. Importing the same row again
changes nothing (``unchanged``); a later row for the same sentence replaces the earlier one
(``replaced``), as a later label file does for ``--labels``. A row without a label (annotators
tied) removes an earlier label of its sentence: the latest review decides.

The attributions that go with the labels (:func:`stance.incremental.refresh_attributions`) are
recomputed in the same transaction, so `stance track --db` counts what `stance track --labels`
counts on the same articles.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from stance.labels import ACTORS, LABELS, column
from stance.review import text_sha256
from stance.store import PROBABILITY_COLUMNS, Store

ADDED, REPLACED, UNCHANGED, REMOVED, TIE, REJECTED = (
    "added", "replaced", "unchanged", "removed", "tie", "rejected")
# What a row's answer says was done: everything but REJECTED is a row the store took.
STATUSES = (ADDED, REPLACED, UNCHANGED, REMOVED, TIE, REJECTED)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_OFFSET = 2 ** 31 - 1  # the store's offsets are INTEGER
# The columns compared to tell a re-import (unchanged) from a new review (replaced).
_COMPARED = ("text_sha256", "label", "actor", "agreement", "actor_agreement", "annotators",
             "annotations", "sample", "reviewed_model")


@dataclass
class LabelOutcome:
    """What became of one label row: ``status`` one of :data:`STATUSES`, ``reason`` when rejected."""

    where: str
    status: str
    reason: str | None = None
    article_id: int | None = None
    sentence_index: int | None = None
    # Rejected as no valid label row at all (unknown label or actor, a missing field), rather
    # than a valid one that does not match the store.
    malformed: bool = False

    def to_dict(self) -> dict:
        return {"row": self.where, "status": self.status, "reason": self.reason,
                "article_id": self.article_id, "sentence_index": self.sentence_index}


def check_row(row) -> str | None:
    """Why ``row`` is not a label row, or None."""
    if not isinstance(row, dict):
        return "not a label row (an object with article_id, start, end, text_sha256, label)"
    missing = [k for k in ("article_id", "start", "end", "text_sha256") if row.get(k) in (None, "")]
    if missing:
        return f"not a label row: no {', '.join(missing)}"
    if not isinstance(row["article_id"], str):
        return f"article_id must be the article's key (a string), got {row['article_id']!r}"
    for name in ("start", "end"):
        value = row[name]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not float(value).is_integer() or not 0 <= value <= _MAX_OFFSET):
            return f"{name} must be a character offset (an integer ≥ 0), got {value!r}"
    if not isinstance(row["text_sha256"], str) or not _SHA256.fullmatch(row["text_sha256"]):
        return f"text_sha256 must be 64 hexadecimal digits, got {row['text_sha256']!r}"
    try:
        json.dumps(row, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return "the row holds text that is not valid Unicode (a lone surrogate)"
    label, actor = row.get("label"), row.get("actor")
    if label is not None and label not in LABELS:
        return f"unknown label {label!r}; expected one of {', '.join(LABELS)}"
    if actor is not None and actor not in ACTORS:
        return f"unknown actor {actor!r}; expected one of {', '.join(ACTORS)}"
    return None


def _text(value) -> str | None:
    """An optional descriptive field as stored: a string, else nothing (rows may come from HTTP)."""
    return value if isinstance(value, str) else None


def _record(row: dict, sentence: tuple[int, int], source: str | None) -> dict:
    annotators = row.get("annotators") if isinstance(row.get("annotators"), list) else []
    return {"article_id": sentence[0], "sentence_index": sentence[1], "start_char": row["start"],
            "end_char": row["end"], "text_sha256": row["text_sha256"], "label": row["label"],
            "actor": row.get("actor"), "agreement": _text(row.get("agreement")),
            "actor_agreement": _text(row.get("actor_agreement")),
            "annotators": len(annotators),
            "annotations": json.dumps(annotators, ensure_ascii=False, sort_keys=True, default=str),
            "sample": _text(row.get("sample")), "reviewed_model": _text(row.get("model_version")),
            "source": source}


def _locate(store: Store, row: dict) -> tuple[tuple[int, int] | None, str | None]:
    """(store id, sentence index) of the row's sentence, or None and why not."""
    found = store.db.execute("SELECT id FROM articles WHERE key = ?", [str(row["article_id"])]).fetchone()
    if found is None:
        return None, f"unknown article {row['article_id']!r}: the store holds no article with that key"
    sentence = store.db.execute(
        """SELECT sentence_index, text, furniture FROM sentences WHERE article_id = ? AND
           start_char = ? AND end_char = ?""", [found[0], row["start"], row["end"]]).fetchone()
    where = f"{row['article_id']} [{row['start']}:{row['end']}]"
    if sentence is None:
        return None, f"unknown sentence: the stored article has no sentence at {where}"
    if text_sha256(sentence[1]) != row["text_sha256"]:
        return None, (f"text hash mismatch: the stored sentence at {where} reads "
                      f"{sentence[1][:60]!r}, not the text that was labelled")
    if sentence[2]:
        return None, f"page furniture at {where}: never labelled"
    return (found[0], sentence[0]), None


def import_labels(store: Store, rows: Iterable[tuple[str, dict]], source: str | None = None,
                  attributor=None) -> list[LabelOutcome]:
    """Validate and store ``rows`` ((where, label row) pairs) in one transaction; one outcome
    per row, in order. Rows that fail are reported and skipped; the others are applied."""
    from stance.incremental import refresh_attributions

    outcomes: list[LabelOutcome] = []
    touched: set[int] = set()
    now = dt.datetime.now(dt.timezone.utc)
    store.db.execute("BEGIN TRANSACTION")
    try:
        for where, row in rows:
            reason = check_row(row)
            if reason is not None:
                outcomes.append(LabelOutcome(where, REJECTED, reason, malformed=True))
                continue
            row = {**row, "start": int(row["start"]), "end": int(row["end"])}
            sentence, reason = _locate(store, row)
            if reason is not None:
                outcomes.append(LabelOutcome(where, REJECTED, reason))
                continue
            article_id, index = sentence
            earlier = store.db.execute(
                f"SELECT {', '.join(_COMPARED)} FROM human_labels WHERE article_id = ? AND "
                "sentence_index = ?", [article_id, index]).fetchone()
            if row.get("label") is None:
                if earlier is not None:
                    store.db.execute("DELETE FROM human_labels WHERE article_id = ? AND "
                                     "sentence_index = ?", [article_id, index])
                    touched.add(article_id)
                outcomes.append(LabelOutcome(where, REMOVED if earlier else TIE,
                                             "no label (annotators tied)", article_id, index))
                continue
            record = _record(row, sentence, source)
            if earlier is not None and tuple(earlier) == tuple(record[k] for k in _COMPARED):
                outcomes.append(LabelOutcome(where, UNCHANGED, None, article_id, index))
                continue
            names = [*record, "imported_at"]
            store.db.execute(
                f"INSERT OR REPLACE INTO human_labels ({', '.join(names)}) VALUES "
                f"({', '.join('?' * len(names))})", [*record.values(), now])
            touched.add(article_id)
            outcomes.append(LabelOutcome(where, REPLACED if earlier else ADDED, None, article_id,
                                         index))
        if touched:
            refresh_attributions(store, sorted(touched), attributor)
        store.db.execute("COMMIT")
    except BaseException:
        store.db.execute("ROLLBACK")
        raise
    return outcomes


def summary(outcomes: list[LabelOutcome]) -> str:
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no rows"


def review_rows(store: Store, version: str) -> list[dict]:
    """``version``'s stored predictions as the rows `stance review export` samples from (the
    fields of a `stance score` row, with the article's date and outlet), in store order. The
    model's label, not a human one: the review looks at what the model said."""
    names = ("article_id", "published", "source", "sentence_index", "start", "end", "text",
             "furniture", "label", "confidence", *(f"p_{column(label)}" for label in LABELS))
    rows = store.db.execute(
        f"""SELECT a.key, a.published, a.site, s.sentence_index, s.start_char, s.end_char, s.text,
                   p.furniture, p.label, p.confidence, {", ".join(f"p.{c}" for c in PROBABILITY_COLUMNS)}
            FROM predictions p JOIN articles a ON a.id = p.article_id
            JOIN sentences s ON s.article_id = p.article_id AND s.sentence_index = p.sentence_index
            WHERE p.model_version = ? ORDER BY p.article_id, p.sentence_index""", [version]).fetchall()
    out = []
    for values in rows:
        row = dict(zip(names, values, strict=True))
        row["published"] = row["published"].isoformat() if row["published"] is not None else None
        out.append(row)
    return out


def reviewed_keys(store: Store) -> set[tuple[str, int, int]]:
    """(article key, start, end) of every sentence the store holds a human label for."""
    return set(store.db.execute("""SELECT a.key, h.start_char, h.end_char FROM human_labels h
                                   JOIN articles a ON a.id = h.article_id""").fetchall())
