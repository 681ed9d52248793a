"""The int8 model checked against fp32 on held-out sentences (training time, ``stance export-fast``).

The record goes to ``metrics.json["fast"]``; serving's ``auto`` reads it (stance/backends/onnx_int8.py).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stance.backends import ONNX_INT8, TORCH, OnnxInt8Runner, TorchFp32Runner
from stance.backends.onnx_int8 import MAX_MACRO_F1_DROP
from stance.exporting.quantise import CALIBRATION_SENTENCES, QUANTISATION, build_fast_model
from stance.labels import labels_of
from stance.metrics import evaluate
from stance.model import StanceClassifier
from stance.model_dir import INT8_FILE, ModelDir, file_digest

log = logging.getLogger(__name__)
# The int8 model must match fp32 on held-out sentences chosen for selection, never on test ones.
CHECK_SPLITS = ("validation", "article_validation")
# Training articles first: their contexts are what scoring articles looks like.
CALIBRATION_SPLITS = ("article_train", "train")


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
    """Build the int8 model for a trained (torch) classifier and compare it with fp32 on ``rows``.

    ``calibration_rows`` (training sentences, never the checked ones) fix the activation scales.
    Returns the ``metrics.json["fast"]`` record; ``default_on_cpu`` says whether ``auto`` will use it.
    """
    import torch

    out_dir = Path(out_dir)
    model = classifier.runtime.model
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).to("cpu", torch.float32)
    # The reference is fp32 on CPU even when training ran in bf16 on a GPU.
    same = {"max_length": classifier.max_length, "context": classifier.context,
            "temperature": classifier.temperature}
    reference = StanceClassifier(TorchFp32Runner(model, "cpu", classifier.pad_id), classifier.tokenizer,
                                 **same)
    calibration = []
    if calibration_rows:
        chosen = list(calibration_rows[:CALIBRATION_SENTENCES])
        calibration = reference.token_ids([r["text"] for r in chosen], [r.get("context", "") for r in chosen])
    target = build_fast_model(model, out_dir, calibration)
    fast = StanceClassifier(OnnxInt8Runner(target, pad_id=classifier.pad_id), classifier.tokenizer, **same)
    record = {"backend": ONNX_INT8, "file": INT8_FILE, "sha256": file_digest(target),
              "bytes": target.stat().st_size, "quantisation": QUANTISATION, "split": split,
              "calibration_sentences": len(calibration), "batched": fast.runtime.batched}
    if rows:
        texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
        contexts = [r.get("context", "") for r in rows]
        record.update(quality_record(gold, reference.predict_proba(texts, contexts=contexts),
                                     fast.predict_proba(texts, contexts=contexts)))
    fast.close()
    record["default_on_cpu"] = record.get("macro_f1_drop", float("inf")) <= MAX_MACRO_F1_DROP
    return record


def export_for_training(classifier, out_dir: Path, splits: dict[str, list[dict]]) -> dict:
    """``export_checked`` on the splits training already built: checked on the validation splits,
    calibrated on training sentences. Never raises: a failure only means "no fast path"."""
    (Path(out_dir) / INT8_FILE).unlink(missing_ok=True)  # never keep one for older weights
    try:
        rows = [r for name in CHECK_SPLITS for r in splits.get(name, ())]
        calibration = [r for name in CALIBRATION_SPLITS for r in splits.get(name, ())]
        record = export_checked(classifier, out_dir, rows, calibration, split="+".join(CHECK_SPLITS))
    except Exception as exc:  # any failure only means "no fast path": fp32 still serves
        log.warning("no int8 model for %s: %s", out_dir, exc)
        (Path(out_dir) / INT8_FILE).unlink(missing_ok=True)
        return {"backend": ONNX_INT8, "error": str(exc), "default_on_cpu": False}
    log.info("int8 model: held-out macro-F1 %.3f vs fp32 %.3f, agreement %.3f",
             record.get("int8_macro_f1", float("nan")), record.get("fp32_macro_f1", float("nan")),
             record.get("agreement", float("nan")))
    return record


def add_to_model_dir(model_dir: Path, seeds_dir: Path) -> dict:
    """Build and check the int8 model for an existing model directory; update its metrics.json.

    The splits are rebuilt from ``seeds_dir`` here: unlike training, nothing has built them."""
    from stance import dataset
    from stance.card import write_card

    directory = ModelDir(model_dir)
    classifier = StanceClassifier.load(directory.path, device="cpu", backend=TORCH)
    record = export_for_training(classifier, directory.path, dataset.build(Path(seeds_dir)))
    metrics = directory.metrics()
    metrics["fast"] = record
    directory.write_metrics(metrics)
    if {"data", "config"} <= metrics.keys():  # a card from `stance train`: keep its fast-path line true
        write_card(directory.path, metrics)
    return record
