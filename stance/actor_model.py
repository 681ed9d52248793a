"""The learned actor decision: multinomial logistic regression over :mod:`stance.actor_features`.

A linear model because its weights fit in a small JSON file (loaded without pickle), it trains in
seconds from the labelled authored articles, and scoring a sentence is a sparse dot product, so
attribution stays a small share of `stance track`'s time. ``stance/data/actor_model.json`` is built
by ``python -m stance.actor_training`` from the seeds; a test checks that it is current.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from stance.labels import check_actor

FORMAT = "stance-actor-model/1"
DEFAULT_RESOURCE = "data/actor_model.json"
# Weights smaller than this change no decision; dropping them keeps the file small.
_PRUNE_BELOW = 1e-3
_DECIMALS = 4


@dataclass
class ActorModel:
    classes: tuple[str, ...]
    features: dict[str, int]  # feature name → column of ``weights``
    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)
    info: dict

    def scores(self, rows: list[dict[str, float]]) -> np.ndarray:
        """Class probabilities, one row per feature dict; unknown features are ignored."""
        logits = np.tile(self.bias, (len(rows), 1))
        at, columns, values = [], [], []
        for r, row in enumerate(rows):
            for name, value in row.items():
                column = self.features.get(name)
                if column is not None:
                    at.append(r)
                    columns.append(column)
                    values.append(value)
        if at:
            np.add.at(logits, np.asarray(at), np.asarray(values)[:, None] * self.weights[np.asarray(columns)])
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, rows: list[dict[str, float]]) -> list[tuple[str, float]]:
        if not rows:
            return []
        probs = self.scores(rows)
        best = probs.argmax(axis=1)
        return [(self.classes[k], float(probs[r, k])) for r, k in enumerate(best)]

    def to_json(self) -> dict:
        return {"format": FORMAT, "classes": list(self.classes), "info": self.info,
                "bias": [round(float(b), _DECIMALS) for b in self.bias],
                "weights": {name: [round(float(w), _DECIMALS) for w in self.weights[column]]
                            for name, column in sorted(self.features.items())}}

    @classmethod
    def from_json(cls, data: dict) -> ActorModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an actor model: format {data.get('format')!r}, expected {FORMAT!r}")
        classes = tuple(check_actor(c) for c in data["classes"])
        names = list(data["weights"])
        weights = np.array([data["weights"][n] for n in names], dtype=np.float64).reshape(
            len(names), len(classes))
        bias = np.array(data["bias"], dtype=np.float64)
        if bias.shape != (len(classes),):
            raise ValueError("actor model: bias does not match the classes")
        return cls(classes, {n: i for i, n in enumerate(names)}, weights, bias, data.get("info", {}))

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n",
                        encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> ActorModel:
        if path is None:
            return default_actor_model()
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def frequent_features(rows: list[dict[str, float]], min_count: int = 2) -> set[str]:
    """Features seen in at least ``min_count`` sentences: one sentence's wording is not a pattern."""
    seen = Counter(name for row in rows for name in row)
    return {name for name, count in seen.items() if count >= min_count}


def fit(rows: list[dict[str, float]], actors: list[str], c: float, info: dict | None = None,
        features: set[str] | None = None) -> ActorModel:
    """Fit on feature dicts and gold actors (scikit-learn's lbfgs; deterministic), using only
    ``features`` (default :func:`frequent_features` of ``rows``)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(actors)) < 3:
        raise ValueError("an actor model needs examples of at least three actors")
    kept = frequent_features(rows) if features is None else features
    rows = [{n: v for n, v in row.items() if n in kept} for row in rows]
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(rows)
    model = LogisticRegression(C=c, max_iter=5000).fit(matrix, actors)
    weights = model.coef_.T
    keep = np.abs(weights).max(axis=1) >= _PRUNE_BELOW
    names = [str(n) for n, k in zip(vectorizer.get_feature_names_out(), keep, strict=True) if k]
    return ActorModel(tuple(str(k) for k in model.classes_), {n: i for i, n in enumerate(names)},
                      weights[keep], np.asarray(model.intercept_), {**(info or {}), "C": c})


@lru_cache(maxsize=1)
def default_actor_model() -> ActorModel | None:
    """The packaged model, or None when it has not been built (the rules then decide alone)."""
    resource = resources.files("stance").joinpath(DEFAULT_RESOURCE)
    if not resource.is_file():
        return None
    return ActorModel.from_json(json.loads(resource.read_text(encoding="utf-8")))
