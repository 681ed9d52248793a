"""Checking request bodies before they reach BentoML, so bad input gets a 4xx that says what is wrong.

BentoML's own parsing answers type errors with 400, but it has no size limits, and an error raised
inside a batched call would fail every request sharing the batch. Checking here keeps each
request's error its own.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from service.limits import (
    MAX_ARTICLE_CHARS,
    MAX_BODY_BYTES,
    MAX_LABEL_ROWS,
    MAX_TEXT_CHARS,
    MAX_TEXTS_PER_REQUEST,
    MAX_TRACK_ARTICLES,
    MAX_URL_CHARS,
)
from stance.articles import Article, ArticleError, article_from_record
from stance.tracking import DETAIL, PERIODS

DEFAULT_ARTICLE_ID = "article"


class RequestRejected(Exception):
    """A request that cannot be served; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: HTTPStatus, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def to_dict(self) -> dict:
        body = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def check_body_size(size: int) -> None:
    if size > MAX_BODY_BYTES:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"request body is larger than the limit of {MAX_BODY_BYTES} bytes")


def parse_json_body(body: bytes) -> object:
    check_body_size(len(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST,
                              f"request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST,
                              f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, "
                              f"column {exc.colno})") from exc
    except RecursionError as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "request body is nested too deeply") from exc
    except ValueError as exc:
        # Whatever else the parser refuses, e.g. an integer of more digits than Python converts.
        raise RequestRejected(HTTPStatus.BAD_REQUEST, f"request body is not valid JSON: {exc}") from exc


def _object(payload: object) -> dict:
    if not isinstance(payload, dict):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"request body must be a JSON object, got {type(payload).__name__}")
    return payload


def classify_texts(payload: object) -> list[str]:
    """The ``texts`` of a /classify body, within MAX_TEXTS_PER_REQUEST and MAX_TEXT_CHARS."""
    body = _object(payload)
    if "texts" not in body:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              "field 'texts' is required: a list of strings", "texts")
    texts = body["texts"]
    if not isinstance(texts, list):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"field 'texts' must be a list of strings, got {type(texts).__name__}",
                              "texts")
    if len(texts) > MAX_TEXTS_PER_REQUEST:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"field 'texts' holds {len(texts)} texts; the limit is "
                              f"{MAX_TEXTS_PER_REQUEST} per request", "texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                                  f"field 'texts[{i}]' must be a string, got {type(text).__name__}",
                                  f"texts[{i}]")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                  f"field 'texts[{i}]' has {len(text)} characters; the limit is "
                                  f"{MAX_TEXT_CHARS} per text", f"texts[{i}]")
    return texts


def article_request(payload: object, where: str = "body", prefix: str = "",
                    default_id: str = DEFAULT_ARTICLE_ID) -> Article:
    """The article of a /score_article body, checked by the same code as the CLI's JSONL input.

    ``prefix`` names where the article sits in a larger body (``articles[2].``) in error fields.
    """
    # JSON null means "not given" for the optional fields, as it does in the API schema.
    record = {key: value for key, value in _object(payload).items() if value is not None}
    record.setdefault("id", default_id)
    text = record.get("text")
    if isinstance(text, str) and len(text) > MAX_ARTICLE_CHARS:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"field '{prefix}text' has {len(text)} characters; the limit is "
                              f"{MAX_ARTICLE_CHARS} per article", f"{prefix}text")
    try:
        return article_from_record(record, where)
    except ArticleError as exc:
        field = _field_named(str(exc))
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc),
                              f"{prefix}{field}" if field else None) from exc


def min_confidence_of(value: object) -> float | None:
    """A body's optional ``min_confidence``: a probability, or None when not given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"field 'min_confidence' must be a number between 0 and 1, got {value!r}",
                              "min_confidence")
    return float(value)


def score_article_request(payload: object) -> Article:
    """The article of a /score_article body, and a valid ``min_confidence`` if one is given."""
    min_confidence_of(_object(payload).get("min_confidence"))
    return article_request(payload)


def track_request(payload: object) -> tuple[list[Article], str, bool | str]:
    """The articles, period unit and actor split of a /track body."""
    body = _object(payload)
    min_confidence_of(body.get("min_confidence"))
    articles = body.get("articles")
    if not isinstance(articles, list):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              "field 'articles' is required: a list of article objects", "articles")
    if len(articles) > MAX_TRACK_ARTICLES:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"field 'articles' holds {len(articles)} articles; the limit is "
                              f"{MAX_TRACK_ARTICLES} per request", "articles")
    by = body.get("by") or "month"
    if by not in PERIODS:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"field 'by' must be one of {', '.join(PERIODS)}, got {by!r}", "by")
    by_actor = body.get("by_actor", False)
    if not isinstance(by_actor, bool) and by_actor != DETAIL:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"field 'by_actor' must be true, false or {DETAIL!r} (per country or "
                              "organisation)", "by_actor")
    parsed = []
    for i, record in enumerate(articles):
        if not isinstance(record, dict):
            raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                                  f"field 'articles[{i}]' must be an article object", f"articles[{i}]")
        parsed.append(article_request(record, f"articles[{i}]", f"articles[{i}].",
                                      default_id=f"article-{i + 1}"))
    return parsed, by, by_actor


def _field_named(message: str) -> str | None:
    """The field an ArticleError message names (``... field 'published' is ...``)."""
    marker = "field '"
    if marker not in message:
        return None
    start = message.index(marker) + len(marker)
    return message[start:message.index("'", start)]


def post_article_request(payload: object) -> Article:
    """The article of a POST /articles body: a /score_article body, and an optional ``url``
    (the store's other key besides the text: the same URL twice is a duplicate)."""
    body = _object(payload)
    url = body.get("url")
    if url is not None and not isinstance(url, str):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"field 'url' must be a string, got {type(url).__name__}", "url")
    if isinstance(url, str) and len(url) > MAX_URL_CHARS:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"field 'url' has {len(url)} characters; the limit is {MAX_URL_CHARS}",
                              "url")
    return score_article_request(payload)


