"""Scoring articles: segment, classify every sentence in batches, and summarise each article.

The CLI, the service and the tracker all go through :func:`score_articles`, so an article gets
the same sentences, labels and summary whichever way it arrives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from stance.articles import Article, Skipped
from stance.context import previous_sentences
from stance.labels import LABELS, NEUTRAL, STANCES, column, dominant_of
from stance.segment import segment
from stance.sentence_rows import LABEL_SOURCE, PROBABILITY_COLUMNS, SCORE_COLUMNS

EVIDENCE_PER_ARTICLE = 3
# Sentences buffered across articles before one batched prediction. Larger chunks let the
# classifier's length buckets fill (2,048 scored 8-12% faster than 512 on 300 articles, same rows)
# and cost only the buffered rows' memory (a few MB).
PREDICT_CHUNK = 2048


@dataclass
class ScoredSentence:
    article_id: str
    index: int
    start: int
    end: int
    text: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    furniture: bool
    # Below the caller's ``min_confidence``: kept in the output, left out of summaries and timelines.
    uncertain: bool = False
    # ``human`` where a reviewed label replaced the model's, ``model`` otherwise; None when no
    # labels were given (the row then has no ``label_source`` column, as before).
    label_source: str | None = None
    human_actor: str | None = None  # the reviewer's actor, which tracking puts before the rules'

    def to_row(self) -> dict:
        """Flat row for JSONL/CSV/Parquet, in stance.sentence_rows.SCORE_COLUMNS' order."""
        values = {
            "article_id": self.article_id, "sentence_index": self.index, "start": self.start,
            "end": self.end, "text": self.text, "label": self.label,
            "confidence": round(self.confidence, 6), "furniture": self.furniture,
            "uncertain": self.uncertain,
            **{name: round(self.probabilities[label], 6)
               for name, label in zip(PROBABILITY_COLUMNS, LABELS, strict=True)},
        }
        row = {name: values[name] for name in SCORE_COLUMNS}
        if self.label_source is not None:
            row[LABEL_SOURCE] = self.label_source
        return row


@dataclass
class ArticleResult:
    article: Article | None
    sentences: list[ScoredSentence] = field(default_factory=list)
    skipped: Skipped | None = None

    @property
    def id(self) -> str:
        return self.article.id if self.article else self.skipped.id

    @property
    def ok(self) -> bool:
        return self.skipped is None

    def summary(self) -> dict:
        return summarise(self)


def dominant_stance(labels: list[str], confidences: list[float]) -> str:
    """The most frequent non-neutral label (ties: the larger summed confidence), else ``neutral``."""
    totals: dict[str, tuple[int, float]] = {}
    for label, confidence in zip(labels, confidences, strict=True):
        if label in STANCES:
            n, mass = totals.get(label, (0, 0.0))
            totals[label] = (n + 1, mass + confidence)
    found = dominant_of(totals)
    return found[0] if found else NEUTRAL


def summarise(result: ArticleResult) -> dict:
    """One row per article: counts per label and the dominant non-neutral stance with evidence.

    The dominant stance (:func:`dominant_stance`) is taken over content sentences that are not
    ``uncertain``; ``dominant_share`` is its share of those non-neutral sentences and
    ``dominant_confidence`` their mean confidence. An article with no non-neutral sentence is
    ``neutral``. ``uncertain_sentences`` counts the sentences left out for low confidence.
    """
    row = {
        "article_id": result.id,
        "published": result.article.published if result.article else None,
        "status": "scored" if result.ok else "skipped",
        "reason": result.skipped.reason if result.skipped else None,
        "sentences": 0,
        **{column(label): 0 for label in LABELS},
        "uncertain_sentences": 0,
        "dominant_stance": None,
        "dominant_share": None,
        "dominant_confidence": None,
        "evidence": [],
    }
    if not result.ok:
        return row
    content = [s for s in result.sentences if not s.furniture]
    row["uncertain_sentences"] = sum(s.uncertain for s in content)
    content = [s for s in content if not s.uncertain]
    row["sentences"] = len(content)
    counts = Counter(s.label for s in content)
    row.update({column(label): counts.get(label, 0) for label in LABELS})
    stance_sentences = [s for s in content if s.label in STANCES]
    if not stance_sentences:
        row.update(dominant_stance=NEUTRAL, dominant_share=1.0 if content else 0.0,
                   dominant_confidence=None)
        return row
    dominant = dominant_stance([s.label for s in stance_sentences], [s.confidence for s in stance_sentences])
    chosen = sorted((s for s in stance_sentences if s.label == dominant),
                    key=lambda s: -s.confidence)
    row.update(
        dominant_stance=dominant,
        dominant_share=round(len(chosen) / len(stance_sentences), 4),
        dominant_confidence=round(float(np.mean([s.confidence for s in chosen])), 4),
        evidence=[{"sentence_index": s.index, "text": s.text, "confidence": round(s.confidence, 4)}
                  for s in chosen[:EVIDENCE_PER_ARTICLE]],
    )
    return row


