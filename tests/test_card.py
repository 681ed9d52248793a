import json
from pathlib import Path

from stance.card import write_card

METRICS = Path(__file__).resolve().parent.parent / "models" / "minilm-stance" / "metrics.json"


def _card(tmp_path, **config) -> str:
    metrics = json.loads(METRICS.read_text())
    metrics["config"] = {**metrics["config"], **config}
    return write_card(tmp_path, metrics).read_text()


def test_the_card_says_when_the_model_was_trained_with_speakers_swapped(tmp_path):
    assert "- Speaker swap: in 50% of the training rows that name people" in _card(tmp_path, speaker_swap=0.5)
    assert "Speaker swap" not in _card(tmp_path, speaker_swap=0.0)
