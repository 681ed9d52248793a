"""The model as trained, on torch: fp32 on CPU, bf16 autocast on CUDA, length-bucketed batches.

torch is imported when a runner is built, not with the module: the registry (and so the CLI's
``--backend`` choices) must not cost torch's import time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stance.backends.batching import THREADS_ENV, cpu_threads, length_buckets, pad_batch
from stance.model_dir import WEIGHTS_FILE

# On a GPU small batches leave it idle; the batch_size callers pass is sized for CPU.
CUDA_MIN_BATCH = 512


class TorchFp32Runner:
    """Logits from a transformers sequence-classification model (or anything called like one)."""

    name = "torch"
    file = WEIGHTS_FILE
    cpu_only = False

    def __init__(self, model, device=None, pad_id: int = 0):
        import torch

        self.model = model
        self._device = torch.device(device or "cpu")
        self.pad_id = pad_id
        self.model.to(self._device).eval()

    @property
    def device(self) -> str:
        return str(self._device)

    @classmethod
    def problem(cls, device_type: str, model_dir: Path | None, info: dict, *, auto: bool) -> str | None:
        return None  # the weights the model was trained as run anywhere

    @classmethod
    def auto_reason(cls, info: dict) -> str:
        return "fp32, the model as trained"

    @classmethod
    def open(cls, model_dir: Path, *, device: str = "cpu", threads: int | None = None,
             pad_id: int = 0) -> TorchFp32Runner:
        import torch
        from transformers import AutoModelForSequenceClassification

        # torch's setting is per process: an engine running one classifier per core passes 1.
        if threads is not None:
            torch.set_num_threads(threads)
        elif os.environ.get(THREADS_ENV):
            torch.set_num_threads(cpu_threads())
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), use_safetensors=True)
        return cls(model, device, pad_id)

    def logits(self, sequences: Sequence[Sequence[int]], batch_size: int = 64) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self._logits(torch, sequences, batch_size)

    def _logits(self, torch, sequences: Sequence[Sequence[int]], batch_size: int) -> np.ndarray:
        cuda = self._device.type == "cuda"
        size = max(batch_size, CUDA_MIN_BATCH) if cuda else batch_size
        buckets = list(length_buckets([len(seq) for seq in sequences], size))
        outputs = []
        for idx in buckets:
            input_ids, attention_mask = pad_batch([sequences[i] for i in idx], self.pad_id)
            batch = {"input_ids": torch.from_numpy(input_ids),
                     "attention_mask": torch.from_numpy(attention_mask)}
            if cuda:
                batch = {k: v.pin_memory().to(self._device, non_blocking=True) for k, v in batch.items()}
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    outputs.append(self.model(**batch).logits.float())
            else:
                outputs.append(self.model(**batch).logits)
        # One device-to-host copy per chunk instead of a synchronisation per batch.
        stacked = torch.cat(outputs).float().cpu().numpy()
        logits = np.empty_like(stacked)
        logits[np.concatenate(buckets)] = stacked
        return logits

    def close(self) -> None:
        pass  # nothing outlives the model object
