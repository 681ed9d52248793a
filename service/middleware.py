"""ASGI middleware of the service: the optional bearer token and the request checks."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from http import HTTPStatus

from starlette.responses import JSONResponse

from service.validation import RequestRejected, check_body_size, parse_json_body

TOKEN_ENV = "STANCE_API_TOKEN"
# Probes and scrapers carry no credentials; everything else needs the token when one is set.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class BearerTokenMiddleware:
    """401 unless ``Authorization: Bearer <STANCE_API_TOKEN>``; a no-op when the variable is unset."""

    def __init__(self, app, token: str | None = None):
        self.app = app
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope, receive, send):
        if (self.expected is None or scope["type"] != "http"
                or scope["path"].rstrip("/") in OPEN_PATHS):
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        response = JSONResponse(
            {"error": "missing or wrong bearer token: send 'Authorization: Bearer <token>'"},
            status_code=HTTPStatus.UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


class RequestGuardMiddleware:
    """Read and check the JSON body of the guarded POST routes; pass it on to BentoML, as JSON, if it passes.

    ``checks`` maps a path to a function of the parsed body that raises RequestRejected.
    """

    def __init__(self, app, checks: dict[str, Callable[[object], object]]):
        self.app = app
        self.checks = checks

    async def __call__(self, scope, receive, send):
        check = self.checks.get(scope["path"]) if scope["type"] == "http" else None
        if check is None or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        try:
            body = await _read_body(scope, receive)
            check(parse_json_body(body))
        except RequestRejected as exc:
            response = JSONResponse(exc.to_dict(), status_code=exc.status)
            return await response(scope, receive, send)
        # The body is known to be JSON now. BentoML picks its parser by Content-Type and would fail
        # with a 500 on a form or multipart type (curl -d sends a form type by default).
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
        scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, _replay(body, receive), send)


async def _read_body(scope, receive) -> bytes:
    length = dict(scope["headers"]).get(b"content-length")
    if length is not None and length.isdigit():
        check_body_size(int(length))
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        # Chunked uploads have no Content-Length: stop reading as soon as the limit is passed.
        check_body_size(size)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay_receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay_receive
