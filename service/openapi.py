"""The OpenAPI contract and the docs page, as the service really behaves.

BentoML's spec documents 200/400/404/500 for every API, omits the GET route, has no security
scheme and takes its title and version from the bento ("stance:dev", "None"); its docs page loads
Google Tag Manager. This module serves ``/docs.json`` from BentoML's spec with the statuses each
operation answers, ``GET /model``, the bearer scheme (operations require it when a token is set),
and the package's name and version; ``/`` serves Swagger UI from the local static files only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

from starlette.responses import HTMLResponse, JSONResponse

import stance
from service.api_models import (
    ArticleScore,
    Classification,
    ErrorBody,
    LabelsBody,
    LabelsRejected,
    ModelDescription,
    PostedArticle,
    StoredArticle,
    StoredLabels,
    TrackRow,
)
from stance.labels import ACTORS, DEFAULT_SCHEMA, LabelSchema
from stance.tracking import DETAIL, PERIODS


def description(schema: LabelSchema = DEFAULT_SCHEMA) -> str:
    """The spec's summary: the served model's target and labels."""
    return (f"Stance of news sentences toward {schema.target}: {', '.join(schema.labels[:-1])} or "
            f"{schema.labels[-1]}. Limits are in each request schema; over a limit is 413.")


DESCRIPTION = description()
# Statuses every guarded POST can answer besides 200, and what they mean here.
_POST_ERRORS = {
    400: "Body is not valid UTF-8 or JSON, or the Host header is not allowed",
    408: "Body not received in time",
    413: "Body, a list or a text is over its limit",
    415: "Body not sent as application/json",
    422: "A field is missing, of the wrong type or invalid (error and field say which)",
    500: "Unexpected server error",
    503: "Too many requests in progress, or (store routes) the store is in use by another "
         "process; retry later",
}
_ARTICLE_ERRORS = {504: "The request passed its deadline and its work was stopped"}
# The 200 body of each API, from service/api_models.py: BentoML's copy drops nullability.
_RESPONSES = {
    "/classify": {"type": "array", "items": {"$ref": "#/components/schemas/Classification"}},
    "/score_article": {"$ref": "#/components/schemas/ArticleScore"},
    "/track": {"type": "array", "items": {"$ref": "#/components/schemas/TrackRow"}},
    "/articles": {"$ref": "#/components/schemas/PostedArticle"},
}
_HOST = {"description": "Host header not allowed"}
_MODEL_VERSION = {"name": "model_version", "in": "query", "required": False,
                  "description": "whose predictions (default: the served model's version)",
                  "schema": {"type": "string"}}
_MIN_CONFIDENCE = {"name": "min_confidence", "in": "query", "required": False,
                   "description": "sentences below it are marked uncertain (articles) or not "
                                  "counted (timeline)",
                   "schema": {"type": "number", "minimum": 0, "maximum": 1}}
_STORE_GETS = {
    "/articles/{article_id}": {
        "operationId": "stance__get_article",
        "description": "A stored article (POST /articles, `stance ingest`) with its sentences and "
                       "one model version's prediction for each (null while that version has not "
                       "scored it).",
        "parameters": [{"name": "article_id", "in": "path", "required": True,
                        "description": "the store's id of the article (the id POST /articles "
                                       "answers)", "schema": {"type": "integer"}},
                       _MODEL_VERSION, _MIN_CONFIDENCE],
        "ok": {"$ref": "#/components/schemas/StoredArticle"},
        "errors": {404: "No such article in the store"},
    },
    "/timeline": {
        "operationId": "stance__timeline",
        "description": "The `stance track` table of every article in the store, counted in SQL: "
                       "one row per period (and actor, or state with by_actor=detail).",
        "parameters": [
            {"name": "by", "in": "query", "required": False,
             "schema": {"type": "string", "enum": list(PERIODS), "default": "month"}},
            {"name": "by_actor", "in": "query", "required": False,
             "description": "split rows per actor (true) or per state or organisation (detail)",
             "schema": {"type": "string", "enum": ["false", "true", DETAIL], "default": "false"}},
            {"name": "actor", "in": "query", "required": False,
             "description": "only sentences held by this actor",
             "schema": {"type": "string", "enum": list(ACTORS)}},
            {"name": "since", "in": "query", "required": False,
             "description": "only articles published on or after this date",
             "schema": {"type": "string", "format": "date"}},
            _MIN_CONFIDENCE, _MODEL_VERSION],
        "ok": {"type": "array", "items": {"$ref": "#/components/schemas/TrackRow"}},
        "errors": {404: "model_version has no predictions in the store"},
    },
}
_LABELS = {
    "operationId": "stance__labels",
    "description": "Store reviewed labels (the rows `stance review import -o` writes) in the corpus "
                   "store: GET /timeline and GET /articles/{id} then use each in place of the "
                   "model's (label_source: human). Each row is answered: added, replaced (a later "
                   "review of the sentence), unchanged (the same row again), removed or tie (no "
                   "label: annotators tied), or rejected with its reason; rejected rows store "
                   "nothing, the others are stored.",
    "ok": "Every row stored",
    "errors": {409: "A row does not match the store (unknown article, no sentence at its offsets, "
                    "text hash mismatch): rows says which; the other rows are stored",
               422: "A row is no valid label row (unknown label or actor, a missing field), or the "
                    "body is not {labels: [...]}: rows (or field) says which; the other rows are "
                    "stored"},
}
_OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")

DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>stance API</title>
    <link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="./static_content/index.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


def _schemas(model) -> dict:
    """A model's JSON schema and its nested definitions, as OpenAPI components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {model.__name__: schema, **definitions}


