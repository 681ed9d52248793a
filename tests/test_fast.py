"""The fast CPU path: the int8 ONNX model, when `auto` picks it, and the fp32 fallback."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from stance import dataset, fast
from stance.fast import MAX_MACRO_F1_DROP, ONNX_INT8, TORCH, FastModelError, choose_backend
from stance.model import ModelError, StanceClassifier, pad_batch, softmax

SENTENCES = [
    "Kyiv wants to join NATO as soon as the war ends.",
    "Moscow says it will never accept Ukraine in the alliance.",
    "Membership is not on the table for now, the chancellor conceded.",
    "It rained in Brussels on Tuesday.",
    "NATO.",
    "",
]


def _fake_model_dir(tmp_path, *, drop=0.0, with_file=True, matching_digest=True):
    """A directory with a stand-in int8 file and the metrics record `auto` reads."""
    if with_file:
        (tmp_path / fast.FAST_MODEL_FILE).write_bytes(b"int8 weights")
    digest = fast.file_digest(tmp_path / fast.FAST_MODEL_FILE) if with_file else None
    info = {"fast": {"macro_f1_drop": drop, "sha256": digest if matching_digest else "0" * 64}}
    return tmp_path, info


def test_auto_prefers_int8_on_cpu_within_the_allowed_drop(tmp_path):
    path, info = _fake_model_dir(tmp_path, drop=MAX_MACRO_F1_DROP - 0.001)
    backend, reason = choose_backend("auto", "cpu", path, info)
    assert backend == ONNX_INT8
    assert "macro-F1" in reason


def test_auto_falls_back_to_torch_when_int8_loses_too_much(tmp_path):
    path, info = _fake_model_dir(tmp_path, drop=MAX_MACRO_F1_DROP + 0.001)
    backend, reason = choose_backend("auto", "cpu", path, info)
    assert backend == TORCH
    assert "loses" in reason


@pytest.mark.parametrize("case", ["missing file", "unchecked", "other file", "cuda"])
def test_auto_falls_back_to_torch(tmp_path, case):
    path, info = _fake_model_dir(tmp_path, with_file=case != "missing file",
                                 matching_digest=case != "other file")
    if case == "unchecked":
        info = {}
    device = "cuda" if case == "cuda" else "cpu"
    backend, reason = choose_backend("auto", device, path, info)
    assert backend == TORCH
    assert reason


def test_forced_backends(tmp_path):
    path, info = _fake_model_dir(tmp_path, drop=0.5)
    assert choose_backend("torch", "cpu", path, info)[0] == TORCH
    # Forcing int8 skips the quality rule but not the missing file or the device.
    assert choose_backend("onnx-int8", "cpu", path, info)[0] == ONNX_INT8
    with pytest.raises(FastModelError, match="CPU only"):
        choose_backend("onnx-int8", "cuda", path, info)
    (path / fast.FAST_MODEL_FILE).unlink()
    with pytest.raises(FastModelError, match="export-fast"):
        choose_backend("onnx-int8", "cpu", path, info)
    with pytest.raises(ValueError, match="unknown backend"):
        choose_backend("tensorrt", "cpu", path, info)


def test_thread_count_follows_the_environment(monkeypatch):
    monkeypatch.setenv(fast.THREADS_ENV, "3")
    assert fast.cpu_threads() == 3
    monkeypatch.delenv(fast.THREADS_ENV)
    assert 1 <= fast.cpu_threads() <= len(os.sched_getaffinity(0))


def test_padding_and_softmax():
    ids, mask = pad_batch([[5, 6, 7], [5]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [5, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    probs = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    assert probs == pytest.approx(np.array([[0.5, 0.5], [0.25, 0.75]]))


@pytest.mark.integration
def test_training_exports_a_checked_int8_model(tiny_model_dir):
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    record = metrics["fast"]
    assert (tiny_model_dir / fast.FAST_MODEL_FILE).is_file()
    assert record["sha256"] == fast.file_digest(tiny_model_dir / fast.FAST_MODEL_FILE)
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
def test_int8_agrees_with_fp32_on_real_sentences(tiny_model_dir):
    rows = dataset.build()
    texts = [r["text"] for r in rows["seed"]] + [r["text"] for r in rows["test"]] + SENTENCES
    int8 = StanceClassifier.load(tiny_model_dir, device="cpu", backend="onnx-int8")
    fp32 = StanceClassifier.load(tiny_model_dir, device="cpu", backend="torch")
    assert (int8.backend, fp32.backend) == (ONNX_INT8, TORCH)
    assert int8.model is None  # the torch weights are not loaded for the int8 path
    fast_probs, ref_probs = int8.predict_proba(texts), fp32.predict_proba(texts)
    assert fast_probs.shape == ref_probs.shape == (len(texts), 4)
    assert fast_probs.sum(axis=1) == pytest.approx(np.ones(len(texts)), abs=1e-5)
    assert np.abs(fast_probs - ref_probs).mean() < 0.01
    assert np.mean(fast_probs.argmax(axis=1) == ref_probs.argmax(axis=1)) >= 0.95
    labels = [p.label for p in int8.predict(SENTENCES)]
    assert labels == [p.label for p in fp32.predict(SENTENCES)]


@pytest.mark.integration
def test_int8_probabilities_do_not_depend_on_the_batch(tiny_model_dir):
    classifier = StanceClassifier.load(tiny_model_dir, device="cpu", backend="onnx-int8")
    together = classifier.predict_proba(SENTENCES)
    for i, text in enumerate(SENTENCES):
        assert classifier.predict_proba([text])[0] == pytest.approx(together[i], abs=1e-6)
    assert classifier.predict_proba([]).shape == (0, 4)


@pytest.mark.integration
def test_auto_uses_int8_only_when_checked(tiny_model_dir, tmp_path):
    checked = StanceClassifier.load(tiny_model_dir, device="cpu")
    expected = ONNX_INT8 if checked.info["fast"]["default_on_cpu"] else TORCH
    assert checked.backend == expected

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["fast"]["macro_f1_drop"] = MAX_MACRO_F1_DROP + 0.05
    (copy / "metrics.json").write_text(json.dumps(metrics))
    assert StanceClassifier.load(copy, device="cpu").backend == TORCH

    (copy / fast.FAST_MODEL_FILE).unlink()
    fallback = StanceClassifier.load(copy, device="cpu")
    assert fallback.backend == TORCH and "export-fast" in fallback.backend_reason
    assert fallback.predict_proba(SENTENCES).shape == (len(SENTENCES), 4)
    with pytest.raises(ModelError, match="export-fast"):
        StanceClassifier.load(copy, device="cpu", backend="onnx-int8")


@pytest.mark.integration
def test_export_fast_adds_the_int8_model_to_an_existing_dir(tiny_model_dir, tmp_path, capsys):
    from stance.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / fast.FAST_MODEL_FILE).unlink()
    metrics = json.loads((copy / "metrics.json").read_text())
    del metrics["fast"]
    (copy / "metrics.json").write_text(json.dumps(metrics))
    (copy / "README.md").write_text("stale card")

    assert main(["export-fast", "--model", str(copy)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["sha256"] == fast.file_digest(copy / fast.FAST_MODEL_FILE)
    assert json.loads((copy / "metrics.json").read_text())["fast"] == record
    assert record["quantisation"] in (copy / "README.md").read_text()  # the card is rewritten
    assert StanceClassifier.load(copy, device="cpu", backend="onnx-int8").backend == ONNX_INT8


@pytest.mark.integration
def test_cli_backend_flag(tiny_model_dir, tmp_path, capsys):
    from stance.cli import main

    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": "neutral"}) for t in SENTENCES[:4]))
    for backend in ("torch", "onnx-int8"):
        assert main(["eval", "--data", str(data), "--model", str(tiny_model_dir), "--device", "cpu",
                     "--backend", backend, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["backend"] == backend


@pytest.mark.integration
def test_chunked_tokenisation_keeps_input_order(tiny_model_dir, monkeypatch):
    from stance import model as model_module

    classifier = StanceClassifier.load(tiny_model_dir, device="cpu", backend="torch")
    whole = classifier.predict_proba(SENTENCES * 2)
    # Chunks of 4: the next chunk is tokenised in a thread while the current one runs.
    monkeypatch.setattr(model_module, "TOKENIZE_CHUNK", 4)
    chunked = classifier.predict_proba(SENTENCES * 2)
    assert chunked == pytest.approx(whole, abs=1e-5)


@pytest.mark.integration
def test_an_unloadable_int8_file_falls_back_to_torch(tiny_model_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / fast.FAST_MODEL_FILE).write_bytes(b"not an onnx model")
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["fast"].update(sha256=fast.file_digest(copy / fast.FAST_MODEL_FILE), macro_f1_drop=0.0)
    (copy / "metrics.json").write_text(json.dumps(metrics))
    fallback = StanceClassifier.load(copy, device="cpu")
    assert fallback.backend == TORCH and "failed to load" in fallback.backend_reason
    with pytest.raises(ModelError, match="cannot load"):
        StanceClassifier.load(copy, device="cpu", backend="onnx-int8")


def _tiny_bert(num_labels=4):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, num_labels=num_labels)
    return BertForSequenceClassification(config).eval()


def test_last_layer_cut_to_the_first_token_keeps_the_logits():
    import torch

    model = _tiny_bert()
    cut = fast.first_token_only(model)
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
    assert fast.first_token_only(model) is model


def test_last_layer_cut_is_dropped_when_its_logits_differ(monkeypatch):
    import torch

    class Wrong(torch.nn.Module):
        def forward(self, hidden_states, *args, **kwargs):
            return torch.zeros_like(hidden_states[:, :1])

    monkeypatch.setattr(fast, "_first_token_layer", lambda layer: Wrong())
    model = _tiny_bert()
    assert fast.first_token_only(model) is model


@pytest.mark.integration
def test_int8_work_is_split_over_every_worker_in_bounded_chunks(tiny_model_dir):
    class RecordingPool:
        def __init__(self):
            self.chunk_sizes = []

        def map(self, fn, chunks):
            chunks = list(chunks)
            self.chunk_sizes.append([len(chunk) for chunk in chunks])
            return [fn(chunk) for chunk in chunks]

    runner = fast.OnnxInt8Runner(tiny_model_dir / fast.FAST_MODEL_FILE, threads=2)
    assert runner.batched
    runner._pool.shutdown()
    runner._pool = RecordingPool()
    sequences = [[101] + [7 + n % 5] * n + [102] for n in range(70)]
    alone = np.concatenate([runner._run([ids]) for ids in sequences])
    assert runner.logits(sequences[:4]) == pytest.approx(alone[:4], abs=1e-6)
    assert runner.logits(sequences) == pytest.approx(alone, abs=1e-6)
    # A handful of sentences (a typical adaptive batch) still goes to both workers.
    assert len(runner._pool.chunk_sizes[0]) >= 2
    assert sum(runner._pool.chunk_sizes[1]) == len(sequences)


def test_length_chunks_bound_size_and_padding():
    lengths = [5, 100, 30, 31, 29, 6, 7, 5, 32, 28, 30, 8] + [20] * 50
    chunks = fast.length_chunks(lengths, size=16)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(lengths)))
    for chunk in chunks:
        assert len(chunk) <= 16
        real = [lengths[i] for i in chunk]
        assert real == sorted(real, reverse=True)  # the first sentence sets the padded width
        assert len(chunk) * real[0] <= (1 + fast.MAX_PADDING) * sum(real)
    # The 100-token sentence is not padded together with short ones; equal lengths fill whole chunks.
    assert [lengths[i] for i in chunks[0]] == [100]
    assert sum(len(chunk) == 16 for chunk in chunks) >= 3


def _dynamic_int8(model_dir, tmp_path):
    """The model's int8 file with dynamic activation scales (built without calibration sentences)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
    return fast.build_fast_model(model, tmp_path)


