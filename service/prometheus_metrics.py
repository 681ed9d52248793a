"""Prometheus metrics of the service, every label drawn from a fixed set.

BentoML's own HTTP metrics label each request with its raw path, so random paths (answered 401
or 404) grew /metrics without bound; they are turned off (``metrics.enabled: false``) and these
take their place: requests by route template (every unknown path is ``unmatched``), method and
status, with their duration; sentences classified per label; model latency; rejected requests by
reason; the article queue's depth; and texts per /classify model call (greedy batching, service/batcher.py).
"""

from __future__ import annotations

from http import HTTPStatus
from timeit import default_timer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

from stance.labels import LABELS

REGISTRY = CollectorRegistry(auto_describe=True)
UNMATCHED = "unmatched"
# Route templates the service answers; anything else is UNMATCHED.
ROUTES = frozenset({"/classify", "/score_article", "/track", "/articles", "/labels", "/timeline",
                    "/model", "/livez", "/readyz", "/healthz", "/metrics", "/", "/docs.json",
                    "/schema.json"})
_PREFIX_ROUTES = ("/static_content/",)
_ARTICLE_ROUTE = "/articles/{article_id}"
_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})

REQUESTS = Counter("stance_http_requests_total", "HTTP requests answered",
                   ["route", "method", "status"], registry=REGISTRY)
DURATION = Histogram("stance_http_request_duration_seconds", "HTTP request duration, to the last body byte",
                     ["route"], registry=REGISTRY,
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
REJECTED = Counter("stance_requests_rejected_total", "Requests answered with an error, by reason",
                   ["reason"], registry=REGISTRY)
SENTENCES = Counter("stance_sentences_classified_total", "Sentences labelled, per label and endpoint",
                    ["label", "endpoint"], registry=REGISTRY)
MODEL_SECONDS = Histogram("stance_model_seconds", "Time of one model call (tokenising included)",
                          ["endpoint"], registry=REGISTRY,
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BATCH_TEXTS = Histogram("stance_classify_batch_texts", "Texts per /classify model call (greedy batches)",
                        registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
ARTICLE_QUEUE = Gauge("stance_article_queue_depth", "Article jobs running or waiting", registry=REGISTRY)


def route_of(path: str) -> str:
    if path in ROUTES:
        return path
    if path.startswith(_PREFIX_ROUTES):
        return _PREFIX_ROUTES[0] + "{path}"
    if path.startswith("/articles/") and "/" not in path[len("/articles/"):]:
        return _ARTICLE_ROUTE
    return UNMATCHED


def reason_of(status: int) -> str:
    """``payload_too_large``, ``unauthorized``, ``gateway_timeout``…: one value per status code."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "other"


def count_sentences(labels, endpoint: str) -> None:
    for label in LABELS:
        n = sum(1 for value in labels if value == label)
        if n:
            SENTENCES.labels(label=label, endpoint=endpoint).inc(n)


class MetricsMiddleware:
    """Counts every HTTP request once it is answered, under its route template."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = route_of(scope["path"])
        method = scope["method"] if scope["method"] in _METHODS else "other"
        started = default_timer()
        status = 500  # what the client sees if the app fails before it starts a response

        async def counting_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            DURATION.labels(route=route).observe(default_timer() - started)
            if status >= 400:
                REJECTED.labels(reason=reason_of(status)).inc()


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