def build_spec(base: dict, token_required: bool, schema: LabelSchema = DEFAULT_SCHEMA) -> dict:
    # Through JSON: BentoML's dict holds status codes as integers.
    spec = json.loads(json.dumps(base))
    # The schemas are pydantic's JSON Schema (nullable fields are anyOf [..., null]): OpenAPI 3.1's.
    spec["openapi"] = "3.1.0"
    spec["info"] = {"title": "stance", "version": stance.__version__,
                    "description": description(schema)}
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (ErrorBody, ModelDescription, Classification, ArticleScore, TrackRow, StoredArticle,
                  PostedArticle, LabelsBody, StoredLabels, LabelsRejected):
        schemas.update(_schemas(model))
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer",
                                                "description": "Required when STANCE_API_TOKEN is set"}}
    unauthorized = {401: "Missing or wrong bearer token"} if token_required else {}
    paths = spec.setdefault("paths", {})
    for path, body in _RESPONSES.items():
        operation = paths.get(path, {}).get("post")
        if operation is None:
            continue
        if "requestBody" in operation:
            operation["requestBody"]["required"] = True  # a missing body is a 415/422, never accepted
        errors = {**_POST_ERRORS, **unauthorized, **(_ARTICLE_ERRORS if path != "/classify" else {})}
        documented = {str(code): _error_response(text) for code, text in sorted(errors.items())}
        ok = {"description": "Successful Response", "content": {"application/json": {"schema": body}}}
        operation["responses"] = {"200": ok, **documented}
    paths["/model"] = {"get": {
        "operationId": "stance__model",
        "description": "The served model: name, version (digest of the served file), labels, training "
                       "date, headline metrics, device, backend and why, limits.",
        "responses": {
            "200": {"description": "The served model", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ModelDescription"}}}},
            "400": {"description": "Host header not allowed"},
            **({"401": _error_response(unauthorized[401])} if token_required else {}),
        },
    }}
    for path, get in _STORE_GETS.items():
        errors = {422: "A query parameter is unknown or invalid (error and field say which)",
                  500: _POST_ERRORS[500], 503: _POST_ERRORS[503], **get["errors"], **unauthorized}
        paths[path] = {"get": {
            "operationId": get["operationId"], "description": get["description"],
            "parameters": get["parameters"],
            "responses": {
                "200": {"description": "Successful Response",
                        "content": {"application/json": {"schema": get["ok"]}}},
                "400": _HOST,
                **{str(code): _error_response(text) for code, text in sorted(errors.items())},
            },
        }}
    rejected = {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/LabelsRejected"}}}}
    errors = {code: text for code, text in _POST_ERRORS.items() if code != 422}
    paths["/labels"] = {"post": {
        "operationId": _LABELS["operationId"], "description": _LABELS["description"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/LabelsBody"}}}},
        "responses": {
            "200": {"description": _LABELS["ok"], "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/StoredLabels"}}}},
            **{str(code): _error_response(text) for code, text in sorted({**errors,
                                                                          **unauthorized}.items())},
            **{str(code): {"description": text, **rejected}
               for code, text in _LABELS["errors"].items()},
        },
    }}
    for path in _OPEN_PATHS:
        for operation in paths.get(path, {}).values():
            operation.setdefault("responses", {})["400"] = {"description": "Host header not allowed"}
            operation["security"] = []
    if token_required:
        spec["security"] = [{"bearer": []}]
    return spec


class DocsMiddleware:
    """Serves the corrected spec at /docs.json and a docs page without third-party scripts at /."""

    def __init__(self, app, base_spec: Callable[[], dict], token_required: bool,
                 schema: Callable[[], LabelSchema] = lambda: DEFAULT_SCHEMA):
        self.app = app
        self.base_spec = base_spec
        self.schema = schema  # the served model's, read when the spec is first asked for
        self.token_required = token_required
        self._spec: dict | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        if scope["path"] == "/docs.json":
            if self._spec is None:
                try:
                    self._spec = build_spec(self.base_spec(), self.token_required, self.schema())
                except Exception:  # the service answers, even if its docs cannot be built
                    response = JSONResponse({"error": "failed to build the OpenAPI spec"},
                                            status_code=HTTPStatus.INTERNAL_SERVER_ERROR)
                    return await response(scope, receive, send)
            return await JSONResponse(self._spec)(scope, receive, send)
        if scope["path"] == "/":
            return await HTMLResponse(DOCS_PAGE)(scope, receive, send)
        return await self.app(scope, receive, send)
