"""`stance track --db --plot/--html/--sentences`: the pictures, the page and the sentence rows of
`stance track`, read from the store without holding its sentences.

The charts need, per period and panel, counts per label, the articles behind them and the most
confident sentence per stance (:class:`stance.timeline.Counts`); the page adds two evidence
sentences per period, actor and stance, one row per article and the table. All of it is counted
and ranked in SQL, so Python holds one row per period, panel and label, per article, and the few
evidence sentences. ``--sentences`` rows stream from DuckDB in batches of
:data:`SENTENCE_BATCH`. Ties among equally confident sentences go to the earlier article and
sentence, as the stable sorts of :mod:`stance.timeline` and :mod:`stance.tracking` do over
sentences in input order.
"""

from __future__ import annotations

from collections.abc import Iterator

from stance.labels import LABELS, NEUTRAL, STANCES, column, dominant_of
from stance.periods import ALL, UNDATED, period_of
from stance.sentence_rows import ACTOR, LABEL_SOURCE, PROBABILITY_COLUMNS, TRACK_COLUMNS
from stance.store import _TRUNCATE, Store, timeline
from stance.timeline import MAX_PERIODS, Cell, Counts, chart_unit, evidence_text

SENTENCE_BATCH = 10_000
_TEXT = "JOIN sentences s ON s.article_id = p.article_id AND s.sentence_index = p.sentence_index"
_STANCE_LIST = "(" + ", ".join(f"'{label}'" for label in STANCES) + ")"


def _from(store: Store) -> str:
    """The predictions (human labels in place of the model's) joined to their articles."""
    return f"FROM {store.predictions()} p JOIN articles a ON a.id = p.article_id"


def _panel(facet: str) -> str:
    """SQL of a sentence's panel key, as :func:`stance.timeline._value` gives it."""
    if facet == "actor":
        return "coalesce(nullif(p.actor, ''), 'none')"
    if facet == "actor_detail":  # no state known: the coarse actor's panel
        return ("CASE WHEN p.actor_detail IS NULL THEN p.actor "
                "ELSE coalesce(nullif(p.actor_detail, ''), 'none') END")
    raise ValueError(f"the store draws panels by actor or actor_detail, not {facet!r}")


def _where(version: str, min_confidence: float | None, uncertain: bool = False) -> tuple[str, list]:
    """Content sentences of ``version`` counted (or, with ``uncertain``, left out) at
    ``min_confidence``."""
    where, params = ["p.model_version = ?", "NOT p.furniture"], [version]
    if min_confidence is not None:
        where.append("p.confidence < ?" if uncertain else "p.confidence >= ?")
        params.append(min_confidence)
    elif uncertain:
        where.append("false")
    return " AND ".join(where), params


def _period(day, by: str) -> str:
    return period_of(day.isoformat(), by) if day is not None else UNDATED


