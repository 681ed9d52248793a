"""The backends: which one `auto` picks, the int8 runner's batches and workers, the fp32 fallback."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from stance import dataset
from stance.backends import ONNX_INT8, TORCH, BackendError, OnnxInt8Runner, batching, choose_backend
from stance.backends.onnx_int8 import MAX_MACRO_F1_DROP
from stance.model import ModelError, StanceClassifier, default_model_dir, pad_batch, softmax
from stance.model_dir import INT8_FILE, file_digest

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
        (tmp_path / INT8_FILE).write_bytes(b"int8 weights")
    digest = file_digest(tmp_path / INT8_FILE) if with_file else None
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
    with pytest.raises(BackendError, match="CPU only"):
        choose_backend("onnx-int8", "cuda", path, info)
    (path / INT8_FILE).unlink()
    with pytest.raises(BackendError, match="export-fast"):
        choose_backend("onnx-int8", "cpu", path, info)
    with pytest.raises(ValueError, match="unknown backend"):
        choose_backend("tensorrt", "cpu", path, info)


def test_thread_count_follows_the_environment(monkeypatch):
    monkeypatch.setenv(batching.THREADS_ENV, "3")
    assert batching.cpu_threads() == 3
    monkeypatch.delenv(batching.THREADS_ENV)
    assert 1 <= batching.cpu_threads() <= len(os.sched_getaffinity(0))


def test_padding_and_softmax():
    ids, mask = pad_batch([[5, 6, 7], [5]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [5, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    probs = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    assert probs == pytest.approx(np.array([[0.5, 0.5], [0.25, 0.75]]))


@pytest.mark.integration
def test_int8_agrees_with_fp32_on_real_sentences(tiny_model_dir):
    rows = dataset.build()
    texts = [r["text"] for r in rows["seed"]] + [r["text"] for r in rows["test"]] + SENTENCES
    int8 = StanceClassifier.load(tiny_model_dir, device="cpu", backend="onnx-int8")
    fp32 = StanceClassifier.load(tiny_model_dir, device="cpu", backend="torch")
    assert (int8.backend, fp32.backend) == (ONNX_INT8, TORCH)
    assert not hasattr(int8.runtime, "model")  # the torch weights are not loaded for the int8 path
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

    (copy / INT8_FILE).unlink()
    fallback = StanceClassifier.load(copy, device="cpu")
    assert fallback.backend == TORCH and "export-fast" in fallback.backend_reason
    assert fallback.predict_proba(SENTENCES).shape == (len(SENTENCES), 4)
    with pytest.raises(ModelError, match="export-fast"):
        StanceClassifier.load(copy, device="cpu", backend="onnx-int8")


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
    (copy / INT8_FILE).write_bytes(b"not an onnx model")
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["fast"].update(sha256=file_digest(copy / INT8_FILE), macro_f1_drop=0.0)
    (copy / "metrics.json").write_text(json.dumps(metrics))
    fallback = StanceClassifier.load(copy, device="cpu")
    assert fallback.backend == TORCH and "failed to load" in fallback.backend_reason
    with pytest.raises(ModelError, match="cannot load"):
        StanceClassifier.load(copy, device="cpu", backend="onnx-int8")


@pytest.mark.integration
def test_int8_work_is_split_over_every_worker_in_bounded_chunks(tiny_model_dir):
    class RecordingPool:
        def __init__(self):
            self.chunk_sizes = []

        def map(self, fn, chunks):
            chunks = list(chunks)
            self.chunk_sizes.append([len(chunk) for chunk in chunks])
            return [fn(chunk) for chunk in chunks]

    runner = OnnxInt8Runner(tiny_model_dir / INT8_FILE, threads=2)
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
    chunks = batching.length_chunks(lengths, size=16)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(lengths)))
    for chunk in chunks:
        assert len(chunk) <= 16
        real = [lengths[i] for i in chunk]
        assert real == sorted(real, reverse=True)  # the first sentence sets the padded width
        assert len(chunk) * real[0] <= (1 + batching.MAX_PADDING) * sum(real)
    # The 100-token sentence is not padded together with short ones; equal lengths fill whole chunks.
    assert [lengths[i] for i in chunks[0]] == [100]
    assert sum(len(chunk) == 16 for chunk in chunks) >= 3


class _Constant:
    """A backend in a few lines: what a new one needs to be served."""

    name, file, cpu_only, device = "constant", "constant.bin", True, "cpu"
    closed = False

    @classmethod
    def problem(cls, device_type, model_dir, info, *, auto):
        return None if (model_dir / cls.file).is_file() else f"no {cls.file}"

    @classmethod
    def auto_reason(cls, info):
        return "constant"

    @classmethod
    def open(cls, model_dir, *, device, threads, pad_id):
        return cls()

    def logits(self, sequences, batch_size=64):
        return np.tile(np.array([[0.0, 0.0, 0.0, np.log(3.0)]], dtype=np.float32), (len(sequences), 1))

    def close(self):
        self.closed = True


def test_every_registered_backend_has_what_the_classifier_and_service_read():
    from stance.backends import REGISTRY

    for name, cls in REGISTRY.items():
        assert cls.name == name and cls.file and isinstance(cls.cpu_only, bool)
        assert all(callable(getattr(cls, m)) for m in ("problem", "auto_reason", "open", "logits", "close"))


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").exists(), reason="no trained model")
def test_a_registered_backend_is_served_with_its_files_digest_as_the_version(tmp_path, monkeypatch):
    from stance import backends

    copy = tmp_path / "model"
    copy.mkdir()
    for item in default_model_dir().iterdir():
        (copy / item.name).symlink_to(item.resolve())
    monkeypatch.setitem(backends.REGISTRY, _Constant.name, _Constant)
    with pytest.raises(ModelError, match="no constant.bin"):
        StanceClassifier.load(copy, backend="constant")
    (copy / _Constant.file).write_bytes(b"constant weights")
    classifier = StanceClassifier.load(copy, backend="constant")
    assert (classifier.backend, classifier.backend_reason) == ("constant", "requested")
    assert classifier.device.type == "cpu"
    assert classifier.served_file == copy / _Constant.file
    assert classifier.version == file_digest(copy / _Constant.file)[:12]
    # The classifier still applies the model's temperature to whatever logits the backend gives.
    expected = softmax(np.array([[0.0, 0.0, 0.0, np.log(3.0)]]) / classifier.temperature)[0]
    assert classifier.predict_proba(["NATO met.", "Kyiv."]) == pytest.approx(np.vstack([expected] * 2))
    classifier.close()
    assert classifier.runtime.closed
