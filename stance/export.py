"""Writing the int8 fast path for a trained model and checking it against fp32 (training time).

Kept apart from stance/fast.py, which loads and runs the int8 model, so that serving code never
imports training-side code and the two modules do not import each other.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stance.fast import (
    CALIBRATION_SENTENCES,
    FAST_MODEL_FILE,
    MAX_MACRO_F1_DROP,
    ONNX_INT8,
    QUANTISATION,
    TORCH,
    OnnxInt8Runner,
    build_fast_model,
    file_digest,
)
from stance.labels import labels_of
from stance.metrics import evaluate
from stance.model import StanceClassifier

log = logging.getLogger(__name__)


def quality_record(gold: Sequence[str], fp32: np.ndarray, int8: np.ndarray) -> dict:
    """How the int8 model compares with fp32 on the same labelled sentences."""
    fp32_f1 = evaluate(list(gold), labels_of(fp32), bootstrap=0)["macro_f1"]
    int8_f1 = evaluate(list(gold), labels_of(int8), bootstrap=0)["macro_f1"]
    return {
        "n": len(gold),
        "fp32_macro_f1": fp32_f1,
        "int8_macro_f1": int8_f1,
        "macro_f1_drop": fp32_f1 - int8_f1,
        "agreement": float(np.mean(fp32.argmax(axis=1) == int8.argmax(axis=1))),
        "max_probability_difference": float(np.abs(fp32 - int8).max()),
    }


def export_checked(classifier, out_dir: Path, rows: Sequence[dict],
                   calibration_rows: Sequence[dict] = (), split: str = "validation") -> dict:
    """Build the int8 model for a trained classifier and compare it with fp32 on labelled ``rows``.

    ``calibration_rows`` (training sentences, never the checked ones) fix the activation scales.
    Returns the ``metrics.json["fast"]`` record; ``default_on_cpu`` says whether ``auto`` will use it.
    """
    import torch

    out_dir = Path(out_dir)
    model = classifier.model
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).to("cpu", torch.float32)
    # The reference is fp32 on CPU even when training ran in bf16 on a GPU.
    same = {"max_length": classifier.max_length, "context": classifier.context,
            "temperature": classifier.temperature}
    reference = StanceClassifier(model, classifier.tokenizer, device=torch.device("cpu"), **same)
    calibration = []
    if calibration_rows:
        chosen = list(calibration_rows[:CALIBRATION_SENTENCES])
        calibration = reference.token_ids([r["text"] for r in chosen], [r.get("context", "") for r in chosen])
    target = build_fast_model(model, out_dir, calibration)
    fast = StanceClassifier(None, classifier.tokenizer, fast=OnnxInt8Runner(target, pad_id=classifier.pad_id),
                            **same)
    record = {"backend": ONNX_INT8, "file": FAST_MODEL_FILE, "sha256": file_digest(target),
              "bytes": target.stat().st_size, "quantisation": QUANTISATION, "split": split,
              "calibration_sentences": len(calibration), "batched": fast.fast.batched}
    if rows:
        texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
        contexts = [r.get("context", "") for r in rows]
        record.update(quality_record(gold, reference.predict_proba(texts, contexts=contexts),
                                     fast.predict_proba(texts, contexts=contexts)))
    fast.fast.close()
    record["default_on_cpu"] = record.get("macro_f1_drop", float("inf")) <= MAX_MACRO_F1_DROP
    return record


# The int8 model must match fp32 on held-out sentences chosen for selection, never on test ones.
CHECK_SPLITS = ("validation", "article_validation")


def export_for_training(classifier, out_dir: Path, splits: dict[str, list[dict]]) -> dict:
    """``export_checked`` on the validation splits, calibrated on training sentences; never raises."""
    (Path(out_dir) / FAST_MODEL_FILE).unlink(missing_ok=True)  # never keep one for older weights
    try:
        rows = [r for name in CHECK_SPLITS for r in splits.get(name, ())]
        # Training articles first: their contexts are what scoring articles looks like.
        calibration = [r for name in ("article_train", "train") for r in splits.get(name, ())]
        record = export_checked(classifier, out_dir, rows, calibration, split="+".join(CHECK_SPLITS))
    except Exception as exc:  # any failure only means "no fast path": fp32 still serves
        log.warning("no int8 model for %s: %s", out_dir, exc)
        (Path(out_dir) / FAST_MODEL_FILE).unlink(missing_ok=True)
        return {"backend": ONNX_INT8, "error": str(exc), "default_on_cpu": False}
    log.info("int8 model: held-out macro-F1 %.3f vs fp32 %.3f, agreement %.3f",
             record.get("int8_macro_f1", float("nan")), record.get("fp32_macro_f1", float("nan")),
             record.get("agreement", float("nan")))
    return record


def add_to_model_dir(model_dir: Path, seeds_dir: Path) -> dict:
    """Build and check the int8 model for an existing model directory; update its metrics.json."""
    from stance import dataset
    from stance.card import write_card

    model_dir = Path(model_dir)
    classifier = StanceClassifier.load(model_dir, device="cpu", backend=TORCH)
    record = export_for_training(classifier, model_dir, dataset.build(Path(seeds_dir)))
    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    metrics["fast"] = record
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if {"data", "config"} <= metrics.keys():  # a card from `stance train`: keep its fast-path line true
        write_card(model_dir, metrics)
    return record
