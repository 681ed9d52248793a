"""Evaluation figures shared by training, `stance eval` and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from stance.labels import DEFAULT_SCHEMA, LabelSchema


def evaluate(
    y_true: Sequence[str], y_pred: Sequence[str], bootstrap: int = 1000, seed: int = 0,
    probabilities: np.ndarray | None = None, schema: LabelSchema = DEFAULT_SCHEMA,
) -> dict:
    """Macro-F1, SemEval F1avg, per-class P/R/F1, confusion matrix and a bootstrap 95% CI; with
    ``probabilities`` (rows in the schema's class order) also ECE, mean confidence and the
    reliability table. F1avg's key names the schema's polar pair (``f1avg_pro_opposing``)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("nothing to evaluate")
    labels = list(schema.labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    # Macro-F1 over the classes present in the gold labels, so a seed article without any
    # `opposing` sentence is not scored on a class it cannot contain.
    present = [label for label in labels if per_class[label]["support"] > 0]
    macro = float(np.mean([per_class[label]["f1"] for label in present]))
    # F1avg follows the same rule, so the two never disagree about what an absent class is worth;
    # None when neither polar class is in the gold labels.
    polar = [label for label in schema.polar if label in present]
    f1avg = float(np.mean([per_class[label]["f1"] for label in polar])) if polar else None
    calibration = {}
    if probabilities is not None:
        from stance.calibration import expected_calibration_error, reliability

        gold_ids = [labels.index(label) for label in y_true]
        calibration = {
            "ece": expected_calibration_error(probabilities, gold_ids),
            "mean_confidence": float(np.asarray(probabilities).max(axis=1).mean()),
            "reliability": reliability(probabilities, gold_ids),
        }
    return {
        "n": len(y_true),
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": macro,
        "macro_f1_ci95": _bootstrap_macro_f1(y_true, y_pred, present, bootstrap, seed),
        schema.f1avg_key: f1avg,
        "absent_labels": [label for label in labels if label not in present],
        "per_class": per_class,
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        **calibration,
    }


def _bootstrap_macro_f1(y_true, y_pred, present, rounds, seed) -> list[float]:
    if rounds <= 0:
        return []
    rng = np.random.default_rng(seed)
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for _ in range(rounds):
        idx = rng.integers(0, len(truth), len(truth))
        scores.append(f1_score(truth[idx], pred[idx], labels=present, average="macro",
                               zero_division=0))
    low, high = np.percentile(scores, [2.5, 97.5])
    return [float(low), float(high)]


def f1avg_key(metrics: dict, schema: LabelSchema = DEFAULT_SCHEMA) -> str:
    """The key F1avg is under in ``metrics`` (:meth:`LabelSchema.f1avg_key_in`)."""
    return schema.f1avg_key_in(metrics)


def format_metrics(metrics: dict, title: str = "", schema: LabelSchema = DEFAULT_SCHEMA) -> str:
    """A plain-text table for terminals and model cards (Markdown-compatible)."""
    ci = metrics.get("macro_f1_ci95")
    interval = f" (95% CI {ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
    lines = []
    if title:
        lines.append(f"### {title}")
        lines.append("")
    key = f1avg_key(metrics, schema)
    f1avg = metrics[key]
    title_f1avg = schema.f1avg_title if key == schema.f1avg_key else key
    lines.append(
        f"n = {metrics['n']} · macro-F1 **{metrics['macro_f1']:.3f}**"
        f"{interval} · {title_f1avg} "
        f"{'n/a' if f1avg is None else format(f1avg, '.3f')} · accuracy {metrics['accuracy']:.3f}"
        + (f" · ECE {metrics['ece']:.3f} (mean confidence {metrics['mean_confidence']:.3f})"
           if "ece" in metrics else "")
    )
    if metrics.get("absent_labels"):
        lines.append("")
        lines.append(f"Not in the gold labels, so left out of macro-F1 and F1avg: "
                     f"{', '.join(metrics['absent_labels'])}.")
    lines.append("")
    lines.append("| label | precision | recall | F1 | support |")
    lines.append("|---|---:|---:|---:|---:|")
    for label, row in metrics["per_class"].items():
        lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
                     f"| {row['support']} |")
    lines.append("")
    lines.append("Confusion (rows = gold, columns = predicted):")
    lines.append("")
    labels = metrics["labels"]
    lines.append("| gold \\ predicted | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---:|" * len(labels))
    for label, row in zip(labels, metrics["confusion"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
