"""Confidence that means probability: temperature scaling and expected calibration error.

A fine-tuned classifier is overconfident on text unlike its training sentences. One temperature,
fitted on held-out *articles* (real-news-like text, never the test split), divides every logit;
it changes confidence, never the predicted label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ECE_BINS = 10
# Temperatures searched, on a log scale: below 0.25 or above 20 means the fit went wrong.
_LOG_T_BOUNDS = (np.log(0.25), np.log(20.0))


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def negative_log_likelihood(logits: np.ndarray, gold: Sequence[int], temperature: float) -> float:
    gold = np.asarray(gold)
    return float(-_log_softmax(np.asarray(logits, dtype=np.float64) / temperature)[
        np.arange(len(gold)), gold].mean())


def fit_temperature(logits: np.ndarray, gold: Sequence[int]) -> float:
    """The temperature minimising the negative log-likelihood of ``gold`` (class indices)."""
    from scipy.optimize import minimize_scalar

    if len(gold) == 0:
        raise ValueError("no held-out sentences to fit a temperature on")
    result = minimize_scalar(lambda log_t: negative_log_likelihood(logits, gold, float(np.exp(log_t))),
                             bounds=_LOG_T_BOUNDS, method="bounded")
    return round(float(np.exp(result.x)), 4)


def reliability(probabilities: np.ndarray, gold: Sequence[int], bins: int = ECE_BINS) -> list[dict]:
    """Per equal-width confidence bin: sentence count, mean confidence and accuracy."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(gold)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first bin.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for i in range(bins):
        members = index == i
        n = int(members.sum())
        rows.append({"low": i / bins, "high": (i + 1) / bins, "n": n,
                     "confidence": float(confidence[members].mean()) if n else None,
                     "accuracy": float(correct[members].mean()) if n else None})
    return rows


def expected_calibration_error(probabilities: np.ndarray, gold: Sequence[int], bins: int = ECE_BINS) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over equal-width bins."""
    table = reliability(probabilities, gold, bins)
    total = sum(row["n"] for row in table)
    if total == 0:
        raise ValueError("nothing to calibrate")
    gaps = (row["n"] * abs(row["confidence"] - row["accuracy"]) for row in table if row["n"])
    return float(sum(gaps) / total)
