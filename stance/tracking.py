"""Stance over time: every scored sentence with its actor, bucketed by period (and actor).

Sentences and labels come from :func:`stance.scoring.score_articles`, so ``stance track`` sees
exactly what ``stance score`` sees; the holder of each sentence comes from
:mod:`stance.actors`. Page furniture is never counted.

Table columns (one row per period, or per period and actor with ``by_actor``):

- ``period``: ``2022-03-15`` (day), ``2022-W11`` (ISO week), ``2022-03`` (month), ``2022-Q1``
  (quarter), ``2022`` (year), or ``undated`` for articles without a publication date.
- ``actor``: ``all`` when not split, else ``ukraine``, ``russia``, ``nato``, ``other``, ``none``.
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
from dataclasses import asdict, dataclass, field

from stance.actors import ActorAttributor
from stance.articles import Article, Skipped, article_from_record
from stance.labels import ACTORS, LABELS, NEUTRAL, STANCES, column
from stance.periods import (
    ALL,
    PERIODS,  # noqa: F401 (re-exported: the CLI and callers import it from here)
    UNDATED,
    net_stance,
    period_of,
    period_sort_key,
)
from stance.scoring import ArticleResult, dominant_stance, score_articles

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

    def to_row(self) -> dict:
        """The row `track --sentences` writes; ``sentence_index`` as in `stance score` rows."""
        row = {("sentence_index" if name == "index" else name): value
               for name, value in asdict(self).items()}
        row["confidence"] = round(self.confidence, 6)
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

    @property
    def undated(self) -> list[str]:
        return [a["article_id"] for a in self.articles if a["period"] == UNDATED]

    def table(self, by_actor: bool = False) -> list[dict]:
        return aggregate(self.sentences, by_actor)

    def evidence(self, by_actor: bool = True) -> dict[tuple[str, str], list[dict]]:
        return evidence(self.sentences, by_actor)


def _dominant(sentences: list[TrackedSentence]) -> tuple[str, float | None, float | None]:
    stance = [s for s in sentences if s.label in STANCES]
    if not stance:
        return NEUTRAL, None, None
    label = dominant_stance([s.label for s in stance], [s.confidence for s in stance])
    chosen = [s.confidence for s in stance if s.label == label]
    return label, round(len(chosen) / len(stance), 4), round(sum(chosen) / len(chosen), 4)


def _groups(sentences: Iterable[TrackedSentence], by_actor: bool) -> dict:
    groups: dict[tuple[str, str], list[TrackedSentence]] = defaultdict(list)
    for s in sentences:
        groups[(s.period, s.actor if by_actor else ALL)].append(s)
    order = {name: i for i, name in enumerate((ALL, *ACTORS))}
    return dict(sorted(groups.items(), key=lambda kv: (period_sort_key(kv[0][0]), order[kv[0][1]])))


def aggregate(sentences: Iterable[TrackedSentence], by_actor: bool = False) -> list[dict]:
    """One row per period (and actor): counts, shares, net stance index and dominant stance."""
    rows = []
    for (period, actor), members in _groups(sentences, by_actor).items():
        counts = Counter(s.label for s in members)
        dominant, share, confidence = _dominant(members)
        row = {"period": period, "actor": actor,
               "articles": len({s.article_id for s in members}), "sentences": len(members)}
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
          min_confidence: float | None = None) -> Tracking:
    """Score ``items``, attribute every sentence to an actor and date it to a period.

    Sentences below ``min_confidence`` go to ``Tracking.uncertain`` instead of being counted.
    """
    period_of(None, by)  # reject an unknown period before scoring anything
    attributor = attributor or ActorAttributor()
    tracking = Tracking(by)
    for result in score_articles(classifier, items, progress=progress, min_confidence=min_confidence):
        if not result.ok:
            tracking.skipped.append(result.skipped)
            continue
        article = result.article
        period = period_of(article.published, by)
        tracking.articles.append(_article_row(result, by))
        holders = attributor.attribute([s.text for s in result.sentences],
                                       [s.furniture for s in result.sentences])
        for s, holder in zip(result.sentences, holders, strict=True):
            if s.furniture:
                continue
            tracked = TrackedSentence(article.id, article.published, period, s.index, s.text, s.label,
                                      s.confidence, holder.actor, holder.surface, holder.rule, s.uncertain)
            (tracking.uncertain if s.uncertain else tracking.sentences).append(tracked)
    return tracking


def track_records(classifier, records: list[dict], by: str = "month",
                  by_actor: bool = False, min_confidence: float | None = None) -> list[dict]:
    """The ``stance track`` table for JSON article objects (the service's ``POST /track``).

    Raises ``ValueError`` for an unknown ``by`` and ``ArticleError`` (a ``ValueError``) naming the
    record and field for an invalid article.
    """
    period_of(None, by)
    articles = [article_from_record(record, f"articles[{i}]") for i, record in enumerate(records)]
    return track(classifier, articles, by, min_confidence=min_confidence).table(by_actor)
