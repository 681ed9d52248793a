"""ASGI middleware of the service: the optional bearer token and the request checks."""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import Callable
from http import HTTPStatus

from starlette.responses import JSONResponse

from service.limits import BODY_TIMEOUT_S
from service.validation import RequestRejected, check_body_size, parse_json_body

TOKEN_ENV = "STANCE_API_TOKEN"
# Probes and scrapers carry no credentials; everything else needs the token when one is set.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class BearerTokenMiddleware:
    """401 unless ``Authorization: Bearer <STANCE_API_TOKEN>``; a no-op when the variable is unset."""

    def __init__(self, app, token: str | None = None):
        self.app = app
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.expected = token.encode() if token else None

    async def __call__(self, scope, receive, send):
        if (self.expected is None or scope["type"] != "http"
                or scope["path"].rstrip("/") in OPEN_PATHS):
            return await self.app(scope, receive, send)
        scheme, _, given = dict(scope["headers"]).get(b"authorization", b"").strip().partition(b" ")
        # The scheme is case-insensitive (RFC 9110 11.1); the token is compared in constant time.
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.expected):
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
            _check_json_type(scope)
            body = await _read_body(scope, receive)
            check(parse_json_body(body))
        except RequestRejected as exc:
            response = JSONResponse(exc.to_dict(), status_code=exc.status)
            return await response(scope, receive, send)
        await self.app(scope, _replay(body, receive), send)


def _check_json_type(scope) -> None:
    """415 unless the body is declared JSON: a browser sends other types cross-origin without asking
    (a form, text/plain), so refusing them keeps pages the operator visits from driving the API."""
    declared = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    if declared != b"application/json":
        shown = declared.decode("latin-1") or "none"
        raise RequestRejected(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"request body must be sent as Content-Type: application/json, got {shown}")


async def _read_body(scope, receive) -> bytes:
    length = dict(scope["headers"]).get(b"content-length")
    if length is not None and length.isdigit():
        check_body_size(int(length))
    chunks, size = [], 0
    # The whole body within BODY_TIMEOUT_S, however slowly it trickles in.
    until = time.monotonic() + BODY_TIMEOUT_S
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout=max(0.0, until - time.monotonic()))
        except asyncio.TimeoutError:
            raise RequestRejected(HTTPStatus.REQUEST_TIMEOUT,
                                  f"request body not received within {BODY_TIMEOUT_S} s") from None
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
