"""training/teacher.py: the teacher's model directory and its soft labels, on a smoke-sized run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_teacher_run_writes_a_usable_model_and_soft_labels_for_distillation(tmp_path):
    from stance import distill
    from stance.model import StanceClassifier, base_encoder_path

    out = tmp_path / "teacher-stance"
    # The small packaged encoder stands in for all-mpnet-base-v2: the same steps, in seconds.
    run = subprocess.run(
        [sys.executable, "training/teacher.py", "--base", base_encoder_path(), "--epochs", "1",
         "--limit-per-label", "4", "--bootstrap", "0", "--device", "cpu", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["approach"] == "fine-tuned-mpnet+context"
    assert metrics["seed"]["n"] == 94  # the seed articles are held out, every sentence measured
    assert not metrics["config"]["include_seed_articles"]
    soft = distill.read_soft_labels(out / "soft_labels.jsonl")
    assert len(soft) == metrics["soft_labels"] == metrics["data"]["train_sentences"]
    classifier = StanceClassifier.load(out, device="cpu")
    assert classifier.predict(["Kyiv wants to join NATO."])[0].label
    row = distill.teacher_result(out / "soft_labels.jsonl")
    assert row["approach"] == metrics["approach"] and "article_validation" in row
    assert "Reproduce: `python training/teacher.py" in (out / "README.md").read_text(encoding="utf-8")