@pytest.mark.integration
def test_fixed_scales_replace_every_dynamic_quantisation(tiny_model_dir, tmp_path):
    import onnx

    dynamic = _dynamic_int8(tiny_model_dir, tmp_path)
    ops = _op_types(dynamic)
    assert "DynamicQuantizeLinear" in ops and "MatMulInteger" in ops
    calibration = [[101] + list(range(5, 5 + n)) + [102] for n in range(1, 20)]
    fixed = tmp_path / "fixed.onnx"
    assert fast.fix_activation_scales(dynamic, fixed, calibration) == ops.count("DynamicQuantizeLinear")
    ops = _op_types(fixed)
    assert "DynamicQuantizeLinear" not in ops and "MatMulInteger" not in ops
    assert "MatMulIntegerToFloat" in ops
    assert onnx.load(str(fixed)).metadata_props[0].value == fast.FIXED_SCALES
    # The fixed-scale model still computes the same classifier, to int8 precision.
    sequences = [[101, 9, 10, 11, 102], [101, 30, 31, 32, 33, 34, 35, 102]]
    with_dynamic, with_fixed = fast.OnnxInt8Runner(dynamic, threads=1), fast.OnnxInt8Runner(fixed, threads=1)
    assert (with_dynamic.batched, with_fixed.batched) == (False, True)
    assert with_fixed.logits(sequences) == pytest.approx(with_dynamic.logits(sequences), abs=0.05)


@pytest.mark.integration
def test_a_dynamic_scale_file_still_runs_one_sentence_per_call(tiny_model_dir, tmp_path):
    runner = fast.OnnxInt8Runner(_dynamic_int8(tiny_model_dir, tmp_path), threads=1)
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
    fast.export_onnx(model, tmp_path / "model.onnx")
    assert fast.optimise(tmp_path / "model.onnx", tmp_path / "fused.onnx", model.config)
    return tmp_path / "fused.onnx"


def _op_types(path):
    import onnx

    return [node.op_type for node in onnx.load(str(path)).graph.node]


def test_layer_norms_are_rewritten_for_the_rms_kernel_with_the_same_logits(tmp_path):
    import onnxruntime as ort

    fused = _fused_tiny_bert(tmp_path)
    norms = _op_types(fused).count("SkipLayerNormalization")
    assert norms == 4  # two per layer
    assert fast.centre_layer_norms(fused, tmp_path / "centred.onnx") == norms
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
    monkeypatch.setattr(fast, "_centred_rms_norm", lambda node: [
        helper.make_node("Add", list(node.input[:2]), [node.output[0]], name=node.name)])
    assert fast.centre_layer_norms(fused, tmp_path / "centred.onnx") == 0
