"""Stance over time: every scored sentence with its actor, bucketed by period (and actor).

Sentences and labels come from :func:`stance.scoring.score_articles`, so ``stance track`` sees
exactly what ``stance score`` sees; the holder of each sentence comes from
:mod:`stance.actors`. Page furniture is never counted.

Table columns (one row per period, or per period and actor with ``by_actor``; with
``by_actor="detail"`` one row per period and country or organisation):

- ``period``: ``2022-03-15`` (day), ``2022-W11`` (ISO week), ``2022-03`` (month), ``2022-Q1``
  (quarter), ``2022`` (year), or ``undated`` for articles without a publication date.
- ``actor``: ``all`` when not split, else ``ukraine``, ``russia``, ``nato``, ``other``, ``none``.
- ``actor_detail`` (``by_actor="detail"`` only): the country (ISO 3166-1 alpha-2: ``US``, ``DE``,
  ``HU``, ``UA``, ``RU``) or organisation (``NATO``, ``EU``, ``UN``) holding the stance; empty
  when only the coarse actor is known (an unnamed analyst, no holder).
- ``articles``: articles with at least one counted sentence in the row; ``sentences``: sentences.
- one count column per label, named by the label with ``_`` for ``-`` (``pro_membership``), and
  ``share_<label>`` = count/sentences (``share_pro_membership``).
- ``net_stance``: the net stance index, (pro-membership − conceding − opposing) / (pro-membership
  + conceding + opposing). It runs from +1 (every stance-bearing sentence supports membership) to
  −1 (every one concedes or opposes it); neutral sentences do not dilute it; empty when the row
  has no stance-bearing sentence. Conceding and opposing both count against because both say that
  membership will not happen, one by accepting it and one by working for it; the per-label
  shares keep them apart.
- ``dominant_stance``: the most frequent non-neutral label in the row (ties: higher summed
  confidence), ``neutral`` when there is none; ``dominant_share`` its share of the non-neutral
  sentences and ``dominant_confidence`` the mean model confidence of those sentences, the same
  rule as the per-article summary of ``stance score``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from stance.actors import ActorAttributor
from stance.articles import Article, Skipped, article_from_record
from stance.labels import (
    ACTORS,
    DEFAULT_SCHEMA,
    LABELS,
    NEUTRAL,
    STANCES,
    LabelSchema,
    column,
    dominant_of,
    schema_of,
)
from stance.periods import (  # noqa: F401 (re-exported: the CLI and callers import them from here)
    ALL,
    PERIODS,
    UNDATED,
    net_stance,
    next_period_start,
    period_bounds,
    period_of,
    period_sort_key,
)
from stance.scoring import ArticleResult, score_articles
from stance.sentence_rows import LABEL_SOURCE, PROBABILITY_COLUMNS, TRACK_COLUMNS

# ``by_actor="detail"``: one row per country or organisation holding the stance.
DETAIL = "detail"
_DETAIL_SEP = "/"
EVIDENCE_PER_LABEL = 3


@dataclass
class TrackedSentence:
    article_id: str
    published: str | None
    period: str
    index: int
    text: str
    label: str
    confidence: float
    actor: str
    surface: str | None
    rule: str
    uncertain: bool = False
    actor_detail: str | None = None
    label_source: str | None = None  # human|model with ``labels``; None (no column) without
    start: int | None = None  # character offsets in the article's text
    end: int | None = None
    probabilities: dict[str, float] = field(default_factory=dict)

    def to_row(self) -> dict:
        """The row `track --sentences` writes (stance.sentence_rows.TRACK_COLUMNS): a `stance
        score` row with the date, the period and the actor."""
        values = {
            "article_id": self.article_id, "published": self.published, "period": self.period,
            "sentence_index": self.index, "start": self.start, "end": self.end, "text": self.text,
            "label": self.label, "confidence": round(self.confidence, 6),
            # Tracking counts content sentences only: page furniture never reaches a row.
            "furniture": False, "uncertain": self.uncertain,
            "actor": self.actor, "actor_surface": self.surface, "actor_rule": self.rule,
            "actor_detail": self.actor_detail,
            **{name: (round(self.probabilities[label], 6) if label in self.probabilities else None)
               for name, label in zip(PROBABILITY_COLUMNS, LABELS, strict=True)},
        }
        row = {name: values[name] for name in TRACK_COLUMNS}
        if self.label_source is not None:
            row[LABEL_SOURCE] = self.label_source
        return row


@dataclass
class Tracking:
    """Everything ``stance track`` reports: counted sentences, article summaries, skipped inputs."""

    by: str
    sentences: list[TrackedSentence] = field(default_factory=list)
    # Below ``min_confidence``: reported with the sentences, never counted in a period.
    uncertain: list[TrackedSentence] = field(default_factory=list)
    articles: list[dict] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # The scoring model's labels, colours and target, for the pictures and the page.
    schema: LabelSchema = field(default_factory=lambda: DEFAULT_SCHEMA)

    @property
    def undated(self) -> list[str]:
        return [a["article_id"] for a in self.articles if a["period"] == UNDATED]

    def table(self, by_actor: bool | str = False) -> list[dict]:
        return aggregate(self.sentences, by_actor)

    def evidence(self, by_actor: bool = True) -> dict[tuple[str, str], list[dict]]:
        return evidence(self.sentences, by_actor)


def _dominant(sentences: list[TrackedSentence]) -> tuple[str, float | None, float | None]:
    totals: dict[str, tuple[int, float]] = {}
    for s in sentences:
        n, mass = totals.get(s.label, (0, 0.0))
        totals[s.label] = (n + 1, mass + s.confidence)
    return dominant_of(totals) or (NEUTRAL, None, None)


def _group(s: TrackedSentence, by_actor: bool | str) -> str:
    if by_actor == DETAIL:
        return f"{s.actor}{_DETAIL_SEP}{s.actor_detail or ''}"
    return s.actor if by_actor else ALL


def _groups(sentences: Iterable[TrackedSentence], by_actor: bool | str) -> dict:
    """Sentences by (period, group); the group is ``all``, the actor, or ``actor/detail``."""
    if by_actor not in (True, False, DETAIL):
        raise ValueError(f"by_actor must be true, false or {DETAIL!r}, not {by_actor!r}")
    groups: dict[tuple[str, str], list[TrackedSentence]] = defaultdict(list)
    for s in sentences:
        groups[(s.period, _group(s, by_actor))].append(s)
    order = {name: i for i, name in enumerate((ALL, *ACTORS))}

    def key(item):
        (period, group), _ = item
        actor, _, detail = group.partition(_DETAIL_SEP)
        return period_sort_key(period), order[actor], detail
    return dict(sorted(groups.items(), key=key))


def aggregate(sentences: Iterable[TrackedSentence], by_actor: bool | str = False) -> list[dict]:
    """One row per period (and actor, or country with ``by_actor="detail"``): counts, shares,
    net stance index and dominant stance."""
    rows = []
    for (period, group), members in _groups(sentences, by_actor).items():
        counts = Counter(s.label for s in members)
        dominant, share, confidence = _dominant(members)
        actor, _, detail = group.partition(_DETAIL_SEP)
        row = {"period": period, "actor": actor}
        if by_actor == DETAIL:
            row["actor_detail"] = detail or None
        row.update(articles=len({s.article_id for s in members}), sentences=len(members))
        row.update({column(label): counts.get(label, 0) for label in LABELS})
        row.update({f"share_{column(label)}": round(counts.get(label, 0) / len(members), 4)
                    for label in LABELS})
        row.update(net_stance=net_stance(counts), dominant_stance=dominant, dominant_share=share,
                   dominant_confidence=confidence)
        rows.append(row)
    return rows


def evidence(sentences: Iterable[TrackedSentence], by_actor: bool = True,
             per_label: int = EVIDENCE_PER_LABEL) -> dict[tuple[str, str], list[dict]]:
    """The most confident non-neutral sentences of each row, ``per_label`` per label."""
    result = {}
    for key, members in _groups(sentences, by_actor).items():
        chosen = []
        for label in STANCES:
            ranked = sorted((s for s in members if s.label == label), key=lambda s: -s.confidence)
            chosen += [s.to_row() for s in ranked[:per_label]]
        result[key] = chosen
    return result


def _article_row(result: ArticleResult, by: str) -> dict:
    summary = result.summary()
    return {"article_id": summary["article_id"], "published": summary["published"],
            "period": period_of(summary["published"], by), "title": result.article.title,
            "sentences": summary["sentences"],
            **{column(label): summary[column(label)] for label in LABELS},
            "dominant_stance": summary["dominant_stance"],
            "dominant_share": summary["dominant_share"],
            "dominant_confidence": summary["dominant_confidence"]}


def track(classifier, items: Iterable[Article | Skipped], by: str = "month",
          attributor: ActorAttributor | None = None, progress=None,
          min_confidence: float | None = None, labels=None) -> Tracking:
    """Score ``items``, attribute every sentence to an actor and date it to a period.

    Sentences below ``min_confidence`` go to ``Tracking.uncertain`` instead of being counted.
    ``labels`` (:class:`stance.corrections.HumanLabels`): reviewed labels replace the model's,
    and a reviewed actor the attributed one (rule ``human``), in every row and table.
    """
    period_of(None, by)  # reject an unknown period before scoring anything
    attributor = attributor or ActorAttributor()
    tracking = Tracking(by, schema=schema_of(classifier))
    for result in score_articles(classifier, items, progress=progress, min_confidence=min_confidence,
                                 labels=labels):
        if not result.ok:
            tracking.skipped.append(result.skipped)
            continue
        article = result.article
        period = period_of(article.published, by)
        tracking.articles.append(_article_row(result, by))
        holders = attributor.attribute([s.text for s in result.sentences],
                                       [s.furniture for s in result.sentences],
                                       [s.label for s in result.sentences], article.published)
        for s, holder in zip(result.sentences, holders, strict=True):
            if s.furniture:
                continue
            actor, surface, rule, detail = holder.actor, holder.surface, holder.rule, holder.detail
            if s.human_actor is not None and s.human_actor != actor:
                # The reviewer named another holder: the rules' name and country are not theirs.
                actor, surface, rule, detail = s.human_actor, None, "human", None
            tracked = TrackedSentence(article.id, article.published, period, s.index, s.text, s.label,
                                      s.confidence, actor, surface, rule, s.uncertain, detail,
                                      s.label_source, s.start, s.end, s.probabilities)
            (tracking.uncertain if s.uncertain else tracking.sentences).append(tracked)
    return tracking


def track_records(classifier, records: list[dict], by: str = "month",
                  by_actor: bool | str = False, min_confidence: float | None = None) -> list[dict]:
    """The ``stance track`` table for JSON article objects (the service's ``POST /track``).

    Raises ``ValueError`` for an unknown ``by`` and ``ArticleError`` (a ``ValueError``) naming the
    record and field for an invalid article.
    """
    period_of(None, by)
    articles = [article_from_record(record, f"articles[{i}]") for i, record in enumerate(records)]
    return track(classifier, articles, by, min_confidence=min_confidence).table(by_actor)
