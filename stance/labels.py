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