_FURNITURE_PROBS = {label: float(label == NEUTRAL) for label in LABELS}


def article_probabilities(classifier, articles: list[tuple[list[str], list[bool]]],
                          batch_size: int = 64) -> list[list[dict[str, float]]]:
    """:func:`sentence_probabilities` for whole articles (each its texts and furniture flags), in
    one prediction call, with each sentence's context taken within its article. ``stance score``
    on files and on the store (stance.store) both go through here."""
    texts, contexts, furniture = [], [], []
    for sentence_texts, flags in articles:
        texts += sentence_texts
        furniture += flags
        contexts += previous_sentences(sentence_texts, flags)
    flat = iter(sentence_probabilities(classifier, texts, contexts, furniture, batch_size))
    return [[next(flat) for _ in sentence_texts] for sentence_texts, _ in articles]


def check_min_confidence(value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1, got {value}")
    return value


def sentence_probabilities(classifier, texts: Sequence[str], contexts: Sequence[str],
                           furniture: Sequence[bool], batch_size: int = 64) -> list[dict[str, float]]:
    """Probabilities per sentence, in order: page furniture is ``neutral`` without running the model,
    every other sentence is read with its context (:func:`stance.context.previous_sentences`).

    The one place sentences meet the model, for `stance score` and the batch engines alike.
    """
    content = [i for i, is_furniture in enumerate(furniture) if not is_furniture]
    probs = classifier.predict_proba([texts[i] for i in content], batch_size=batch_size,
                                     contexts=[contexts[i] for i in content]) if content else None
    out: list[dict[str, float]] = [_FURNITURE_PROBS] * len(texts)
    for k, i in enumerate(content):
        out[i] = {label: float(v) for label, v in zip(LABELS, probs[k], strict=True)}
    return out


def scored_sentence(article_id: str, index: int, start: int, end: int, text: str, furniture: bool,
                    probabilities: dict[str, float], min_confidence: float | None = None) -> ScoredSentence:
    """The label is the most probable one; below ``min_confidence`` a content sentence is ``uncertain``."""
    label = max(probabilities, key=probabilities.get)
    uncertain = (min_confidence is not None and not furniture
                 and probabilities[label] < min_confidence)
    return ScoredSentence(article_id, index, start, end, text, label, probabilities[label], probabilities,
                          furniture, uncertain)


def score_articles(classifier, items: Iterable[Article | Skipped], batch_size: int = 64,
                   progress=None, min_confidence: float | None = None,
                   labels=None) -> Iterator[ArticleResult]:
    """Score articles in input order; skipped inputs pass through as results with a reason.

    Page furniture is labelled ``neutral`` without running the model (LABELLING.md). Each sentence
    is read with the sentence before it (stance.context) when the model uses context. Sentences
    whose confidence is below ``min_confidence`` are marked ``uncertain``. ``labels``
    (:class:`stance.corrections.HumanLabels`) puts a reviewed label in place of the model's, with
    confidence 1 and ``label_source`` ``human``; the ``p_*`` probabilities stay the model's.
    """
    check_min_confidence(min_confidence)
    pending: list[tuple[ArticleResult, list]] = []
    buffered = 0

    def flush():
        probs = article_probabilities(
            classifier, [([s.text for s in sentences], [s.furniture for s in sentences])
                         for _, sentences in pending], batch_size)
        for (result, sentences), article_probs in zip(pending, probs, strict=True):
            for s, p in zip(sentences, article_probs, strict=True):
                scored = scored_sentence(result.article.id, s.index, s.start, s.end, s.text,
                                         s.furniture, p, min_confidence)
                if labels is not None:
                    human = None if s.furniture else labels.get(result.article.id, s.start, s.end, s.text)
                    scored = (replace(scored, label=human["label"], confidence=1.0, uncertain=False,
                                      label_source="human", human_actor=human.get("actor"))
                              if human is not None else replace(scored, label_source="model"))
                result.sentences.append(scored)
            yield result
            if progress is not None:
                progress.update(1)
        pending.clear()

    for item in items:
        if isinstance(item, Skipped):
            if not pending:
                if progress is not None:
                    progress.update(1)
                yield ArticleResult(None, skipped=item)
                continue
            pending.append((ArticleResult(None, skipped=item), []))
            continue
        sentences = segment(item.text, masthead=item.source)
        if not sentences:
            pending.append((ArticleResult(None, skipped=Skipped(item.id, "no sentences found")), []))
        else:
            pending.append((ArticleResult(item), sentences))
            buffered += len(sentences)
        if buffered >= PREDICT_CHUNK:
            yield from flush()
            buffered = 0
    if pending:
        yield from flush()
