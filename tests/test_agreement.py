import pytest
from sklearn.metrics import cohen_kappa_score

from stance.agreement import cohen_kappa, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example:
# four coders, twelve units, some missing; alpha = 0.743.
CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_alpha_matches_the_published_example():
    units = [[c[i] for c in CODERS if c[i] is not None] for i in range(12)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_edges():
    assert krippendorff_alpha([["a", "a"], ["b", "b"], ["a", "a", "a"]]) == pytest.approx(1.0)
    assert krippendorff_alpha([["a"], ["b"]]) is None  # nobody was paired
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None  # no disagreement possible
    # Systematic disagreement is worse than chance.
    assert krippendorff_alpha([["a", "b"], ["b", "a"], ["a", "b"]]) < 0


def test_cohen_kappa_matches_scikit_learn():
    first = ["pro", "pro", "neutral", "opposing", "neutral", "neutral", "pro", "opposing"]
    second = ["pro", "neutral", "neutral", "opposing", "neutral", "pro", "pro", "neutral"]
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))
    assert cohen_kappa(first, first) == pytest.approx(1.0)
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])
