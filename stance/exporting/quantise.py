"""int8 weights, activation scales fixed from training sentences, and the whole int8 build."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stance.backends.onnx_int8 import FIXED_SCALES, SCALES_KEY, onnxruntime_available
from stance.exporting.onnx_graph import (
    FastModelError,
    centre_layer_norms,
    export_onnx,
    optimise,
    quiet_root_logger,
)
from stance.model_dir import INT8_FILE

QUANTISATION = ("onnxruntime int8 (per-channel weights, activation scales fixed from training sentences; "
                "MatMul and fused Attention), last layer for [CLS] only, layer norms as centring + RMS "
                "norm, length-sorted padded batches")
# Training sentences whose activation ranges fix the scales: 256, 512 and all 1,416 gave the same
# agreement with fp32 on the validation and seed sentences (0.985-0.987); more take longer to export.
CALIBRATION_SENTENCES = 512


def quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_root_logger():
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


def build_fast_model(model, out_dir: Path, calibration: Sequence[Sequence[int]] = ()) -> Path:
    """Write ``out_dir/model.int8.onnx`` from a torch sequence-classification model.

    ``calibration`` (token ids of training sentences) fixes the activation scales; without it they
    stay dynamic and the runner takes one sentence per run.
    """
    if not onnxruntime_available():
        raise FastModelError("onnxruntime is not installed")
    target = Path(out_dir) / INT8_FILE
    with tempfile.TemporaryDirectory(prefix="stance-onnx-") as tmp:
        fp32, fused, centred, dynamic, int8 = (Path(tmp) / name for name in (
            "model.onnx", "fused.onnx", "centred.onnx", "dynamic.onnx", INT8_FILE))
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
