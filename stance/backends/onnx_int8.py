"""The fast CPU path: the fine-tuned model as ONNX with int8 weights, run by ONNX Runtime.

How the file is built and why (graph rewrites, quantisation, fixed activation scales) is in
stance/exporting, which serving never imports. Measured on the 2-core AMD EPYC development machine
(BENCHMARKS.md has the run):

- With fixed activation scales every row is computed alone (padded and unpadded logits are
  identical), so sentences run in length-sorted padded batches, one single-threaded worker per
  physical core: 562 -> 758 sentences/s on the 2 cores here against the dynamically quantised
  model run one sentence at a time (2,345 pre-tokenised sentences). A dynamically quantised file
  (older model directories) still runs one sentence per call: ONNX Runtime scales each matrix
  product's input by the whole batch's range, so in a padded batch a sentence's probabilities
  depended on its neighbours (14 of 568 test labels changed).

The int8 model is exported at training time next to the weights (``model.int8.onnx``); its macro-F1
and agreement with fp32 on the validation splits go to ``metrics.json["fast"]``. On CPU,
``backend="auto"`` uses it only when that record says it is within ``MAX_MACRO_F1_DROP`` of fp32 and
the file is the one that was checked (same SHA-256); otherwise it falls back to fp32 torch. A model
directory without the file is not exported lazily at load: that would write into a possibly read-only
directory and add seconds to every cold start. ``stance export-fast`` adds it to an existing model.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from stance.backends.batching import cpu_threads, length_chunks, pad_batch
from stance.model_dir import INT8_FILE, file_digest

# The rule: the fast path is the CPU default only when it costs at most this much macro-F1.
MAX_MACRO_F1_DROP = 0.01
# Written into the ONNX file's metadata: only fixed scales make a sentence's logits batch-independent.
SCALES_KEY = "stance.activation_scales"
FIXED_SCALES = "fixed"
# Sentences per run (a padded batch) with fixed scales, and per worker task either way: large enough
# to amortise per-run overhead (one sentence per run was 25% slower), small enough to balance workers.
RUN_CHUNK = 32
# In requests of 64 news sentences, 4 chunks per worker ran 42% faster than 1 (the last chunk no
# longer leaves a worker idle: 472 -> 672 sentences/s); requests of 400 were unchanged (~700/s).
TASKS_PER_WORKER = 4


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def has_fixed_scales(session) -> bool:
    return session.get_modelmeta().custom_metadata_map.get(SCALES_KEY) == FIXED_SCALES


class OnnxInt8Runner:
    """Logits for token-id sequences on ONNX Runtime, one single-threaded worker per core.

    With fixed activation scales, sentences run in length-sorted padded batches; a dynamically
    quantised file (older model directories) runs one sentence per call, since its batches would make
    a sentence's probabilities depend on its neighbours.
    """

    name = "onnx-int8"
    file = INT8_FILE
    cpu_only = True
    device = "cpu"

    def __init__(self, path: Path, threads: int | None = None, pad_id: int = 0):
        import onnxruntime as ort

        self.path = Path(path)
        self.threads = threads or cpu_threads()
        self.pad_id = pad_id
        options = ort.SessionOptions()
        # Parallelism comes from running batches side by side, not from splitting one small GEMM.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.batched = has_fixed_scales(self.session)
        # One pool per model, shared by concurrent callers (the service), so cores are not oversubscribed.
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="stance-int8") \
            if self.threads > 1 else None

    @classmethod
    def problem(cls, device_type: str, model_dir: Path | None, info: dict, *, auto: bool) -> str | None:
        if device_type != "cpu":
            return f"the int8 model runs on CPU only, not {device_type}"
        if not onnxruntime_available():
            return "onnxruntime is not installed"
        if model_dir is None or not (Path(model_dir) / cls.file).is_file():
            return f"no {cls.file} in the model directory (add it with `stance export-fast`)"
        if not auto:
            return None
        record = info.get("fast") or {}
        if "macro_f1_drop" not in record:
            return "metrics.json has no quality check of the int8 model"
        if record["macro_f1_drop"] > MAX_MACRO_F1_DROP:
            return (f"the int8 model loses {record['macro_f1_drop']:.3f} macro-F1 on the "
                    f"{record.get('split', 'test')} split "
                    f"(allowed {MAX_MACRO_F1_DROP})")
        if record.get("sha256") != file_digest(Path(model_dir) / cls.file):
            return f"{cls.file} is not the file whose quality metrics.json records"
        return None

    @classmethod
    def auto_reason(cls, info: dict) -> str:
        drop = info["fast"]["macro_f1_drop"]
        return f"int8 within {MAX_MACRO_F1_DROP} macro-F1 of fp32 (drop {drop:+.3f})"

    @classmethod
    def open(cls, model_dir: Path, *, device: str = "cpu", threads: int | None = None,
             pad_id: int = 0) -> OnnxInt8Runner:
        return cls(Path(model_dir) / cls.file, threads=threads, pad_id=pad_id)

    def _run(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        if self.batched or len(sequences) == 1:
            input_ids, mask = pad_batch(sequences, self.pad_id)
            return self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return np.concatenate([self._run([ids]) for ids in sequences])

    def logits(self, sequences: Sequence[Sequence[int]], batch_size: int = 64) -> np.ndarray:
        """Logits in input order; ``batch_size`` is torch's and is ignored here (chunks are sized
        by the workers and by padding instead)."""
        if not sequences:
            return np.zeros((0, 0), dtype=np.float32)
        # At least TASKS_PER_WORKER chunks each, so workers finish together and a small request (the
        # service's adaptive batches are often a handful) still uses every worker.
        size = max(1, min(RUN_CHUNK, -(-len(sequences) // (self.threads * TASKS_PER_WORKER))))
        chunks = length_chunks([len(ids) for ids in sequences], size)

        def work(chunk: list[int]) -> np.ndarray:
            return self._run([sequences[i] for i in chunk])

        parts = list(self._pool.map(work, chunks) if self._pool is not None and len(chunks) > 1
                     else map(work, chunks))
        out = np.empty((len(sequences), parts[0].shape[1]), dtype=np.float32)
        out[[i for chunk in chunks for i in chunk]] = np.concatenate(parts)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
