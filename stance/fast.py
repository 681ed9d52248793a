"""The fast CPU path: the fine-tuned model as ONNX with int8 weights, run by ONNX Runtime.

Chosen by measurement on the 2-core AMD EPYC development machine (AVX-512 VNNI; BENCHMARKS.md has
the run, candidates included):

- Export with eager attention and the last encoder layer computed for the first ([CLS]) position
  only: the classification head reads nothing else, so the other positions' output projection and
  feed-forward in that layer are wasted work (about 11% of the time here; logits equal to 1e-6).
- Fuse with ONNX Runtime's BERT optimiser (one Attention op per layer, 153 nodes instead of ~850),
  then undo one fusion: ONNX Runtime's (Skip)LayerNormalization CPU kernel took 17% of the time
  (~59 us per 30x384 tensor here), while centring the rows and calling its SimplifiedLayerNormalization
  (RMS) kernel gives the same numbers (fp32 logits equal to 3e-6) in ~12 us.
- Quantise: int8 weights per output channel for MatMul and Attention; embeddings stay fp32
  (quantising them cost agreement and gained no speed). Torch's dynamic quantisation was slower and
  lost 0.019 macro-F1 (and is deprecated); ``MatMulNBits`` 8-bit ran at half the speed.
- Fix the activation scales. ONNX Runtime's dynamic quantisation scales each matrix product's input
  by that whole tensor's range, so in a padded batch a sentence's probabilities depended on its
  neighbours (14 of 568 test labels changed), which forced one sentence per run. Most ranges are set
  by a few outlier dimensions that every sentence has (after a layer norm, a typical sentence's
  maximum is 28.4 against 28.5 over 800 training sentences), so scales fixed from training sentences
  at export cost little: agreement with fp32 on the validation and seed sentences stayed at 0.987. With fixed
  scales every row is computed alone (padded and unpadded logits are identical), so sentences run
  in length-sorted padded batches, one single-threaded worker per physical core: 562 -> 758
  sentences/s on the 2 cores here against the dynamic model run one sentence at a time
  (2,345 pre-tokenised sentences).

The int8 model is exported at training time next to the weights (``model.int8.onnx``); its macro-F1
and agreement with fp32 on the validation splits go to ``metrics.json["fast"]`` (stance/export.py). On CPU,
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
QUANTISATION = ("onnxruntime int8 (per-channel weights, activation scales fixed from training sentences; "
                "MatMul and fused Attention), last layer for [CLS] only, layer norms as centring + RMS "
                "norm, length-sorted padded batches")
# Written into the ONNX file's metadata: only fixed scales make a sentence's logits batch-independent.
SCALES_KEY = "stance.activation_scales"
FIXED_SCALES = "fixed"
# Training sentences whose activation ranges fix the scales: 256, 512 and all 1,416 gave the same
# agreement with fp32 on the validation and seed sentences (0.985-0.987); more take longer to export.
CALIBRATION_SENTENCES = 512
ONNX_OPSET = 17
THREADS_ENV = "STANCE_THREADS"
# Sentences per run (a padded batch) with fixed scales, and per worker task either way: large enough
# to amortise per-run overhead (one sentence per run was 25% slower), small enough to balance workers.
RUN_CHUNK = 32
# In requests of 64 news sentences, 4 chunks per worker ran 42% faster than 1 (the last chunk no
# longer leaves a worker idle: 472 -> 672 sentences/s); requests of 400 were unchanged (~700/s).
TASKS_PER_WORKER = 4
# Padding tokens a padded batch may add, as a share of its real tokens (see length_chunks).
MAX_PADDING = 0.25


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


def activation_ranges(path: Path, sequences: Sequence[Sequence[int]]) -> dict[str, tuple[float, float]]:
    """The (min, max) of each dynamically quantised tensor of ``path`` over ``sequences``, run one by one."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(str(path))
    names = [node.input[0] for node in model.graph.node if node.op_type == "DynamicQuantizeLinear"]
    model.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names)
    options = ort.SessionOptions()
    # Unoptimised, so the probed tensors are not fused away.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    low, high = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for ids in sequences:
        input_ids = np.asarray(ids, dtype=np.int64)[None, :]
        values = session.run(names, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})
        for name, value in zip(names, values, strict=True):
            low[name], high[name] = min(low[name], float(value.min())), max(high[name], float(value.max()))
    return {name: (low[name], high[name]) for name in names}


def _integer_matmuls_to_float(graph) -> int:
    """Fuse MatMulInteger -> Cast -> Mul(a_scale * b_scale) into MatMulIntegerToFloat.

    ONNX Runtime fuses this pattern itself only after DynamicQuantizeLinear; left apart after a
    QuantizeLinear, the three ops cost ~9% of a run.
    """
    from onnx import helper

    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producer = {name: node for node in graph.node for name in node.output}

    def only_consumer(name: str, op_type: str):
        found = consumers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    replaced, dropped = {}, set()
    for node in graph.node:
        cast = only_consumer(node.output[0], "Cast") if node.op_type == "MatMulInteger" else None
        mul = cast and only_consumer(cast.output[0], "Mul")
        scales = mul and producer.get(mul.input[1])
        if not scales or scales.op_type != "Mul" or len(consumers[scales.output[0]]) != 1:
            continue
        a_q, b_q, a_zero, b_zero = (list(node.input) + [""] * 4)[:4]
        replaced[id(node)] = helper.make_node(
            "MatMulIntegerToFloat", [a_q, b_q, *scales.input, a_zero, b_zero], [mul.output[0]],
            name=f"{node.name}/to_float", domain="com.microsoft")
        dropped.update({id(cast), id(mul), id(scales)})
    nodes = [replaced.get(id(node), node) for node in graph.node if id(node) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)
    return len(replaced)


