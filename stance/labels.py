"""The label and actor vocabularies: the single definition every module imports."""

from __future__ import annotations

# Order is the model's class index order; changing it invalidates trained models.
LABELS: tuple[str, ...] = ("pro-membership", "conceding", "opposing", "neutral")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))

NEUTRAL = "neutral"
STANCES: tuple[str, ...] = tuple(label for label in LABELS if label != NEUTRAL)
# The SemEval-2016 style F1avg averages the two polar classes only.
POLAR: tuple[str, str] = ("pro-membership", "opposing")



def column(label: str) -> str:
    """The column name for a label: ``pro-membership`` → ``pro_membership``.

    Labels keep their hyphen as values; column names are identifiers, so pandas attribute access,
    SQL and Parquet tools take them unquoted.
    """
    return label.replace("-", "_")


ACTORS: tuple[str, ...] = ("ukraine", "russia", "nato", "other", "none")


def check_label(label: str) -> str:
    if label not in LABEL2ID:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
    return label


def check_actor(actor: str) -> str:
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}; expected one of {', '.join(ACTORS)}")
    return actor


def dominant_of(totals) -> tuple[str, float, float] | None:
    """The dominant stance of a group of sentences, from each label's (count, summed confidence).

    The most frequent non-neutral label, ties going to the larger summed confidence; returned with
    its share of the non-neutral sentences and their mean confidence. ``None`` when no sentence
    takes a stance. The one rule behind every ``dominant_stance`` column (articles, periods, actors).
    """
    stance_total = sum(totals.get(label, (0, 0.0))[0] for label in STANCES)
    if not stance_total:
        return None
    best = max(STANCES, key=lambda label: totals.get(label, (0, 0.0)))
    n, mass = totals[best]
    return best, round(n / stance_total, 4), round(mass / n, 4)
