import json

import pytest

from stance.model import ModelError, StanceClassifier, check_model_dir
from stance.train import TrainingConfig

pytestmark = pytest.mark.integration


def test_training_writes_a_complete_model_dir(tiny_model_dir):
    label_map = check_model_dir(tiny_model_dir)
    assert label_map["labels"] == ["pro-membership", "conceding", "opposing", "neutral"]
    assert (tiny_model_dir / "model.safetensors").stat().st_size > 1_000_000
    assert not list(tiny_model_dir.glob("*.bin")) and not list(tiny_model_dir.glob("*.pt"))
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    # The smoke cap of 12 per label applies to the authored sentences, articles and seeds alike.
    from collections import Counter

    from stance import dataset

    splits = dataset.build()
    expected = {label: sum(min(12, Counter(r["label"] for r in splits[name])[label])
                           for name in ("train", "article_train", "seed"))
                for label in Counter(r["label"] for r in splits["train"])}
    assert metrics["data"]["train_per_label"] == dict(sorted(expected.items()))
    assert set(metrics["test"]["per_class"]) == set(label_map["labels"])
    tokenizer_config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == label_map["max_length"]
    # The model carries how it reads sentences and its calibration.
    assert label_map["context"] == "previous" and label_map["temperature"] > 0
    assert metrics["temperature"] == label_map["temperature"]
    # Nothing about this machine or day in the committed files; run.json holds it.
    run = json.loads((tiny_model_dir / "run.json").read_text())
    assert {"trained_at", "train_seconds", "seeds_dir"} <= set(run)
    assert "trained_at" not in metrics and "seeds_dir" not in metrics["config"]
    assert str(tiny_model_dir.parent) not in (tiny_model_dir / "README.md").read_text()
    card = (tiny_model_dir / "README.md").read_text()
    for heading in ("## Data", "## Training set-up", "## Metrics", "## Intended use",
                    "## Limitations", "Confusion"):
        assert heading in card


def test_training_is_deterministic_on_cpu(tiny_model_dir, tmp_path):
    from stance.train import train

    config = TrainingConfig(name="again", output_dir=str(tmp_path), epochs=1, limit_per_label=12,
                            device="cpu", bootstrap=0)
    again = train(config)
    first = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert again["test"]["confusion"] == first["test"]["confusion"]
    assert again["test"]["macro_f1"] == first["test"]["macro_f1"]


def test_loaded_model_predicts_a_distribution(tiny_model_dir):
    classifier = StanceClassifier.load(tiny_model_dir, device="cpu")
    probs = classifier.predict_proba(["Kyiv wants to join NATO.", "Moscow objects.", "Rain."])
    assert probs.shape == (3, 4)
    assert probs.sum(axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    # Length bucketing must not reorder results.
    single = classifier.predict_proba(["Moscow objects."])
    assert single[0] == pytest.approx(probs[1], abs=1e-5)
    assert classifier.predict_proba([]).shape == (0, 4)


def test_model_with_other_labels_is_refused(tiny_model_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "label_map.json").write_text(json.dumps({"labels": ["favor", "against", "none"]}))
    with pytest.raises(ModelError, match="trained for labels"):
        StanceClassifier.load(broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="missing model.safetensors"):
        check_model_dir(broken)


def test_config_file_rejects_unknown_settings(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"epochs": 2, "learning_rat": 1e-4}))
    with pytest.raises(ValueError, match="learning_rat"):
        TrainingConfig.from_file(path)
    path.write_text(json.dumps({"epochs": 2}))
    assert TrainingConfig.from_file(path, seed=7).epochs == 2


def test_comparison_report_covers_every_approach_and_article(tmp_path):
    from stance import dataset
    from stance.train import compare

    config = TrainingConfig(name="cmp", output_dir=str(tmp_path), epochs=1, limit_per_label=6,
                            device="cpu", bootstrap=0)
    splits = dataset.build()
    report = compare(config, splits)
    approaches = report["approaches"]
    # The committed teacher's logits (training/teacher.py) add the distilled model, and the teacher's
    # own row while its figures were measured on today's splits.
    from stance import distill

    teacher_current = distill.teacher_result(distill.TEACHER_LABELS, splits) is not None
    assert list(approaches) == ["majority", "tfidf-logreg", "frozen-minilm-logreg", "fine-tuned-minilm",
                                "fine-tuned-minilm+context", "fine-tuned-minilm+relevance-gate",
                                "fine-tuned-minilm+context+distilled",
                                *(["fine-tuned-mpnet+context"] if teacher_current else [])]
    if teacher_current:
        assert approaches["fine-tuned-mpnet+context"]["reported_only"]
    for result in approaches.values():
        assert {"validation", "article_validation", "test", "article_test", "seed"} <= set(result)
        assert result["seed"]["n"] == 94  # every seed sentence, none of them trained on
        assert result["article_test"]["articles"] == len({r["article_id"] for r in splits["article_test"]})
        assert 0.0 <= result["article_test"]["ece"] <= 1.0
    # Fine-tuned models are calibrated on held-out articles.
    assert approaches["fine-tuned-minilm+context"]["temperature"] > 0
    # Selection is on held-out articles; majority predicts one label for everything and cannot win.
    assert report["selected_by"] == "article_validation" and report["selected"] != "majority"


