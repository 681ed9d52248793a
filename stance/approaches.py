"""The approaches compared in the training report, each with ``fit(rows)`` and
``predict_proba(rows) -> (n, len(LABELS))`` over dataset rows (``text``, ``label``, ``context``):
a majority baseline, TF-IDF + logistic regression, a frozen encoder + logistic regression, full
fine-tuning of the encoder (sentence alone or with its context), and a fine-tuned model gated by
an explicit relevance decision ("is this sentence about Ukraine's membership at all?").
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from stance.labels import LABELS, NEUTRAL
from stance.model import base_encoder_path


def _texts(rows: Sequence[dict]) -> list[str]:
    return [r["text"] for r in rows]


def _labels(rows: Sequence[dict]) -> list[str]:
    return [r["label"] for r in rows]


def _in_label_order(classes: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
    """scikit-learn orders classes alphabetically; the project orders them as LABELS."""
    out = np.zeros((len(probabilities), len(LABELS)), dtype=np.float32)
    for j, label in enumerate(classes):
        out[:, LABELS.index(label)] = probabilities[:, j]
    return out


class Majority:
    name = "majority"

    def fit(self, rows: Sequence[dict]) -> Majority:
        self.label = Counter(_labels(rows)).most_common(1)[0][0]
        return self

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        out = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
        out[:, LABELS.index(self.label)] = 1.0
        return out


class TfidfLogReg:
    name = "tfidf-logreg"

    def __init__(self, seed: int = 13):
        self.seed = seed

    def fit(self, rows: Sequence[dict]) -> TfidfLogReg:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced",
                               random_state=self.seed),
        )
        self.pipeline.fit(_texts(rows), _labels(rows))
        return self

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        return _in_label_order(self.pipeline.classes_, self.pipeline.predict_proba(_texts(rows)))


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings, cached by text (refits reuse them)."""

    def __init__(self, path: str | None = None, device: str = "cpu", batch_size: int = 64):
        from transformers import AutoModel, AutoTokenizer

        from stance.model import quiet_transformers

        quiet_transformers()
        path = path or base_encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.cache: dict[str, np.ndarray] = {}

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=128,
                                   return_tensors="pt").to(self.device)
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
            self.cache.update(zip(chunk, pooled, strict=True))
        return np.stack([self.cache[t] for t in texts])


class FrozenEncoderLogReg:
    name = "frozen-minilm-logreg"

    def __init__(self, encoder: SentenceEncoder, seed: int = 13):
        self.encoder = encoder
        self.seed = seed

    def fit(self, rows: Sequence[dict]) -> FrozenEncoderLogReg:
        from sklearn.linear_model import LogisticRegression

        self.clf = LogisticRegression(C=10.0, max_iter=5000, class_weight="balanced",
                                      random_state=self.seed)
        self.clf.fit(self.encoder.encode(_texts(rows)), _labels(rows))
        return self

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        return _in_label_order(self.clf.classes_, self.clf.predict_proba(self.encoder.encode(_texts(rows))))


class FineTuned:
    """Full fine-tuning of the encoder with a classification head (see stance.train).

    ``context`` overrides the configuration's: ``none`` reads the sentence alone, ``previous`` reads
    it with the sentence before it. ``teacher`` (False) trains on the gold labels alone even when the
    configuration names a teacher's logits (stance.distill). ``calibration_rows`` (held-out
    articles) fit the temperature.
    """

    def __init__(self, config, context: str | None = None, calibration_rows: Sequence[dict] = (),
                 teacher: bool = True):
        self.config = config if context is None else dataclasses.replace(config, context=context)
        if not teacher:
            self.config = dataclasses.replace(self.config, teacher_labels=None)
        self.calibration_rows = calibration_rows
        self.name = ("fine-tuned-minilm" + ("+context" if self.config.context != "none" else "")
                     + ("+distilled" if self.config.teacher_labels else ""))

    def fit(self, rows: Sequence[dict]) -> FineTuned:
        from stance.finetune import calibrate, fine_tune

        self.classifier = fine_tune(self.config, rows)
        if self.calibration_rows:
            calibrate(self.classifier, self.calibration_rows)
        return self

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        return self.classifier.predict_proba(_texts(rows), contexts=[r.get("context", "") for r in rows])


class RelevanceGated:
    """A stance model combined with a separate relevance decision.

    The gate is a binary TF-IDF logistic regression, *relevant* (the sentence takes any stance)
    against *neutral*, trained on the same rows. The final probability of ``neutral`` is the mean of
    the two models' "not relevant" probabilities; the stance probabilities keep the stance model's
    proportions. It tests whether an explicit topic decision fixes off-topic sentences that the
    four-way model gives a stance.
    """

    name = "fine-tuned-minilm+relevance-gate"

    def __init__(self, stance_model, seed: int = 13):
        self.stance_model = stance_model
        self.seed = seed

    def fit(self, rows: Sequence[dict]) -> RelevanceGated:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        if not hasattr(self.stance_model, "classifier"):
            self.stance_model.fit(rows)
        self.gate = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=self.seed),
        )
        self.gate.fit(_texts(rows), [r["label"] != NEUTRAL for r in rows])
        return self

    def predict_proba(self, rows: Sequence[dict]) -> np.ndarray:
        probs = self.stance_model.predict_proba(rows).astype(np.float64)
        relevant = self.gate.predict_proba(_texts(rows))[:, list(self.gate.classes_).index(True)]
        neutral = LABELS.index(NEUTRAL)
        model_relevant = 1.0 - probs[:, neutral]
        combined = (model_relevant + relevant) / 2
        scale = np.divide(combined, model_relevant, out=np.zeros_like(combined), where=model_relevant > 0)
        out = probs * scale[:, None]
        out[:, neutral] = 1.0 - combined
        return out.astype(np.float32)