def labels_request(payload: object) -> list:
    """The ``labels`` of a POST /labels body: a list of at most MAX_LABEL_ROWS rows. The rows
    themselves are checked one by one when stored, so one bad row does not cost the others."""
    body = _object(payload)
    unknown = sorted(set(body) - {"labels"})
    if unknown:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"unknown field {unknown[0]!r}; the body is {{\"labels\": [...]}}",
                              unknown[0])
    rows = body.get("labels")
    if not isinstance(rows, list):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              "field 'labels' is required: a list of label rows (as `stance review "
                              "import -o` writes them)", "labels")
    if len(rows) > MAX_LABEL_ROWS:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"field 'labels' holds {len(rows)} rows; the limit is {MAX_LABEL_ROWS} "
                              "per request", "labels")
    return rows


def article_id_of(raw: str) -> int | None:
    """The store id in ``/articles/{article_id}``, None when it names no possible article."""
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 20:
        return None
    value = int(raw)
    return value if -(2 ** 63) <= value < 2 ** 63 else None


_TRUE, _FALSE = ("true", "1"), ("false", "0", "")


def timeline_query(params) -> dict:
    """The query of GET /timeline (``by``, ``by_actor``, ``actor``, ``since``, ``min_confidence``,
    ``model_version``) as :func:`stance.store.timeline` takes it."""
    import datetime as dt

    from stance.labels import ACTORS

    unknown = sorted(set(params) - TIMELINE_PARAMETERS)
    if unknown:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"unknown query parameter {unknown[0]!r}; the parameters are "
                              f"{', '.join(sorted(TIMELINE_PARAMETERS))}", unknown[0])
    by = params.get("by") or "month"
    if by not in PERIODS:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"parameter 'by' must be one of {', '.join(PERIODS)}, got {by!r}", "by")
    raw = params.get("by_actor", "false").strip().lower()
    if raw not in (*_TRUE, *_FALSE, DETAIL):
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"parameter 'by_actor' must be true, false or {DETAIL!r} (per country "
                              "or organisation)", "by_actor")
    by_actor = DETAIL if raw == DETAIL else raw in _TRUE
    actor = params.get("actor") or None
    if actor is not None and actor not in ACTORS:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"parameter 'actor' must be one of {', '.join(ACTORS)}, got {actor!r}",
                              "actor")
    since = params.get("since") or None
    if since is not None:
        try:
            since = dt.date.fromisoformat(since).isoformat() if len(since) == 10 else None
        except ValueError:
            since = None
        if since is None:
            raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                                  f"parameter 'since' must be a date as YYYY-MM-DD, got "
                                  f"{params.get('since')!r}", "since")
    min_confidence = params.get("min_confidence")
    if min_confidence is not None:
        try:
            min_confidence = float(min_confidence)
        except ValueError:
            min_confidence = float("nan")
        if not 0.0 <= min_confidence <= 1.0:
            raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                                  "parameter 'min_confidence' must be a number between 0 and 1, got "
                                  f"{params.get('min_confidence')!r}", "min_confidence")
    return {"by": by, "by_actor": by_actor, "actor": actor, "since": since,
            "min_confidence": min_confidence, "model_version": params.get("model_version") or None}


TIMELINE_PARAMETERS = frozenset({"by", "by_actor", "actor", "since", "min_confidence", "model_version"})


def article_query(params) -> dict:
    """The query of GET /articles/{article_id}: ``model_version`` and ``min_confidence``."""
    unknown = sorted(set(params) - {"model_version", "min_confidence"})
    if unknown:
        raise RequestRejected(HTTPStatus.UNPROCESSABLE_ENTITY,
                              f"unknown query parameter {unknown[0]!r}; the parameters are "
                              "min_confidence, model_version", unknown[0])
    query = timeline_query({name: params[name] for name in ("model_version", "min_confidence")
                            if name in params})
    return {"model_version": query["model_version"], "min_confidence": query["min_confidence"]}
