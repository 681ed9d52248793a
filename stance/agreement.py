"""How far annotators agree, and how sure an accuracy measured on a sample is.

Cohen's κ compares exactly two annotators on the items both labelled; Krippendorff's α (nominal)
takes any number of annotators and items that not everyone labelled, so it is the figure to
read when a team shares the work. Both are 1 for perfect agreement and 0 for agreement at chance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's κ of two annotators' labels for the same items; None when there are no items or
    chance agreement is already perfect (both gave one and the same label to everything)."""
    if len(first) != len(second):
        raise ValueError(f"{len(first)} labels against {len(second)}")
    n = len(first)
    if not n:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[k] * right.get(k, 0) for k in left) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Krippendorff's α for nominal labels; ``units`` holds, per item, the labels its annotators
    gave (any number, missing ones left out). Items with fewer than two labels carry no
    information about agreement and are ignored. None when fewer than two pairable labels exist
    or every label is the same (no disagreement is possible, so α is undefined)."""
    # The coincidence matrix: each ordered pair of labels within an item, weighted 1/(m - 1).
    coincidence: Counter = Counter()
    for labels in units:
        m = len(labels)
        if m < 2:
            continue
        counts = Counter(labels)
        for a, na in counts.items():
            for b, nb in counts.items():
                pairs = na * (nb - (a == b))
                if pairs:
                    coincidence[(a, b)] += pairs / (m - 1)
    totals: Counter = Counter()
    for (a, _), value in coincidence.items():
        totals[a] += value
    n = sum(totals.values())
    if n < 2:
        return None
    observed = sum(v for (a, b), v in coincidence.items() if a != b) / n
    expected = sum(totals[a] * totals[b] for a in totals for b in totals if a != b) / (n * (n - 1))
    if expected == 0:
        return None
    return 1.0 - observed / expected
