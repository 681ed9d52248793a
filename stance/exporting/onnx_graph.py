"""The fp32 ONNX export and its graph rewrites: the last layer for [CLS] only, fused attention,
layer norms as centring + RMS norm (stance/exporting/__init__.py has the measured reasons)."""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ONNX_OPSET = 17


class FastModelError(RuntimeError):
    """The int8 model cannot be built here."""


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
        with quiet_root_logger():
            optimised = optimize_model(str(source), model_type="bert",
                                       num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
            optimised.save_model_to_file(str(target))
    except Exception as exc:  # an architecture the optimiser does not know still runs unfused
        log.info("ONNX transformer optimiser skipped: %s", exc)
        return False
    return True


@contextlib.contextmanager
def quiet_root_logger():
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