def chart_counts(store: Store, version: str, by: str = "month", facet: str = "actor",
                 min_confidence: float | None = None, max_periods: int = MAX_PERIODS) -> Counts:
    """The :class:`Counts` that :func:`stance.timeline.counts_of` gives for the same sentences."""
    if by not in _TRUNCATE:
        raise ValueError(f"unknown period {by!r}; expected one of {', '.join(_TRUNCATE)}")
    panel = _panel(facet)
    where, params = _where(version, min_confidence)
    joined = _from(store)
    dated, total, first, last = store.db.execute(
        f"SELECT count(a.published), count(*), min(a.published), max(a.published) {joined} "
        f"WHERE {where}", params).fetchone()
    unit = chart_unit([first.isoformat(), last.isoformat()] if dated else [], by, max_periods)
    off_where, off_params = _where(version, min_confidence, uncertain=True)
    result = Counts(unit, by, dated=dated, undated_sentences=total - dated,
                    uncertain_sentences=store.db.execute(f"SELECT count(*) {joined} WHERE {off_where}",
                                                         off_params).fetchone()[0])
    if not dated:
        return result
    start = f"date_trunc('{_TRUNCATE[unit]}', a.published)"
    dated_where = f"{where} AND a.published IS NOT NULL"
    for key in (panel, f"'{ALL}'"):
        cells: dict[tuple[str, str], Cell] = {}
        for day, value, label, n in store.db.execute(
                f"SELECT {start}, {key}, p.label, count(*) {joined} WHERE {dated_where} GROUP BY ALL",
                params).fetchall():
            cell = cells.setdefault((_period(day, unit), value), Cell(0, 0, {}, {}))
            cell.n += n
            cell.labels[label] = n
        for day, value, articles in store.db.execute(
                f"SELECT {start}, {key}, count(DISTINCT p.article_id) {joined} WHERE {dated_where} "
                "GROUP BY ALL", params).fetchall():
            cells[(_period(day, unit), value)].articles = articles
        for day, value, label, text, article, confidence, _surface in _top(
                store, start, key, dated_where, params, 1):
            cells[(_period(day, unit), value)].evidence.setdefault(label, []).append(
                evidence_text(text, article, confidence))
        result.cells.update(cells)
        for day, value, n in store.db.execute(
                f"SELECT {start}, {key}, count(*) {joined} WHERE {off_where} AND a.published IS NOT NULL "
                "GROUP BY ALL", off_params).fetchall():
            result.uncertain[(_period(day, unit), value)] = n
    result.panel_sentences = dict(store.db.execute(
        f"SELECT {panel}, count(*) {joined} WHERE {dated_where} GROUP BY ALL", params).fetchall())
    # A panel's commonest holder names; ties go to the name met first, as Counter.most_common.
    for value, surface in store.db.execute(
            f"""SELECT k, surface FROM (
                    SELECT {panel} AS k, p.actor_surface AS surface, count(*) AS n,
                           min((p.article_id, p.sentence_index)) AS first {joined}
                    WHERE {dated_where} AND coalesce(p.actor_surface, '') <> '' GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY k ORDER BY n DESC, first) <= 3
                ORDER BY k, n DESC, first""", params).fetchall():
        result.surfaces.setdefault(value, []).append(surface)
    return result


def _top(store: Store, start: str, key: str, where: str, params: list, per_label: int) -> list[tuple]:
    """(period start, key, label, text, article key, confidence, holder name) of the
    ``per_label`` most confident sentences of each stance per (period, key), most confident first."""
    joined = _from(store)
    return store.db.execute(
        f"""SELECT e.start, e.k, e.label, s.text, a.key, e.confidence, e.surface FROM (
                SELECT {start} AS start, {key} AS k, p.label, p.article_id, p.sentence_index,
                       p.confidence, p.actor_surface AS surface {joined}
                WHERE {where} AND p.label IN {_STANCE_LIST}
                QUALIFY row_number() OVER (PARTITION BY start, k, p.label
                                           ORDER BY p.confidence DESC, p.article_id,
                                                    p.sentence_index) <= {int(per_label)}) e
            JOIN articles a ON a.id = e.article_id
            JOIN sentences s ON s.article_id = e.article_id AND s.sentence_index = e.sentence_index
            ORDER BY e.start NULLS LAST, e.k, e.label, e.confidence DESC, e.article_id,
                     e.sentence_index""", params).fetchall()


def evidence(store: Store, version: str, by: str, min_confidence: float | None = None,
             per_label: int = 2) -> dict[tuple[str, str], list[dict]]:
    """:func:`stance.tracking.evidence` by actor over the store: per (period, actor), the
    ``per_label`` most confident sentences of each stance, undated ones under ``undated``."""
    where, params = _where(version, min_confidence)
    start = f"date_trunc('{_TRUNCATE[by]}', a.published)"
    found: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for day, actor, label, text, article, confidence, surface in _top(store, start, "p.actor", where,
                                                                      params, per_label):
        found.setdefault((_period(day, by), actor), {}).setdefault(label, []).append(
            {"label": label, "confidence": round(confidence, 6), "actor_surface": surface,
             "article_id": article, "text": text})
    return {key: [row for label in STANCES for row in labels.get(label, [])]
            for key, labels in found.items()}


