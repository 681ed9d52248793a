"""The int8 export: graph rewrites, fixed activation scales, and the check against fp32 at training."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from stance import dataset
from stance.backends import ONNX_INT8, OnnxInt8Runner
from stance.backends.onnx_int8 import FIXED_SCALES, MAX_MACRO_F1_DROP
from stance.exporting import onnx_graph, quantise
from stance.model import StanceClassifier
from stance.model_dir import INT8_FILE, file_digest


@pytest.mark.integration
def test_training_exports_a_checked_int8_model(tiny_model_dir):
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    record = metrics["fast"]
    assert (tiny_model_dir / INT8_FILE).is_file()
    assert record["sha256"] == file_digest(tiny_model_dir / INT8_FILE)
    splits = dataset.build()
    # Checked on the selection splits, never on a test split.
    assert record["split"] == "validation+article_validation"
    assert record["n"] == len(splits["validation"]) + len(splits["article_validation"])
    assert record["macro_f1_drop"] == pytest.approx(record["fp32_macro_f1"] - record["int8_macro_f1"])
    assert record["default_on_cpu"] == (record["macro_f1_drop"] <= MAX_MACRO_F1_DROP)
    assert 0.0 <= record["agreement"] <= 1.0
    # Calibrated on training sentences, so the runner takes padded batches.
    assert record["calibration_sentences"] > 0 and record["batched"] is True


@pytest.mark.integration
def test_export_fast_adds_the_int8_model_to_an_existing_dir(tiny_model_dir, tmp_path, capsys):
    from stance.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / INT8_FILE).unlink()
    metrics = json.loads((copy / "metrics.json").read_text())
    del metrics["fast"]
    (copy / "metrics.json").write_text(json.dumps(metrics))
    (copy / "README.md").write_text("stale card")

    assert main(["export-fast", "--model", str(copy)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["sha256"] == file_digest(copy / INT8_FILE)
    assert json.loads((copy / "metrics.json").read_text())["fast"] == record
    assert record["quantisation"] in (copy / "README.md").read_text()  # the card is rewritten
    assert StanceClassifier.load(copy, device="cpu", backend="onnx-int8").backend == ONNX_INT8


def _tiny_bert(num_labels=4):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=num_labels)
    return BertForSequenceClassification(config).eval()


def test_last_layer_cut_to_the_first_token_keeps_the_logits():
    import torch

    model = _tiny_bert()
    cut = onnx_graph.first_token_only(model)
    assert cut is not model
    assert type(cut.bert.encoder.layer[-1]).__name__ == "FirstTokenLayer"
    ids = torch.tensor([[101, 7, 8, 9, 10, 102], [101, 11, 12, 102, 0, 0]])
    mask = (ids != 0).long()
    with torch.inference_mode():
        whole = model(input_ids=ids, attention_mask=mask).logits
        part = cut(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(part, whole, atol=1e-5)
    # The original is left whole: training and the torch path still use it.
    assert type(model.bert.encoder.layer[-1]).__name__ == "BertLayer"


def test_last_layer_cut_leaves_other_architectures_whole():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    model = DistilBertForSequenceClassification(
        DistilBertConfig(vocab_size=120, dim=32, n_layers=1, n_heads=4, hidden_dim=64, num_labels=4))
    assert onnx_graph.first_token_only(model) is model


def test_last_layer_cut_is_dropped_when_its_logits_differ(monkeypatch):
    import torch

    class Wrong(torch.nn.Module):
        def forward(self, hidden_states, *args, **kwargs):
            return torch.zeros_like(hidden_states[:, :1])

    monkeypatch.setattr(onnx_graph, "_first_token_layer", lambda layer: Wrong())
    model = _tiny_bert()
    assert onnx_graph.first_token_only(model) is model


def _dynamic_int8(model_dir, tmp_path):
    """The model's int8 file with dynamic activation scales (built without calibration sentences)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    return quantise.build_fast_model(model, tmp_path)


