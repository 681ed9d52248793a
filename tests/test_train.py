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
    # The smoke cap of 12 per label applies to the authored and the seed sentences alike.
    from collections import Counter

    from stance import dataset

    splits = dataset.build()
    expected = {label: min(12, n) + min(12, Counter(r["label"] for r in splits["seed"])[label])
                for label, n in Counter(r["label"] for r in splits["train"]).items()}
    assert metrics["data"]["train_per_label"] == dict(sorted(expected.items()))
    assert set(metrics["test"]["per_class"]) == set(label_map["labels"])
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
    report = compare(config, dataset.build())
    approaches = report["approaches"]
    assert list(approaches) == ["majority", "tfidf-logreg", "frozen-minilm-logreg", "fine-tuned-minilm"]
    for result in approaches.values():
        assert {"validation", "test", "loao"} <= set(result)
        assert len(result["loao"]["per_article_macro_f1"]) == 5
        assert result["loao"]["n"] == 94  # every seed sentence is predicted once, when held out
    # Majority predicts one label for everything: it cannot beat a real model on validation.
    assert report["selected_by_validation"] != "majority"


def test_frozen_embeddings_stay_pretrained_while_the_encoder_trains():
    import torch
    from transformers import AutoModel

    from stance.approaches import base_encoder_path
    from stance.train import fine_tune

    texts = ["Kyiv wants to join NATO.", "Moscow forbids it.", "Membership is off the table.",
             "The summit opens on Tuesday."]
    config = TrainingConfig(epochs=1, batch_size=4, learning_rate=1e-3, device="cpu",
                            freeze_embeddings=True)
    tuned = fine_tune(config, texts, ["pro-membership", "opposing", "conceding", "neutral"]).model
    base = AutoModel.from_pretrained(base_encoder_path())
    assert torch.equal(tuned.get_input_embeddings().weight, base.get_input_embeddings().weight)
    first_layer = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(tuned.base_model.state_dict()[first_layer], base.state_dict()[first_layer])
