import numpy as np
import pytest

from stance.articles import Article
from stance.labels import LABELS
from stance.scoring import dominant_stance, score_articles
from stance.tracking import track


class RecordingClassifier:
    """Says `opposing` with the confidence given per sentence, and records what it was asked."""

    def __init__(self, confidence: dict[str, float]):
        self.confidence = confidence
        self.calls = []

    def predict_proba(self, texts, batch_size=64, contexts=None):
        self.calls.append((list(texts), list(contexts) if contexts is not None else None))
        probs = np.zeros((len(texts), len(LABELS)))
        for i, text in enumerate(texts):
            p = self.confidence.get(text, 0.9)
            probs[i] = (1 - p) / 3
            probs[i, LABELS.index("opposing")] = p
        return probs


ARTICLE = Article("a", "Kremlin warns Kyiv\nPeskov spoke on Monday. He said the bid is unacceptable.\n",
                  published="2023-07-10")


def test_each_sentence_is_scored_with_the_sentence_before_it():
    classifier = RecordingClassifier({})
    list(score_articles(classifier, [ARTICLE]))
    texts, contexts = classifier.calls[0]
    assert texts == ["Kremlin warns Kyiv", "Peskov spoke on Monday.", "He said the bid is unacceptable."]
    assert contexts == ["", "Kremlin warns Kyiv", "Peskov spoke on Monday."]


def test_uncertain_sentences_are_kept_but_not_summarised():
    classifier = RecordingClassifier({"Peskov spoke on Monday.": 0.4, "Kremlin warns Kyiv": 0.45})
    result = next(score_articles(classifier, [ARTICLE], min_confidence=0.5))
    assert [s.uncertain for s in result.sentences] == [True, True, False]
    assert [row["uncertain"] for row in (s.to_row() for s in result.sentences)] == [True, True, False]
    summary = result.summary()
    assert summary["uncertain_sentences"] == 2 and summary["sentences"] == 1 and summary["opposing"] == 1
    assert [e["text"] for e in summary["evidence"]] == ["He said the bid is unacceptable."]
    # Without a threshold every sentence counts.
    assert next(score_articles(classifier, [ARTICLE])).summary()["opposing"] == 3


def test_uncertain_sentences_stay_out_of_timelines():
    classifier = RecordingClassifier({"Peskov spoke on Monday.": 0.4})
    tracking = track(classifier, [ARTICLE], by="month", min_confidence=0.5)
    assert [s.text for s in tracking.uncertain] == ["Peskov spoke on Monday."]
    assert tracking.table()[0]["sentences"] == 2


def test_min_confidence_must_be_a_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        list(score_articles(RecordingClassifier({}), [ARTICLE], min_confidence=1.5))


def test_dominant_stance_counts_then_confidence():
    assert dominant_stance(["neutral", "neutral"], [1.0, 1.0]) == "neutral"
    assert dominant_stance(["opposing", "conceding", "conceding"], [0.99, 0.5, 0.5]) == "conceding"
    assert dominant_stance(["opposing", "conceding"], [0.99, 0.5]) == "opposing"
