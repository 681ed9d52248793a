import pytest

from stance.metrics import evaluate, format_metrics


def test_known_confusion():
    gold = ["pro-membership", "pro-membership", "opposing", "neutral", "conceding", "neutral"]
    pred = ["pro-membership", "opposing", "opposing", "neutral", "neutral", "neutral"]
    m = evaluate(gold, pred, bootstrap=200)
    assert m["n"] == 6
    assert m["per_class"]["pro-membership"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                                "support": 2}
    assert m["per_class"]["conceding"]["f1"] == 0.0
    assert m["confusion"][0] == [1, 0, 1, 0]  # gold pro: one right, one called opposing
    assert m["f1avg_pro_opposing"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    low, high = m["macro_f1_ci95"]
    assert 0.0 <= low <= m["macro_f1"] <= high <= 1.0
    assert "| conceding |" in format_metrics(m)


def test_macro_f1_ignores_classes_absent_from_gold():
    m = evaluate(["neutral", "conceding"], ["neutral", "conceding"], bootstrap=0)
    assert m["macro_f1"] == 1.0
    assert m["f1avg_pro_opposing"] is None
    assert m["absent_labels"] == ["pro-membership", "opposing"]
    assert "F1avg(pro, opposing) n/a" in format_metrics(m)


def test_f1avg_and_macro_f1_agree_about_an_absent_polar_class():
    m = evaluate(["pro-membership", "neutral"], ["pro-membership", "neutral"], bootstrap=0)
    assert m["macro_f1"] == m["f1avg_pro_opposing"] == 1.0


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError):
        evaluate(["neutral"], [], bootstrap=0)
