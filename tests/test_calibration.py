import numpy as np
import pytest

from stance.calibration import expected_calibration_error, fit_temperature, reliability


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 sentences at confidence 0.8, 8 of them right.
    probs = np.tile([0.8, 0.1, 0.05, 0.05], (10, 1))
    gold = [0] * 8 + [1] * 2
    assert expected_calibration_error(probs, gold) == pytest.approx(0.0, abs=1e-9)


def test_ece_measures_overconfidence():
    probs = np.tile([0.99, 0.01 / 3, 0.01 / 3, 0.01 / 3], (10, 1))
    gold = [0] * 5 + [2] * 5
    assert expected_calibration_error(probs, gold) == pytest.approx(0.49, abs=1e-6)
    table = reliability(probs, gold)
    assert [row["n"] for row in table] == [0] * 9 + [10]
    assert table[-1]["accuracy"] == pytest.approx(0.5)


def test_temperature_softens_an_overconfident_model_and_keeps_labels():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 400)
    logits = rng.normal(0, 1, (400, 4))
    right = rng.random(400) < 0.7
    logits[np.arange(400), np.where(right, gold, (gold + 1) % 4)] += 8.0  # 70% right, very sure
    temperature = fit_temperature(logits, gold)
    assert temperature > 1.5

    def softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    before, after = softmax(logits), softmax(logits / temperature)
    assert (before.argmax(1) == after.argmax(1)).all()
    assert expected_calibration_error(after, gold) < expected_calibration_error(before, gold) / 2