def article_rows(store: Store, version: str, by: str,
                 min_confidence: float | None = None) -> list[dict]:
    """One row per article ``version`` scored, in store order, as ``Tracking.articles``."""
    where, params = _where(version, min_confidence)
    joined = _from(store)
    found: dict[int, dict[str, tuple[int, float]]] = {}
    for article_id, label, n, mass in store.db.execute(
            f"SELECT p.article_id, p.label, count(*), sum(p.confidence) {joined} WHERE {where} "
            "GROUP BY ALL", params).fetchall():
        found.setdefault(article_id, {})[label] = (n, mass)
    rows = []
    for article_id, key, published, title in store.db.execute(
            """SELECT a.id, a.key, a.published, a.title FROM scored_articles s
               JOIN articles a ON a.id = s.article_id WHERE s.model_version = ? ORDER BY a.id""",
            [version]).fetchall():
        labels = found.get(article_id, {})
        counts = {label: labels.get(label, (0, 0.0))[0] for label in LABELS}
        content = sum(counts.values())
        dominant, share, confidence = dominant_of(labels) or (NEUTRAL, 1.0 if content else 0.0, None)
        day = published.isoformat() if published is not None else None
        rows.append({"article_id": key, "published": day, "period": period_of(day, by), "title": title,
                     "sentences": content, **{column(label): counts[label] for label in LABELS},
                     "dominant_stance": dominant, "dominant_share": share,
                     "dominant_confidence": confidence})
    return rows


def page(store: Store, version: str, by: str = "month", by_actor: bool | str = False,
         facet: str = "actor", min_confidence: float | None = None):
    """The :class:`stance.report.Page` of ``stance track --plot/--html`` over the store."""
    from stance.report import EVIDENCE_PER_LABEL, Page
    from stance.timeline import build_series

    data = build_series(chart_counts(store, version, by, facet, min_confidence), facet)
    articles = article_rows(store, version, by, min_confidence)
    uncertain = data.uncertain_sentences
    return Page(by, facet, data, evidence(store, version, data.by, min_confidence, EVIDENCE_PER_LABEL),
                timeline(store, version, by, by_actor, min_confidence), articles,
                [a["article_id"] for a in articles if a["period"] == UNDATED], uncertain)


def sentence_rows(store: Store, version: str, by: str = "month",
                  min_confidence: float | None = None) -> Iterator[list[dict]]:
    """Batches of the rows `stance track --sentences` writes (``TrackedSentence.to_row``): the
    counted sentences in store order, then those below ``min_confidence``. A store that holds
    human labels adds ``label_source`` (``human``|``model``) to every row, as `track --labels`."""
    joined = _from(store)
    with_source = store.human_label_count() > 0
    for uncertain in (False, True):
        where, params = _where(version, min_confidence, uncertain)
        if uncertain and min_confidence is None:
            return
        cursor = store.db.cursor()
        try:
            cursor.execute(
                f"""SELECT a.key, a.published, p.sentence_index, s.start_char, s.end_char, s.text,
                           p.label, p.confidence, {", ".join(f"p.{name}" for name in PROBABILITY_COLUMNS)},
                           p.furniture, p.actor, p.actor_surface, p.actor_rule, p.actor_detail,
                           p.label_source
                    {joined} {_TEXT}
                    WHERE {where} ORDER BY p.article_id, p.sentence_index""", params)
            names = ("sentence_index", "start", "end", "text", "label", "confidence",
                     *PROBABILITY_COLUMNS, "furniture", *ACTOR)
            while batch := cursor.fetchmany(SENTENCE_BATCH):
                rows = []
                for key, published, *values, source in batch:
                    day = published.isoformat() if published is not None else None
                    found = dict(zip(names, values, strict=True))
                    found.update(article_id=key, published=day, period=period_of(day, by),
                                 uncertain=uncertain, confidence=round(found["confidence"], 6),
                                 **{name: round(found[name], 6) for name in PROBABILITY_COLUMNS})
                    row = {name: found[name] for name in TRACK_COLUMNS}
                    if with_source:
                        row[LABEL_SOURCE] = source
                    rows.append(row)
                yield rows
        finally:
            cursor.close()
