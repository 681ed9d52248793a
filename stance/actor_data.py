"""Labelled authored articles as the attributor sees them: segmenter sentences with gold actors.

Attribution runs on what the segmenter makes of an article's text, so training and evaluation do
the same: each authored article is laid out as text (:func:`stance.dataset.article_text`),
segmented, and every labelled sentence is matched to the segmenter sentence covering most of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stance.dataset import SEEDS_DIR, article_text, assign_article_split
from stance.segment import Sentence, segment


@dataclass
class LabelledArticle:
    article_id: str
    split: str
    published: str | None
    sentences: list[Sentence]
    gold: list[dict | None]  # per segmenter sentence: the labelled sentence it covers, if any

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.sentences]

    @property
    def furniture(self) -> list[bool]:
        return [s.furniture for s in self.sentences]

    def labels(self) -> list[str]:
        """Gold stance labels per sentence (``neutral`` where none is given), for the learned layer."""
        return [(g or {}).get("label") or "neutral" for g in self.gold]


def _best_cover(sentences: list[Sentence], start: int, end: int) -> int:
    return max(range(len(sentences)),
               key=lambda k: min(sentences[k].end, end) - max(sentences[k].start, start))


def labelled_articles(splits: set[str], seeds: Path = SEEDS_DIR) -> Iterator[LabelledArticle]:
    """The authored articles of the given ``article_*`` splits; sentences without a label (the
    annotators disagreed) carry no gold."""
    for path in sorted((seeds / "authored_articles").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            article = json.loads(line)
            article_id = f"article-{article['id']}"
            split = assign_article_split(article_id)
            if split not in splits:
                continue
            text, spans = article_text(article)
            sentences = segment(text, masthead=article.get("source"))
            gold: list[dict | None] = [None] * len(sentences)
            for labelled, start, end in spans:
                if labelled.get("label") is not None and sentences:
                    gold[_best_cover(sentences, start, end)] = labelled
            yield LabelledArticle(article_id, split, article.get("published"), sentences, gold)