def test_training_reports_progress_with_the_time_left(caplog):
    import logging

    from stance.train import fine_tune

    rows = [{"text": t, "label": label} for t, label in (
        ("Kyiv wants to join NATO.", "pro-membership"), ("Moscow forbids it.", "opposing"),
        ("Membership is off the table.", "conceding"), ("The summit opens on Tuesday.", "neutral"))]
    with caplog.at_level(logging.INFO, logger="stance.finetune"):
        fine_tune(TrainingConfig(epochs=2, batch_size=2, device="cpu", context="none"), rows)
    progress = [r.getMessage() for r in caplog.records if "s left" in r.getMessage()]
    assert progress and progress[-1].startswith("step 4/4")


def test_speaker_swap_trains_on_the_swapped_rows(caplog):
    import logging

    from stance.train import fine_tune

    rows = [{"text": t, "label": label} for t, label in (
        ("Zelensky wants to join NATO.", "pro-membership"), ("Peskov forbids it.", "opposing"),
        ("Membership is off the table.", "conceding"), ("The summit opens on Tuesday.", "neutral"))]
    with caplog.at_level(logging.INFO, logger="stance.finetune"):
        fine_tune(TrainingConfig(epochs=1, batch_size=2, device="cpu", context="none", speaker_swap=1.0),
                  rows)
    assert "speaker swap: 2 of 4 rows" in caplog.text


def test_frozen_embeddings_stay_pretrained_while_the_encoder_trains():
    import torch
    from transformers import AutoModel

    from stance.model import base_encoder_path
    from stance.train import fine_tune

    texts = ["Kyiv wants to join NATO.", "Moscow forbids it.", "Membership is off the table.",
             "The summit opens on Tuesday."]
    config = TrainingConfig(epochs=1, batch_size=4, learning_rate=1e-3, device="cpu",
                            freeze_embeddings=True)
    rows = [{"text": t, "label": label}
            for t, label in zip(texts, ["pro-membership", "opposing", "conceding", "neutral"], strict=True)]
    tuned = fine_tune(config, rows).runtime.model
    base = AutoModel.from_pretrained(base_encoder_path())
    assert torch.equal(tuned.get_input_embeddings().weight, base.get_input_embeddings().weight)
    first_layer = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(tuned.base_model.state_dict()[first_layer], base.state_dict()[first_layer])


def test_frozen_lower_layers_stay_pretrained_while_the_upper_ones_train():
    import torch
    from transformers import AutoModel

    from stance.model import base_encoder_path
    from stance.train import fine_tune

    texts = ["Kyiv wants to join NATO.", "Moscow forbids it.", "Membership is off the table.",
             "The summit opens on Tuesday."]
    config = TrainingConfig(epochs=1, batch_size=4, learning_rate=1e-3, device="cpu", freeze_layers=2)
    rows = [{"text": t, "label": label}
            for t, label in zip(texts, ["pro-membership", "opposing", "conceding", "neutral"], strict=True)]
    tuned = fine_tune(config, rows).runtime.model.base_model.state_dict()
    base = AutoModel.from_pretrained(base_encoder_path()).state_dict()
    weight = "encoder.layer.{}.attention.self.query.weight"
    assert torch.equal(tuned[weight.format(0)], base[weight.format(0)])
    assert torch.equal(tuned[weight.format(1)], base[weight.format(1)])
    assert not torch.equal(tuned[weight.format(2)], base[weight.format(2)])


def test_selection_goes_by_validation_macro_f1_and_a_tie_by_calibration():
    from stance.train import select_approach

    results = {"a": {"article_validation": {"macro_f1": 0.87841, "ece": 0.06}},
               "b": {"article_validation": {"macro_f1": 0.87839, "ece": 0.01}},
               "c": {"article_validation": {"macro_f1": 0.871, "ece": 0.001}}}
    assert select_approach(results, "article_validation") == "b"
    results["c"]["article_validation"]["macro_f1"] = 0.8795
    assert select_approach(results, "article_validation") == "c"
    # The distillation teacher is reported beside the others but is too slow to serve.
    results["teacher"] = {"article_validation": {"macro_f1": 0.95, "ece": 0.0}, "reported_only": True}
    assert select_approach(results, "article_validation") == "c"


def test_a_configured_teacher_adds_the_distilled_model_and_the_teachers_own_row(tmp_path, monkeypatch):
    import json

    from stance import dataset, train
    from stance.approaches import Majority

    splits = dataset.build()
    soft = tmp_path / "teacher" / "soft_labels.jsonl"
    soft.parent.mkdir()
    soft.write_text("", encoding="utf-8")
    teacher = {"approach": "fine-tuned-mpnet+context", "fit_seconds": 2000.0, "sentences_per_second": 20.0,
               **{split: {"n": len(splits[split]), "macro_f1": 0.99, "ece": 0.01}
                  for split in ("article_validation", "seed")}}
    (soft.parent / "metrics.json").write_text(json.dumps(teacher), encoding="utf-8")
    config = TrainingConfig(device="cpu", bootstrap=0, teacher_labels=str(soft))
    names = list(train.approach_factories(config, splits))
    assert names[-1] == "fine-tuned-minilm+context+distilled"
    assert "fine-tuned-minilm+context" in names  # the same model without the teacher, to compare

    monkeypatch.setattr(train, "approach_factories", lambda config, splits: {"majority": Majority})
    report = train.compare(config, splits)
    assert report["approaches"]["fine-tuned-mpnet+context"]["reported_only"] is True
    assert report["selected"] == "majority"  # the teacher scores higher but is never selected


def test_the_card_says_when_the_report_predates_the_models_data():
    from stance.card import _stale_note

    data = {"train_sentences": 6119, "seed_sentences": 94}
    assert _stale_note({"train_sentences": 6025}, data) == ""
    note = _stale_note({"train_sentences": 5028}, data)
    assert "predates" in note and "5028" in note and "6025" in note and "make report" in note
