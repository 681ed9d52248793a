"""Probe outputs: a fixed set of sentences whose probabilities are recorded when a model is written
(training, ``stance export-fast``) and checked before it serves.

A file can be complete and well-formed yet wrong: an int8 export whose logits were permuted, weights
swapped under an unchanged name. Running the classifier that will serve on the probe sentences and
comparing with the recorded probabilities catches what checksums alone do not, and the digest of the
file actually served (``model.int8.onnx`` or ``model.safetensors``) becomes the model's version.

``probe.json``: ``{"sentences": [...], "backends": {"torch": {"file", "sha256", "device",
"probabilities"}, "onnx-int8": {...}}}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stance.backends import ONNX_INT8, OnnxInt8Runner
from stance.model_dir import PROBE_FILE, ModelDir, file_digest

# Covering every label and the forms the model must tell apart (quotes, negation, a headline).
PROBE_SENTENCES = (
    "Zelensky said Ukraine belongs in NATO and will keep asking for an invitation.",
    "“Ukraine will never be a member of NATO,” Peskov told reporters.",
    "Ukraine is not a member of NATO and we understand this, the president said.",
    "NATO leaders met in Vilnius on Tuesday.",
    "Kyiv may have to give up its membership bid in exchange for security guarantees.",
    "Russia demands that the alliance close its door to Ukraine for good.",
    "Allies agreed that Ukraine's future is in NATO.",
    "Ukraine may not join NATO – Zelenskyy",
)
# Largest difference of any probability from the recorded one. CPU runs repeat to ~1e-6; CUDA runs in
# bf16 autocast, so a model recorded on one device and served on the other differs by up to ~1e-2.
CPU_TOLERANCE = 1e-3
CROSS_DEVICE_TOLERANCE = 5e-2


class IntegrityError(RuntimeError):
    """The model about to serve does not reproduce the outputs recorded for it."""


def served_file(classifier, model_dir: str | Path) -> Path:
    """The weights file of ``model_dir`` that the classifier actually reads."""
    return Path(model_dir) / classifier.runtime.file


def _entry(classifier, model_dir: Path) -> dict:
    served = served_file(classifier, model_dir)
    return {"file": served.name, "sha256": file_digest(served),
            "device": classifier.device.type,
            "probabilities": np.round(classifier.predict_proba(list(PROBE_SENTENCES)), 6).tolist()}


def _int8_twin(classifier, model_dir: Path):
    """The int8 classifier for the same directory, or None when it has no usable int8 file."""
    from stance.model import StanceClassifier

    if classifier.backend == ONNX_INT8 or not ModelDir(model_dir).has(OnnxInt8Runner.file):
        return None
    try:
        runner = OnnxInt8Runner.open(model_dir, pad_id=classifier.pad_id)
    except Exception:  # an unusable int8 file has nothing to record
        return None
    # The twin reads sentences and scales logits exactly as the torch classifier does.
    return StanceClassifier(runner, classifier.tokenizer, path=model_dir, max_length=classifier.max_length,
                            context=classifier.context, temperature=classifier.temperature)


def record_probe(classifier, model_dir: str | Path) -> Path:
    """Record the probe outputs of ``classifier`` (and of the directory's int8 file, when a torch
    classifier is given) in ``model_dir/probe.json``; entries of other backends are kept."""
    model_dir = Path(model_dir)
    directory = ModelDir(model_dir)
    record = {"sentences": list(PROBE_SENTENCES), "backends": {}}
    if directory.has(PROBE_FILE):
        try:
            old = directory.read_json(PROBE_FILE)
            if old.get("sentences") == record["sentences"]:
                record["backends"] = dict(old.get("backends") or {})
        except (ValueError, AttributeError):
            pass  # an unreadable record is replaced
    record["backends"][classifier.backend] = _entry(classifier, model_dir)
    twin = _int8_twin(classifier, model_dir)
    if twin is not None:
        record["backends"][ONNX_INT8] = _entry(twin, model_dir)
        twin.close()
    elif classifier.backend != ONNX_INT8 and not ModelDir(model_dir).has(OnnxInt8Runner.file):
        record["backends"].pop(ONNX_INT8, None)  # never keep outputs of a file now gone
    return directory.write_json(PROBE_FILE, record, indent=1)


def verify_probe(classifier, model_dir: str | Path) -> str:
    """Check ``classifier`` against the recorded probe outputs; return the served file's digest.

    Raises IntegrityError with a one-line message saying what does not match.
    """
    model_dir = Path(model_dir)
    remedy = "retrain it, or re-record with `stance export-fast --model DIR`"
    try:
        record = ModelDir(model_dir).read_json(PROBE_FILE)
        entry = record["backends"][classifier.backend]
        expected = np.asarray(entry["probabilities"], dtype=np.float64)
        sentences = record["sentences"]
    except FileNotFoundError:
        raise IntegrityError(f"model {model_dir} has no {PROBE_FILE} to check it against: {remedy}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"model {model_dir}: {PROBE_FILE} has no usable record for backend "
                             f"{classifier.backend} ({type(exc).__name__}: {exc}): {remedy}") from None
    served = served_file(classifier, model_dir)
    digest = file_digest(served)
    if digest != entry.get("sha256"):
        raise IntegrityError(f"model {model_dir}: {served.name} is not the file whose outputs "
                             f"{PROBE_FILE} records (sha256 {digest[:12]}, recorded "
                             f"{str(entry.get('sha256'))[:12]})")
    got = classifier.predict_proba(list(sentences)).astype(np.float64)
    if got.shape != expected.shape:
        raise IntegrityError(f"model {model_dir}: probe outputs have shape {got.shape}, recorded "
                             f"{expected.shape}")
    same_device = entry.get("device", "cpu") == classifier.device.type == "cpu"
    tolerance = CPU_TOLERANCE if same_device else CROSS_DEVICE_TOLERANCE
    worst = float(np.abs(got - expected).max()) if got.size else 0.0
    if not worst <= tolerance:  # also catches NaN
        raise IntegrityError(f"model {model_dir}: {served.name} gives probe outputs up to {worst:.3g} "
                             f"away from those recorded (allowed {tolerance:g}): it is not the model "
                             "that was checked")
    return digest
