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
         "--limit-per-label", "4", "--bootstrap", "0", "--device", "cpu", "--folds", "2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["approach"] == "fine-tuned-mpnet+context"
    assert metrics["seed"]["n"] == 94  # the seed articles are held out, every sentence measured
    assert not metrics["config"]["include_seed_articles"]
    assert metrics["soft_labels_from"].startswith("out of fold: 2 teachers")
    soft = distill.read_soft_labels(out / "soft_labels.jsonl")
    assert len(soft) == metrics["soft_labels"] == metrics["data"]["train_sentences"]
    classifier = StanceClassifier.load(out, device="cpu")
    assert classifier.predict(["Kyiv wants to join NATO."])[0].label
    row = distill.teacher_result(out / "soft_labels.jsonl")
    assert row["approach"] == metrics["approach"] and "article_validation" in row
    assert "Reproduce: `python training/teacher.py" in (out / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("folds", [2, 3])
def test_out_of_fold_soft_labels_come_from_a_teacher_that_never_saw_the_article(folds):
    import importlib.util

    import numpy as np

    from stance.config import TrainingConfig

    spec = importlib.util.spec_from_file_location("teacher_script", ROOT / "training" / "teacher.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = [{"text": f"Sentence {i}.", "context": "", "label": "neutral", "article_id": f"a{i // 3}"}
            for i in range(30)]
    seen_by = []

    class Recorder:  # a teacher whose logits name the articles it trained on
        def __init__(self, trained):
            self.trained = {r["article_id"] for r in trained}
            seen_by.append(self.trained)

        def predict_logits(self, texts, contexts):
            return np.full((len(texts), 4), float(len(seen_by)), dtype=np.float32)

    logits = script.out_of_fold_logits(TrainingConfig(), rows, folds, lambda config, train: Recorder(train))
    assert len(seen_by) == folds
    for row, values in zip(rows, logits, strict=True):
        assert row["article_id"] not in seen_by[int(values[0]) - 1]