def fix_activation_scales(source: Path, target: Path, sequences: Sequence[Sequence[int]]) -> int:
    """Write ``source`` (dynamically quantised) with each activation scale fixed from ``sequences``.

    Every DynamicQuantizeLinear becomes a QuantizeLinear with the uint8 scale and zero point that
    cover the range seen over ``sequences`` (values beyond it saturate). Returns how many were fixed.
    """
    import onnx
    from onnx import helper, numpy_helper

    ranges = activation_ranges(source, sequences)
    model = onnx.load(str(source))
    nodes = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        low, high = ranges[node.input[0]]
        scale = (high - low) / 255.0 or 1.0
        zero_point = int(np.clip(round(-low / scale), 0, 255))
        # The scale and zero point keep their names, so the consumers need no rewiring.
        _, scale_name, zero_name = node.output
        model.graph.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), scale_name),
                                        numpy_helper.from_array(np.array(zero_point, np.uint8), zero_name)])
        nodes.append(helper.make_node("QuantizeLinear", [node.input[0], scale_name, zero_name],
                                      [node.output[0]], name=f"{node.name}/fixed"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _integer_matmuls_to_float(model.graph)
    helper.set_model_props(model, {SCALES_KEY: FIXED_SCALES})
    onnx.save(model, str(target))
    return len(ranges)


def has_fixed_scales(session) -> bool:
    return session.get_modelmeta().custom_metadata_map.get(SCALES_KEY) == FIXED_SCALES


def build_fast_model(model, out_dir: Path, calibration: Sequence[Sequence[int]] = ()) -> Path:
    """Write ``out_dir/model.int8.onnx`` from a torch sequence-classification model.

    ``calibration`` (token ids of training sentences) fixes the activation scales; without it they
    stay dynamic and the runner takes one sentence per run.
    """
    if not onnxruntime_available():
        raise FastModelError("onnxruntime is not installed")
    target = Path(out_dir) / FAST_MODEL_FILE
    with tempfile.TemporaryDirectory(prefix="stance-onnx-") as tmp:
        fp32, fused, centred, dynamic, int8 = (Path(tmp) / name for name in (
            "model.onnx", "fused.onnx", "centred.onnx", "dynamic.onnx", FAST_MODEL_FILE))
        export_onnx(model, fp32)
        graph = fused if optimise(fp32, fused, model.config) else fp32
        quantise(graph if centre_layer_norms(graph, centred) == 0 else centred, dynamic)
        if calibration:
            fix_activation_scales(dynamic, int8, calibration)
        else:
            shutil.move(str(dynamic), str(int8))
        # Moved in whole, so a reader never sees a half-written model.
        shutil.move(str(int8), str(target))
    return target


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token ids to the longest sequence: (input_ids, attention_mask), int64."""
    width = max(len(seq) for seq in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, :len(seq)] = seq
        attention_mask[row, :len(seq)] = 1
    return input_ids, attention_mask


def length_chunks(lengths: Sequence[int], size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices in chunks of at most ``size``, longest first, each padded by at most ``max_padding``.

    Longest first, so no worker is left with a long sentence at the end. A chunk closes early when
    padding everything to its first (longest) sentence would add more than ``max_padding`` of its
    real tokens: in requests of 64 news sentences, fixed chunks of 32 padded a few 100-token
    sentences' companions to their length and ran at half the speed of chunks of 8.
    """
    chunks: list[list[int]] = []
    tokens = 0  # real tokens in the last chunk
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        chunk = chunks[-1] if chunks else []
        if chunk and len(chunk) < size and \
                (len(chunk) + 1) * lengths[chunk[0]] <= (1 + max_padding) * (tokens + lengths[i]):
            chunk.append(i)
            tokens += lengths[i]
        else:
            chunks.append([i])
            tokens = lengths[i]
    return chunks


class OnnxInt8Runner:
    """Logits for token-id sequences on ONNX Runtime, one single-threaded worker per core.

    With fixed activation scales, sentences run in length-sorted padded batches; a dynamically
    quantised file (older model directories) runs one sentence per call, since its batches would make
    a sentence's probabilities depend on its neighbours.
    """

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

    def _run(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        if self.batched or len(sequences) == 1:
            input_ids, mask = pad_batch(sequences, self.pad_id)
            return self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return np.concatenate([self._run([ids]) for ids in sequences])

    def logits(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
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
        return (f"the int8 model loses {record['macro_f1_drop']:.3f} macro-F1 on the "
                f"{record.get('split', 'test')} split "
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
