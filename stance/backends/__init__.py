"""Inference backends: token ids in, logits out. One implementation per module, chosen here alone.

A backend class has a registry ``name``, the model-directory ``file`` it serves (its digest is the
model's version), and ``cpu_only``; its class methods say whether it can run for a model
(``problem``), why ``auto`` picked it (``auto_reason``) and build it (``open``); an instance gives
``logits`` for token-id sequences and is ``close``d when no longer needed.

Adding a backend is a module with such a class plus one line in :data:`REGISTRY` (and in
:data:`AUTO_ORDER` if ``auto`` should consider it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from stance.backends.onnx_int8 import OnnxInt8Runner
from stance.backends.torch_fp32 import TorchFp32Runner

if TYPE_CHECKING:
    import numpy as np

AUTO = "auto"
TORCH = TorchFp32Runner.name
ONNX_INT8 = OnnxInt8Runner.name


class BackendError(RuntimeError):
    """A requested backend cannot run this model here."""


class Backend(Protocol):
    name: ClassVar[str]
    file: ClassVar[str]
    cpu_only: ClassVar[bool]

    @property
    def device(self) -> str: ...

    @classmethod
    def problem(cls, device_type: str, model_dir: Path | None, info: dict, *, auto: bool) -> str | None:
        """Why this backend cannot (or, when ``auto``, should not) run the model; None when it can."""

    @classmethod
    def auto_reason(cls, info: dict) -> str:
        """Why ``auto`` chose it, for ``StanceClassifier.backend_reason`` and the service's ``/model``."""

    @classmethod
    def open(cls, model_dir: Path, *, device: str, threads: int | None, pad_id: int) -> Backend: ...

    def logits(self, sequences: Sequence[Sequence[int]], batch_size: int = 64) -> np.ndarray: ...

    def close(self) -> None: ...


REGISTRY: dict[str, type[Backend]] = {
    TorchFp32Runner.name: TorchFp32Runner,
    OnnxInt8Runner.name: OnnxInt8Runner,
}
# ``auto`` takes the first of these that has no problem; the last one must always run.
AUTO_ORDER = (ONNX_INT8, TORCH)
BACKENDS = (AUTO, *REGISTRY)


def backend_class(name: str) -> type[Backend]:
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    return REGISTRY[name]


def choose_backend(requested: str | None, device_type: str, model_dir: Path | None,
                   info: dict) -> tuple[str, str]:
    """(backend, reason). ``auto``: int8 on CPU when checked and within 0.01 macro-F1, else torch."""
    requested = requested or AUTO
    if requested != AUTO:
        problem = backend_class(requested).problem(device_type, model_dir, info, auto=False)
        if problem:
            raise BackendError(f"backend {requested} unavailable: {problem}")
        return requested, "requested"
    problems = []
    for name in AUTO_ORDER:
        problem = REGISTRY[name].problem(device_type, model_dir, info, auto=True)
        if problem is None:
            return name, "; ".join(problems) or REGISTRY[name].auto_reason(info)
        problems.append(problem)
    raise BackendError("no backend can run this model: " + "; ".join(problems))


def open_backend(requested: str | None, device: str, model_dir: Path, info: dict, *,
                 threads: int | None = None, pad_id: int = 0) -> tuple[Backend, str]:
    """(backend, reason): the chosen backend, built. When ``auto``'s choice fails to load (e.g. a
    file from an incompatible onnxruntime), the last of :data:`AUTO_ORDER` serves instead."""
    import torch

    name, reason = choose_backend(requested, torch.device(device).type, model_dir, info)
    chosen = REGISTRY[name]
    try:
        return chosen.open(model_dir, device=device, threads=threads, pad_id=pad_id), reason
    except Exception as exc:
        fallback = AUTO_ORDER[-1]
        if name == fallback:
            raise
        if requested == name:
            raise BackendError(f"cannot load {chosen.file}: {exc}") from exc
        backup = REGISTRY[fallback].open(model_dir, device=device, threads=threads, pad_id=pad_id)
        return backup, f"{chosen.file} failed to load: {exc}"


__all__ = ["AUTO", "AUTO_ORDER", "BACKENDS", "ONNX_INT8", "REGISTRY", "TORCH", "Backend", "BackendError",
           "OnnxInt8Runner", "TorchFp32Runner", "backend_class", "choose_backend", "open_backend"]
