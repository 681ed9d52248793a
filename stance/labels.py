"""The label and actor vocabularies: the single definition every module imports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stance.model_dir import ModelDir

# Order is the model's class index order; changing it invalidates trained models.
LABELS: tuple[str, ...] = ("pro-membership", "conceding", "opposing", "neutral")
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))

NEUTRAL = "neutral"
STANCES: tuple[str, ...] = tuple(label for label in LABELS if label != NEUTRAL)
# The SemEval-2016 style F1avg averages the two polar classes only.
POLAR: tuple[str, str] = ("pro-membership", "opposing")
COLOURS: dict[str, str] = {"pro-membership": "#2166ac", "conceding": "#e08b00", "opposing": "#c0392b",
                           "neutral": "#bdbdbd"}
# What the stance is toward: the question of the card, the charts and the service's prose.
TARGET = "Ukraine joining NATO"


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


@dataclass(frozen=True)
class LabelSchema:
    """What a model's classes are: labels in class order, the neutral and the polar pair, colours
    and the target the stance is toward.

    A model carries its own in ``label_map.json`` (:func:`read_schema`); code that has no model at
    hand uses :data:`DEFAULT_SCHEMA`, whose values are the module constants above. Metric keys
    (``f1avg_pro_opposing``), column names and prose derive from it, so a model for another target
    with the same four classes needs a label map, not code.
    """

    labels: tuple[str, ...] = LABELS
    neutral: str = NEUTRAL
    polar: tuple[str, str] = POLAR
    colours: Mapping[str, str] = field(default_factory=lambda: dict(COLOURS))
    target: str = TARGET

    def __post_init__(self):
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "polar", tuple(self.polar))
        if len(set(self.labels)) != len(self.labels) or self.neutral not in self.labels:
            raise ValueError(f"labels {list(self.labels)} must be distinct and hold {self.neutral!r}")
        if len(self.polar) != 2 or not set(self.polar) <= set(self.stances):
            raise ValueError(f"polar pair {list(self.polar)} must be two of {list(self.stances)}")
        missing = [label for label in self.labels if label not in self.colours]
        if missing:
            raise ValueError(f"no colour for {', '.join(missing)}")
        if not self.target.strip():
            raise ValueError("the target description is empty")

    @property
    def stances(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != self.neutral)

    @property
    def probability_columns(self) -> tuple[str, ...]:
        """``p_<label>`` per label in class order: the probability columns of every sentence row."""
        return tuple(f"p_{column(label)}" for label in self.labels)

    @property
    def f1avg_key(self) -> str:
        """The metrics key of F1avg: ``f1avg_pro_opposing`` for the polar pair's first words."""
        return "f1avg_" + "_".join(column(label.split("-")[0]) for label in self.polar)

    def f1avg_key_in(self, metrics: Mapping) -> str:
        """The key F1avg is under in ``metrics``: the schema's, else the one the metrics were written
        with (a model for another polar pair, read by code that holds the default schema)."""
        if self.f1avg_key in metrics:
            return self.f1avg_key
        return next((key for key in metrics if key.startswith("f1avg_")), self.f1avg_key)

    @property
    def f1avg_title(self) -> str:
        return "F1avg(" + ", ".join(label.split("-")[0] for label in self.polar) + ")"

    def label_of(self, probabilities: Sequence[float]) -> str:
        """The predicted label of one row of probabilities (or logits) in class order."""
        return self.labels[int(np.argmax(probabilities))]

    def labels_of(self, probabilities) -> list[str]:
        """The predicted label of each row of an ``(n, len(labels))`` array."""
        return [self.labels[i] for i in np.asarray(probabilities).argmax(axis=1)]

    def to_label_map(self) -> dict:
        """The schema's fields of ``label_map.json`` (training writes them with the model)."""
        return {"labels": list(self.labels), "neutral": self.neutral, "polar": list(self.polar),
                "colours": dict(self.colours), "target": self.target}

    @classmethod
    def from_label_map(cls, label_map: Mapping) -> LabelSchema:
        """The schema of a label map; a field it lacks (label maps before the schema) is today's."""
        default = DEFAULT_SCHEMA
        return cls(labels=tuple(label_map.get("labels", default.labels)),
                   neutral=label_map.get("neutral", default.neutral),
                   polar=tuple(label_map.get("polar", default.polar)),
                   colours={**default.colours, **label_map.get("colours", {})},
                   target=label_map.get("target", default.target))


DEFAULT_SCHEMA = LabelSchema()


def read_schema(model_dir: str | Path) -> LabelSchema:
    """The label schema of a model directory, from its ``label_map.json``."""
    return LabelSchema.from_label_map(ModelDir(model_dir).label_map())


def schema_of(classifier) -> LabelSchema:
    """A classifier's schema; the default for one without (test doubles, other predictors)."""
    return getattr(classifier, "schema", DEFAULT_SCHEMA)


def label_of(probabilities: Sequence[float]) -> str:
    """The default schema's :meth:`LabelSchema.label_of`: for code without a model at hand."""
    return DEFAULT_SCHEMA.label_of(probabilities)


def labels_of(probabilities) -> list[str]:
    return DEFAULT_SCHEMA.labels_of(probabilities)
