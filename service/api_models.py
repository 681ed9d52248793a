"""Pydantic models of the HTTP API: what the OpenAPI spec documents, limits and enums included.

The request checks themselves run before BentoML parses a body (service/validation.py), so each
request's error stays its own and says which field is wrong; these models state the same limits
for clients and tools. Response models allow extra fields, so a new column is not a breaking
change.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from service.limits import (
    MAX_ARTICLE_CHARS,
    MAX_LABEL_ROWS,
    MAX_TEXT_CHARS,
    MAX_TEXTS_PER_REQUEST,
    MAX_TRACK_ARTICLES,
    MAX_URL_CHARS,
)
from stance.labels import ACTORS, LABELS
from stance.sentence_rows import PROBABILITY_COLUMNS
from stance.tracking import PERIODS

Label = Literal[LABELS]  # type: ignore[valid-type]
Period = Literal[PERIODS]  # type: ignore[valid-type]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
Texts = Annotated[list[Text], Field(max_length=MAX_TEXTS_PER_REQUEST)]
# At least one character that is not blank: an empty article is a 422. Blank is the union of
# what JSON Schema's (ECMA) \s, pydantic's and Python's str.strip() call whitespace (ECMA alone
# lets \x1c-\x1f and \x85 through, which the server reads as blank; only ECMA counts \ufeff).
ArticleText = Annotated[str, Field(max_length=MAX_ARTICLE_CHARS, pattern=r"[^\s\x1c-\x1f\x85\ufeff]")]
ArticleId = str | int | None
# Sentences below it are kept, marked uncertain and left out of summaries and timelines.
MinConfidence = Annotated[float, Field(ge=0, le=1)] | None
# /track's split: none, per actor, or per country or organisation ("detail").
ActorLevel = bool | Literal["detail"]
# POST /articles: the article's URL, the store's other duplicate key besides its text.
ArticleUrl = Annotated[str, Field(max_length=MAX_URL_CHARS)] | None
# ISO dates; a date-time is accepted too (its date is used).
Published = Annotated[str, Field(json_schema_extra={"format": "date"})] | None


Probability = Annotated[float, Field(ge=0, le=1)]
# One p_<label> per label (stance.sentence_rows), declared so the spec names every column; a
# stored sentence that its model version has not scored has them null.
_Probabilities = create_model("_Probabilities", **{name: (Probability, ...) for name in PROBABILITY_COLUMNS})
_StoredProbabilities = create_model("_StoredProbabilities",
                                    **{name: (Probability | None, ...) for name in PROBABILITY_COLUMNS})


class Classification(BaseModel):
    label: Label
    confidence: float = Field(ge=0, le=1)
    probabilities: dict[Label, Annotated[float, Field(ge=0, le=1)]]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: ArticleText
    id: ArticleId = None
    published: Published = None
    title: str | None = None
    source: str | None = None


class SentenceRow(_Probabilities):
    """A `stance score` row (stance.sentence_rows.SCORE_COLUMNS)."""

    model_config = ConfigDict(extra="allow")  # later additions, label_source with reviewed labels

    article_id: str
    sentence_index: int
    start: int
    end: int
    text: str
    label: Label
    confidence: float
    furniture: bool
    uncertain: bool = False


class ArticleScore(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None
    published: str | None
    summary: dict
    sentences: list[SentenceRow]


Articles = Annotated[list[ArticleIn], Field(max_length=MAX_TRACK_ARTICLES)]


class TrackRow(BaseModel):
    model_config = ConfigDict(extra="allow")  # a count and share_<label> per label, dominant_*

    period: str
    actor: str
    actor_detail: str | None = Field(None, description='with by_actor "detail": the state (ISO 3166-1 '
                                     'alpha-2) or organisation code holding the stance')
    articles: int
    sentences: int
    net_stance: float | None


class StoredSentence(_StoredProbabilities):
    model_config = ConfigDict(extra="allow")

    sentence_index: int
    start: int
    end: int
    text: str
    furniture: bool
    # The model version's prediction; null while that version has not scored the article.
    label: Label | None
    confidence: float | None
    actor: str | None
    actor_surface: str | None
    actor_rule: str | None
    actor_detail: str | None
    uncertain: bool = False
    label_source: Literal["human", "model"] | None = Field(
        None, description="human where a reviewed label (POST /labels, `stance review import --db`) "
                          "replaced the model's: its label, confidence 1 and actor")


class StoredArticle(BaseModel):
    """An article in the store (GET /articles/{article_id}) with one model version's predictions."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(description="the store's id: GET /articles/{id}")
    key: str = Field(description="the id the article was given (renamed key#2 when taken)")
    url: str | None
    content_hash: str
    title: str | None
    site: str | None
    published: str | None
    date_source: str | None
    text_source: str | None
    fetched_at: str | None
    ingested_at: str
    text: str
    warnings: list[str]
    model_version: str | None = Field(description="whose predictions the sentences carry")
    scored: bool = Field(description="whether model_version has scored the article")
    sentences: list[StoredSentence]


class PostedArticle(StoredArticle):
    """POST /articles: the stored article, and whether this request added it."""

    status: Literal["added", "duplicate"]
    reason: str | None = Field(description="for a duplicate: same url or same text as which key")


class ErrorBody(BaseModel):
    error: str
    field: str | None = None


Actor = Literal[ACTORS]  # type: ignore[valid-type]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Offset = Annotated[int, Field(ge=0, le=2 ** 31 - 1)]


class LabelRow(BaseModel):
    """One reviewed sentence, as `stance review import -o` writes it (other fields are kept)."""

    model_config = ConfigDict(extra="allow")

    article_id: str = Field(min_length=1, description="the article's key in the store (the id it "
                                                      "was ingested under)")
    start: Offset
    end: Offset
    text_sha256: Sha256 = Field(description="SHA-256 of the sentence text: a label lands only on "
                                            "a sentence that still reads the same")
    label: Label | None = Field(None, description="null (or left out): annotators tied; removes "
                                                  "an earlier label of the sentence")
    actor: Actor | None = None


class LabelsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: Annotated[list[LabelRow], Field(max_length=MAX_LABEL_ROWS)]


class LabelOutcomeRow(BaseModel):
    row: str = Field(description="labels[i]: the row this answers")
    status: Literal["added", "replaced", "unchanged", "removed", "tie", "rejected"]
    reason: str | None
    article_id: int | None = Field(description="the store's id of the article")
    sentence_index: int | None


class StoredLabels(BaseModel):
    """POST /labels: what became of each row (rejected rows stored nothing; the others did)."""

    model_config = ConfigDict(extra="allow")

    stored: int = Field(description="rows the store took (added, replaced, unchanged, removed, tie)")
    rejected: int
    rows: list[LabelOutcomeRow]


class LabelsRejected(ErrorBody):
    """A POST /labels with rows the store refused: ``rows`` says which and why (the good rows are
    stored); a body that is not a list of rows at all has ``error`` and ``field`` only."""

    stored: int | None = None
    rejected: int | None = None
    rows: list[LabelOutcomeRow] | None = None


class ModelDescription(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: str = Field(description="digest of the served weights file (served_file)")
    served_file: str
    labels: list[Label]
    target: str = Field(description="what the labels are a stance toward")
    colours: dict[Label, str] = Field(description="the colour charts draw each label in")
    trained_at: str | None
    approach: str | None
    base_model: str | None
    metrics: dict
    device: str
    backend: Literal["onnx-int8", "torch"]
    backend_reason: str
    stance_version: str
    workers: int = Field(description="worker processes of this server, each with its own model")
    threads: int = Field(description="inference threads of each worker")
    limits: dict[str, int]
