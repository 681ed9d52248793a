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
from service.api_models import ArticleScore, Classification, ErrorBody, ModelDescription, TrackRow

DESCRIPTION = ("Stance of news sentences toward Ukraine joining NATO: pro-membership, conceding, "
               "opposing or neutral. Limits are in each request schema; over a limit is 413.")
# Statuses every guarded POST can answer besides 200, and what they mean here.
_POST_ERRORS = {
    400: "Body is not valid UTF-8 or JSON, or the Host header is not allowed",
    408: "Body not received in time",
    413: "Body, a list or a text is over its limit",
    415: "Body not sent as application/json",
    422: "A field is missing, of the wrong type or invalid (error and field say which)",
    500: "Unexpected server error",
    503: "Too many requests in progress; retry later",
}
_ARTICLE_ERRORS = {504: "The request passed its deadline and its work was stopped"}
# The 200 body of each API, from service/api_models.py: BentoML's copy drops nullability.
_RESPONSES = {
    "/classify": {"type": "array", "items": {"$ref": "#/components/schemas/Classification"}},
    "/score_article": {"$ref": "#/components/schemas/ArticleScore"},
    "/track": {"type": "array", "items": {"$ref": "#/components/schemas/TrackRow"}},
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


def build_spec(base: dict, token_required: bool) -> dict:
    # Through JSON: BentoML's dict holds status codes as integers.
    spec = json.loads(json.dumps(base))
    # The schemas are pydantic's JSON Schema (nullable fields are anyOf [..., null]): OpenAPI 3.1's.
    spec["openapi"] = "3.1.0"
    spec["info"] = {"title": "stance", "version": stance.__version__, "description": DESCRIPTION}
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (ErrorBody, ModelDescription, Classification, ArticleScore, TrackRow):
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
    for path in _OPEN_PATHS:
        for operation in paths.get(path, {}).values():
            operation.setdefault("responses", {})["400"] = {"description": "Host header not allowed"}
            operation["security"] = []
    if token_required:
        spec["security"] = [{"bearer": []}]
    return spec


class DocsMiddleware:
    """Serves the corrected spec at /docs.json and a docs page without third-party scripts at /."""

    def __init__(self, app, base_spec: Callable[[], dict], token_required: bool):
        self.app = app
        self.base_spec = base_spec
        self.token_required = token_required
        self._spec: dict | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        if scope["path"] == "/docs.json":
            if self._spec is None:
                try:
                    self._spec = build_spec(self.base_spec(), self.token_required)
                except Exception:  # the service answers, even if its docs cannot be built
                    response = JSONResponse({"error": "failed to build the OpenAPI spec"},
                                            status_code=HTTPStatus.INTERNAL_SERVER_ERROR)
                    return await response(scope, receive, send)
            return await JSONResponse(self._spec)(scope, receive, send)
        if scope["path"] == "/":
            return await HTMLResponse(DOCS_PAGE)(scope, receive, send)
        return await self.app(scope, receive, send)
