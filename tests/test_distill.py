"""Distillation: the teacher's logits file, matching rows to it, and the loss the student trains on."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from stance import distill
from stance.config import TrainingConfig
from stance.labels import LABELS

ROWS = [
    {"text": "Kyiv wants to join NATO.", "context": "", "label": "pro-membership"},
    {"text": "Moscow forbids it.", "context": "Kyiv wants to join NATO.", "label": "opposing"},
    {"text": "Membership is off the table.", "context": "", "label": "conceding"},
    {"text": "The summit opens on Tuesday.", "context": "", "label": "neutral"},
]


def test_soft_labels_round_trip_by_sentence_and_context(tmp_path):
    logits = np.array([[3, 0, 0, 0], [0, 0, 2, 1], [0, 4, 0, 0], [0, 0, 0, 5]], dtype=np.float32)
    path = tmp_path / "soft.jsonl"
    assert distill.write_soft_labels(path, ROWS + ROWS[:1], np.vstack([logits, logits[:1]])) == 4
    rows, matched = distill.attach(ROWS, distill.read_soft_labels(path))
    assert matched == 4
    assert np.array_equal(rows[1]["teacher_logits"], logits[1])
    # The same sentence after another context is another input: no stale soft target.
    moved = [{**ROWS[1], "context": "Berlin hesitates."}]
    rows, matched = distill.attach(moved, distill.read_soft_labels(path))
    assert matched == 0 and "teacher_logits" not in rows[0]
    assert "teacher_logits" not in ROWS[1]  # attach copies, the caller's rows are left alone


def test_a_soft_label_without_every_label_is_refused(tmp_path):
    path = tmp_path / "soft.jsonl"
    path.write_text(json.dumps({"key": "abc", "logits": {LABELS[0]: 1.0}}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="soft label without"):
        distill.read_soft_labels(path)


def test_the_loss_is_zero_only_when_the_student_matches_the_teacher():
    teacher = torch.tensor([[2.0, 0.0, -1.0, 0.5]])
    assert distill.loss(teacher.clone(), teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distill.loss(torch.zeros(1, 4), teacher, 2.0).item() > 0.01
    # Same ranking as the teacher but flatter: the student still pays for the lost confidence.
    assert distill.loss(teacher / 2, teacher, 1.0).item() > 0


@pytest.mark.integration
def test_training_follows_the_teacher_where_it_scored_the_rows(tmp_path):
    from stance.finetune import fine_tune

    # A teacher that calls every sentence neutral, against the gold labels.
    teacher = np.tile(np.array([-4.0, -4.0, -4.0, 4.0], dtype=np.float32), (len(ROWS), 1))
    path = tmp_path / "soft.jsonl"
    distill.write_soft_labels(path, ROWS, teacher)
    config = TrainingConfig(epochs=3, batch_size=4, learning_rate=1e-3, device="cpu", context="previous")
    texts, contexts = [r["text"] for r in ROWS], [r["context"] for r in ROWS]

    def trained(**settings):
        tuned = fine_tune(dataclasses.replace(config, **settings), ROWS)
        return tuned.predict_proba(texts, contexts=contexts)

    alone = trained()
    taught = trained(teacher_labels=str(path), distill_weight=0.9)
    neutral = LABELS.index("neutral")
    assert taught[:, neutral].mean() > alone[:, neutral].mean() + 0.1
    # A weight of 0 is the gold labels alone, bit for bit.
    assert np.array_equal(trained(teacher_labels=str(path), distill_weight=0.0), alone)


def test_a_teacher_measured_on_other_data_is_left_out_of_the_report(tmp_path):
    import json

    from stance import distill

    (tmp_path / "soft_labels.jsonl").write_text("")
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"approach": "teacher", "article_test": {"n": 3, "macro_f1": 0.9}}))
    labels = tmp_path / "soft_labels.jsonl"
    assert distill.teacher_result(labels, {"article_test": [{}] * 3})["article_test"]["n"] == 3
    assert distill.teacher_result(labels, {"article_test": [{}] * 4}) is None
    assert distill.teacher_result(labels) is not None  # no splits given: nothing to compare
