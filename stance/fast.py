"""The fast CPU path: the fine-tuned model as ONNX with int8 weights, run by ONNX Runtime.

Chosen by measurement on the 2-core AMD EPYC development machine (AVX-512 VNNI; BENCHMARKS.md has
the run, candidates included):

- Export with eager attention and the last encoder layer computed for the first ([CLS]) position
  only: the classification head reads nothing else, so the other positions' output projection and
  feed-forward in that layer are wasted work (about 11% of the time here; logits equal to 1e-6).
- Fuse with ONNX Runtime's BERT optimiser (one Attention op per layer,
  153 nodes instead of ~850), then undo one fusion: ONNX Runtime's (Skip)LayerNormalization kernel
  took 17% of the time (~59 us per 30x384 tensor here), while centring the rows and calling its
  SimplifiedLayerNormalization (RMS) kernel gives the same numbers (fp32 logits equal to 3e-6) in
  ~12 us: 300 -> 374 sentences/s on one thread. Then dynamic quantisation: int8 weights per output channel for MatMul
  and Attention; embeddings stay fp32 (quantising them cost agreement and gained no speed). About
  2.7x `stance`'s fp32 torch path, test macro-F1 within 0.01 of fp32. Torch's dynamic quantisation
  was a little slower and lost 0.019 macro-F1 (and is deprecated); ``MatMulNBits`` 8-bit agreed more
  with fp32 but ran at half the speed.
- Dynamic quantisation scales activations by the maximum of the whole input tensor, so in a padded
  batch a sentence's probabilities depend on its neighbours (19 of 3,285 labels changed against the
  same sentences run alone). So each sentence runs alone, unpadded, and sentences are spread over
  one single-threaded worker per physical core in chunks of up to 16: a little faster than padded
  batches (540 vs 534 sentences/s) on an idle machine, far ahead of them when other jobs share the
  cores, and a sentence always gets the same probabilities whatever else is in the request.

The int8 model is exported at training time next to the weights (``model.int8.onnx``); its macro-F1
and agreement with fp32 on the authored test split go to ``metrics.json["fast"]``. On CPU,
``backend="auto"`` uses it only when that record says it is within ``MAX_MACRO_F1_DROP`` of fp32 and
the file is the one that was checked (same SHA-256); otherwise it falls back to fp32 torch. A model
directory without the file is not exported lazily at load: that would write into a possibly read-only
directory and add seconds to every cold start. ``stance export-fast`` adds it to an existing model.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FAST_MODEL_FILE = "model.int8.onnx"
TORCH = "torch"
ONNX_INT8 = "onnx-int8"
AUTO = "auto"
BACKENDS = (AUTO, TORCH, ONNX_INT8)
# The rule: the fast path is the CPU default only when it costs at most this much macro-F1.
MAX_MACRO_F1_DROP = 0.01
QUANTISATION = ("onnxruntime dynamic int8 (per-channel weights; MatMul and fused Attention), "
                "last layer for [CLS] only, layer norms as centring + RMS norm, one sentence per run")
ONNX_OPSET = 17
THREADS_ENV = "STANCE_THREADS"
# Sentences per worker task: large enough to amortise the pool's hand-off, small enough to balance.
RUN_CHUNK = 16


class FastModelError(RuntimeError):
    """The int8 model cannot be built or used here."""


def cpu_threads() -> int:
    """``$STANCE_THREADS``, else the physical cores this process may run on."""
    if os.environ.get(THREADS_ENV):
        return max(1, int(os.environ[THREADS_ENV]))
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or available
    except ImportError:
        physical = available
    # Hyper-threads share one core's vector units: a second int8 worker on them only adds contention.
    return max(1, min(available, physical))


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_token_layer(layer):
    """``layer`` (a BERT-style encoder layer) computing its output for the first position only.

    Attention still reads every position's keys and values; only the query side that nobody reads
    afterwards (the attention output projection and the feed-forward block) is cut to position 0.
    """
    import torch

    class FirstTokenLayer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, hidden_states, attention_mask=None, *args, **kwargs):
            attention = self.layer.attention
            context, _ = attention.self(hidden_states, attention_mask=attention_mask)
            first = attention.output(context[:, :1], hidden_states[:, :1])
            return self.layer.feed_forward_chunk(first)

    return FirstTokenLayer()


def first_token_only(model):
    """A copy of ``model`` whose last encoder layer runs for [CLS] alone, or ``model`` unchanged.

    Only for classifiers that read position 0 alone (BERT's pooler); the copy's logits are checked
    against the original's on a padded batch, so an architecture this does not fit is left whole.
    """
    import torch

    encoder = getattr(getattr(model, "base_model", None), "encoder", None)
    layers = getattr(encoder, "layer", None)
    last = layers[-1] if layers is not None and len(layers) else None
    if (getattr(model.config, "model_type", None) != "bert" or last is None
            or not all(hasattr(last, name) for name in ("attention", "feed_forward_chunk"))):
        return model
    cut = copy.deepcopy(model)
    cut.base_model.encoder.layer[-1] = _first_token_layer(cut.base_model.encoder.layer[-1])
    input_ids, attention_mask = _padded_example()
    try:
        with torch.inference_mode():
            whole = model(input_ids=input_ids, attention_mask=attention_mask).logits
            part = cut(input_ids=input_ids, attention_mask=attention_mask).logits
    except Exception as exc:  # an unexpected layer signature: export the model whole
        log.info("last-layer [CLS] cut skipped: %s", exc)
        return model
    if part.shape != whole.shape or not torch.allclose(part, whole, atol=1e-4):
        log.info("last-layer [CLS] cut skipped: logits differ from the whole model's")
        return model
    return cut


def _padded_example():
    import torch

    # Padded, so that the attention-mask path is traced rather than skipped as all ones.
    return torch.tensor([[101, 2, 3, 4, 102], [101, 2, 3, 102, 0]]), \
        torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])


def export_onnx(model, path: Path) -> None:
    """fp32 ONNX with dynamic batch and sequence axes (TorchScript exporter: no onnxscript needed)."""
    import torch

    model = copy.deepcopy(model).to("cpu", torch.float32).eval()
    # Eager attention exports as plain MatMul/Softmax, a pattern ONNX Runtime's BERT optimiser fuses
    # into one Attention op; the SDPA export is left as hundreds of small ops.
    with contextlib.suppress(AttributeError, ValueError):
        model.set_attn_implementation("eager")
    model = first_token_only(model)
    input_ids, attention_mask = _padded_example()
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings():
        # Tracer and deprecation warnings about the legacy exporter: the result is checked instead.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model, (input_ids, attention_mask), str(path),
                input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
                opset_version=ONNX_OPSET, do_constant_folding=True, dynamo=False,
            )
        except Exception as exc:  # the exporter raises many types; all mean "no fast model"
            raise FastModelError(f"ONNX export failed: {exc}") from exc


def optimise(source: Path, target: Path, config) -> bool:
    """Fuse attention, layer norms and GELU (ONNX Runtime's transformer optimiser); False if it cannot."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        with _quiet_root_logger():
            optimised = optimize_model(str(source), model_type="bert",
                                       num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
            optimised.save_model_to_file(str(target))
    except Exception as exc:  # an architecture the optimiser does not know still runs unfused
        log.info("ONNX transformer optimiser skipped: %s", exc)
        return False
    return True


@contextlib.contextmanager
def _quiet_root_logger():
    """The quantiser warns through the root logger, which would call basicConfig as a side effect."""
    root = logging.getLogger()
    handler, level = logging.NullHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _centred_rms_norm(node) -> list:
    """ONNX nodes computing ``node`` (a SkipLayerNormalization) as centring + SimplifiedLayerNormalization.

    LayerNorm(x) = gamma * (x - mean) / sqrt(var + eps) + beta, and for centred rows var is the mean
    square, which is what SimplifiedLayerNormalization divides by.
    """
    from onnx import helper

    epsilon = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "epsilon"), 1e-12)
    x, skip, gamma, beta, bias = (list(node.input) + [""] * 5)[:5]
    name = node.name or node.output[0]
    nodes = [helper.make_node("Add", [x, skip], [f"{name}/sum"], name=f"{name}/add_skip")]
    total = f"{name}/sum"
    if bias:
        nodes.append(helper.make_node("Add", [total, bias], [f"{name}/biased"], name=f"{name}/add_bias"))
        total = f"{name}/biased"
    normed = f"{name}/normed" if beta else node.output[0]
    nodes += [
        helper.make_node("ReduceMean", [total], [f"{name}/mean"], name=f"{name}/mean", axes=[-1], keepdims=1),
        helper.make_node("Sub", [total, f"{name}/mean"], [f"{name}/centred"], name=f"{name}/centre"),
        # An ONNX Runtime op registered in the default domain (its contrib kernel), not an ONNX one.
        helper.make_node("SimplifiedLayerNormalization", [f"{name}/centred", gamma], [normed],
                         name=f"{name}/rms_norm", axis=-1, epsilon=epsilon),
    ]
    if beta:
        nodes.append(helper.make_node("Add", [normed, beta], [node.output[0]], name=f"{name}/add_beta"))
    return nodes


def centre_layer_norms(source: Path, target: Path) -> int:
    """Write ``source`` with each fused SkipLayerNormalization rewritten for the faster RMS-norm kernel.

    Returns how many were rewritten; 0 (nothing written) when there are none or the rewritten fp32
    graph's logits differ from the original's on a padded batch.
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(source))
    nodes, count = [], 0
    for node in model.graph.node:
        # Nodes whose optional mean/variance/sum outputs are read are left alone.
        if node.op_type == "SkipLayerNormalization" and node.domain == "com.microsoft" \
                and not any(node.output[1:]):
            nodes += _centred_rms_norm(node)
            count += 1
        else:
            nodes.append(node)
    if not count:
        return 0
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(target))
    input_ids, attention_mask = (t.numpy() for t in _padded_example())
    feed = {"input_ids": input_ids, "attention_mask": attention_mask}
    try:
        before, after = (ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                         .run(None, feed)[0] for path in (source, target))
    except Exception as exc:  # an ONNX Runtime without the kernel: keep the fused layer norms
        log.info("layer-norm rewrite skipped: %s", exc)
        return 0
    if before.shape != after.shape or not np.allclose(after, before, rtol=1e-3, atol=1e-6):
        log.info("layer-norm rewrite skipped: logits differ from the fused graph's")
        return 0
    return count


def quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        # Fused contrib ops defeat ONNX shape inference; their outputs are float.
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def build_fast_model(model, out_dir: Path) -> Path:
    """Write ``out_dir/model.int8.onnx`` from a torch sequence-classification model."""
    if not onnxruntime_available():
        raise FastModelError("onnxruntime is not installed")
    target = Path(out_dir) / FAST_MODEL_FILE
    with tempfile.TemporaryDirectory(prefix="stance-onnx-") as tmp:
        fp32, fused, centred, int8 = (Path(tmp) / name for name in
                                      ("model.onnx", "fused.onnx", "centred.onnx", FAST_MODEL_FILE))
        export_onnx(model, fp32)
        graph = fused if optimise(fp32, fused, model.config) else fp32
        quantise(graph if centre_layer_norms(graph, centred) == 0 else centred, int8)
        # Moved in whole, so a reader never sees a half-written model.
        shutil.move(str(int8), str(target))
    return target


class OnnxInt8Runner:
    """Logits for token-id sequences, one sentence per ONNX Runtime call, one worker per core."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        self.threads = threads or cpu_threads()
        options = ort.SessionOptions()
        # Parallelism comes from running sentences side by side, not from splitting one small GEMM.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        # One pool per model, shared by concurrent callers (the service), so cores are not oversubscribed.
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="stance-int8") \
            if self.threads > 1 else None

    def _one(self, ids: Sequence[int]) -> np.ndarray:
        input_ids = np.asarray(ids, dtype=np.int64)[None, :]
        return self.session.run(None, {"input_ids": input_ids,
                                       "attention_mask": np.ones_like(input_ids)})[0][0]

    def logits(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        if not sequences:
            return np.zeros((0, 0), dtype=np.float32)
        if self._pool is None or len(sequences) == 1:
            return np.stack([self._one(ids) for ids in sequences])
        # Longest first, so no worker is left with a long sentence at the end; handed out in small
        # chunks, because one pool task per sentence cost ~15% of the throughput in task overhead.
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
        # A small request (the service's adaptive batches are often a handful) still uses every worker.
        size = max(1, min(RUN_CHUNK, -(-len(order) // self.threads)))
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        parts = self._pool.map(lambda chunk: [self._one(sequences[i]) for i in chunk], chunks)
        rows = [row for part in parts for row in part]
        out = np.empty((len(sequences), rows[0].shape[0]), dtype=np.float32)
        out[order] = np.stack(rows)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)


def fast_problem(device_type: str, model_dir: Path | None, info: dict, *, check_quality: bool) -> str | None:
    """Why the int8 model cannot (or, for ``auto``, should not) be used here; None when it can."""
    if device_type != "cpu":
        return f"the int8 model runs on CPU only, not {device_type}"
    if not onnxruntime_available():
        return "onnxruntime is not installed"
    if model_dir is None or not (Path(model_dir) / FAST_MODEL_FILE).is_file():
        return f"no {FAST_MODEL_FILE} in the model directory (add it with `stance export-fast`)"
    if not check_quality:
        return None
    record = info.get("fast") or {}
    if "macro_f1_drop" not in record:
        return "metrics.json has no quality check of the int8 model"
    if record["macro_f1_drop"] > MAX_MACRO_F1_DROP:
        return (f"the int8 model loses {record['macro_f1_drop']:.3f} macro-F1 on the test split "
                f"(allowed {MAX_MACRO_F1_DROP})")
    if record.get("sha256") != file_digest(Path(model_dir) / FAST_MODEL_FILE):
        return f"{FAST_MODEL_FILE} is not the file whose quality metrics.json records"
    return None


def choose_backend(requested: str | None, device_type: str, model_dir: Path | None,
                   info: dict) -> tuple[str, str]:
    """(backend, reason). ``auto``: int8 on CPU when checked and within 0.01 macro-F1, else torch."""
    requested = requested or AUTO
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}; expected one of {', '.join(BACKENDS)}")
    if requested == TORCH:
        return TORCH, "requested"
    problem = fast_problem(device_type, model_dir, info, check_quality=requested == AUTO)
    if requested == ONNX_INT8:
        if problem:
            raise FastModelError(f"backend {ONNX_INT8} unavailable: {problem}")
        return ONNX_INT8, "requested"
    if problem:
        return TORCH, problem
    drop = info["fast"]["macro_f1_drop"]
    return ONNX_INT8, f"int8 within {MAX_MACRO_F1_DROP} macro-F1 of fp32 (drop {drop:+.3f})"


def quality_record(gold: Sequence[str], fp32: np.ndarray, int8: np.ndarray) -> dict:
    """How the int8 model compares with fp32 on the same labelled sentences."""
    from stance.labels import LABELS
    from stance.metrics import evaluate

    fp32_f1 = evaluate(list(gold), [LABELS[i] for i in fp32.argmax(axis=1)], bootstrap=0)["macro_f1"]
    int8_f1 = evaluate(list(gold), [LABELS[i] for i in int8.argmax(axis=1)], bootstrap=0)["macro_f1"]
    return {
        "n": len(gold),
        "fp32_macro_f1": fp32_f1,
        "int8_macro_f1": int8_f1,
        "macro_f1_drop": fp32_f1 - int8_f1,
        "agreement": float(np.mean(fp32.argmax(axis=1) == int8.argmax(axis=1))),
        "max_probability_difference": float(np.abs(fp32 - int8).max()),
    }


def export_checked(classifier, out_dir: Path, rows: Sequence[dict]) -> dict:
    """Build the int8 model for a trained classifier and compare it with fp32 on labelled ``rows``.

    Returns the ``metrics.json["fast"]`` record; ``default_on_cpu`` says whether ``auto`` will use it.
    """
    import torch

    from stance.model import StanceClassifier

    out_dir = Path(out_dir)
    model = classifier.model
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).to("cpu", torch.float32)
    target = build_fast_model(model, out_dir)
    # The reference is fp32 on CPU even when training ran in bf16 on a GPU.
    reference = StanceClassifier(model, classifier.tokenizer, max_length=classifier.max_length,
                                 device=torch.device("cpu"))
    fast = StanceClassifier(None, classifier.tokenizer, max_length=classifier.max_length,
                            fast=OnnxInt8Runner(target))
    record = {"backend": ONNX_INT8, "file": FAST_MODEL_FILE, "sha256": file_digest(target),
              "bytes": target.stat().st_size, "quantisation": QUANTISATION, "split": "test"}
    if rows:
        texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
        record.update(quality_record(gold, reference.predict_proba(texts), fast.predict_proba(texts)))
    fast.fast.close()
    record["default_on_cpu"] = record.get("macro_f1_drop", float("inf")) <= MAX_MACRO_F1_DROP
    return record


def export_for_training(classifier, out_dir: Path, seeds_dir: Path) -> dict:
    """``export_checked`` on the authored test split; never raises, so training keeps its model."""
    from stance import dataset

    (Path(out_dir) / FAST_MODEL_FILE).unlink(missing_ok=True)  # never keep one for older weights
    try:
        rows = dataset.build(Path(seeds_dir))["test"]
        record = export_checked(classifier, out_dir, rows)
    except Exception as exc:  # any failure only means "no fast path": fp32 still serves
        log.warning("no int8 model for %s: %s", out_dir, exc)
        (Path(out_dir) / FAST_MODEL_FILE).unlink(missing_ok=True)
        return {"backend": ONNX_INT8, "error": str(exc), "default_on_cpu": False}
    log.info("int8 model: test macro-F1 %.3f vs fp32 %.3f, agreement %.3f",
             record.get("int8_macro_f1", float("nan")), record.get("fp32_macro_f1", float("nan")),
             record.get("agreement", float("nan")))
    return record


def add_to_model_dir(model_dir: Path, seeds_dir: Path) -> dict:
    """Build and check the int8 model for an existing model directory; update its metrics.json."""
    import json

    from stance.model import StanceClassifier

    model_dir = Path(model_dir)
    classifier = StanceClassifier.load(model_dir, device="cpu", backend=TORCH)
    record = export_for_training(classifier, model_dir, seeds_dir)
    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    metrics["fast"] = record
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return record