@pytest.mark.integration
def test_fixed_scales_replace_every_dynamic_quantisation(tiny_model_dir, tmp_path):
    import onnx

    dynamic = _dynamic_int8(tiny_model_dir, tmp_path)
    ops = _op_types(dynamic)
    assert "DynamicQuantizeLinear" in ops and "MatMulInteger" in ops
    calibration = [[101] + list(range(5, 5 + n)) + [102] for n in range(1, 20)]
    fixed = tmp_path / "fixed.onnx"
    assert quantise.fix_activation_scales(dynamic, fixed, calibration) == ops.count("DynamicQuantizeLinear")
    ops = _op_types(fixed)
    assert "DynamicQuantizeLinear" not in ops and "MatMulInteger" not in ops
    assert "MatMulIntegerToFloat" in ops
    assert onnx.load(str(fixed)).metadata_props[0].value == FIXED_SCALES
    # The fixed-scale model still computes the same classifier, to int8 precision.
    sequences = [[101, 9, 10, 11, 102], [101, 30, 31, 32, 33, 34, 35, 102]]
    with_dynamic, with_fixed = OnnxInt8Runner(dynamic, threads=1), OnnxInt8Runner(fixed, threads=1)
    assert (with_dynamic.batched, with_fixed.batched) == (False, True)
    assert with_fixed.logits(sequences) == pytest.approx(with_dynamic.logits(sequences), abs=0.05)


@pytest.mark.integration
def test_a_dynamic_scale_file_still_runs_one_sentence_per_call(tiny_model_dir, tmp_path):
    runner = OnnxInt8Runner(_dynamic_int8(tiny_model_dir, tmp_path), threads=1)
    calls = []
    run = runner.session.run
    runner.session.run = lambda names, feed: calls.append(feed["input_ids"].shape) or run(names, feed)
    sequences = [[101, 9, 10, 102], [101, 9, 10, 11, 12, 102], [101, 40, 102]]
    together = runner.logits(sequences)
    assert sorted(shape[0] for shape in calls) == [1, 1, 1]
    for ids, row in zip(sequences, together, strict=True):
        assert runner.logits([ids])[0] == pytest.approx(row, abs=1e-6)


def _fused_tiny_bert(tmp_path):
    model = _tiny_bert()
    onnx_graph.export_onnx(model, tmp_path / "model.onnx")
    assert onnx_graph.optimise(tmp_path / "model.onnx", tmp_path / "fused.onnx", model.config)
    return tmp_path / "fused.onnx"


def _op_types(path):
    import onnx

    return [node.op_type for node in onnx.load(str(path)).graph.node]


def test_layer_norms_are_rewritten_for_the_rms_kernel_with_the_same_logits(tmp_path):
    import onnxruntime as ort

    fused = _fused_tiny_bert(tmp_path)
    norms = _op_types(fused).count("SkipLayerNormalization")
    assert norms == 4  # two per layer
    assert onnx_graph.centre_layer_norms(fused, tmp_path / "centred.onnx") == norms
    ops = _op_types(tmp_path / "centred.onnx")
    assert "SkipLayerNormalization" not in ops
    assert ops.count("SimplifiedLayerNormalization") == norms
    ids = np.array([[101, 7, 8, 9, 10, 11, 102], [101, 12, 13, 102, 0, 0, 0]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64)}
    before, after = (ort.InferenceSession(str(path)).run(None, feed)[0]
                     for path in (fused, tmp_path / "centred.onnx"))
    assert after == pytest.approx(before, rel=1e-4, abs=1e-7)


def test_layer_norm_rewrite_is_dropped_when_its_logits_differ(tmp_path, monkeypatch):
    from onnx import helper

    fused = _fused_tiny_bert(tmp_path)
    # A stand-in that forgets the normalisation: the check against the fused graph must catch it.
    monkeypatch.setattr(onnx_graph, "_centred_rms_norm", lambda node: [
        helper.make_node("Add", list(node.input[:2]), [node.output[0]], name=node.name)])
    assert onnx_graph.centre_layer_norms(fused, tmp_path / "centred.onnx") == 0
