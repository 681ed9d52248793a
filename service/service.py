"""The default stance model as an HTTP service (BentoML 1.4).

- ``POST /classify`` ``{"texts": [str, ...]}`` → one ``{label, confidence, probabilities}`` per text,
  batched across concurrent requests without waiting (service/batcher.py).
- ``POST /score_article`` ``{"text", "id"?, "published"?, "title"?, "source"?}`` → the article's
  sentences (offsets, label, probabilities) and the summary row ``stance score --summary`` writes.
- ``POST /track`` ``{"articles": [...], "by"?: "month", "by_actor"?: false|true|"detail"}`` → the
  ``stance track`` table (one row per period, and per actor or country when split).
- ``POST /articles`` (a /score_article body and ``url``?) → the article added to the corpus store and
  scored there, or found as a duplicate (same URL or text); ``GET /articles/{id}`` → a stored
  article with its sentence predictions; ``GET /timeline?by=month&actor=…&since=…`` → the
  ``stance track --db`` table (service/corpus.py: the store file and its one writer).
- ``POST /labels`` ``{"labels": [row, ...]}`` (rows as `stance review import -o` writes them) →
  the reviewed labels stored, one answer per row; the store routes then use them in place of the
  model's (``label_source``). 200 when every row is stored; 422 when a row is no valid label row
  (unknown label or actor…), else 409 when a row does not match the store (unknown article or
  sentence, text hash mismatch): the body says which and why, and the good rows are stored.
- ``GET /model`` → model name, version, labels, training date, headline metrics and the active backend.
- BentoML's ``/livez`` and ``/readyz``; ``/metrics`` (Prometheus, service/prometheus_metrics.py); the
  OpenAPI docs at ``/`` and ``/docs.json`` (service/openapi.py).

The model directory is ``$STANCE_MODEL_DIR`` or the default model (``models/minilm-stance``); it is
loaded and checked against its probe outputs before the server starts (service/startup.py).
Article work runs off the request path (service/article_work.py). Limits: service/limits.py.
``$STANCE_API_TOKEN`` turns on bearer-token access control; Host and CORS settings:
service/browser_safety.py. Start it with ``stance serve``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import bentoml
from bentoml._internal.context import server_context
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import stance
from service import prometheus_metrics as metrics
from service.api_models import (
    ActorLevel,
    ArticleId,
    Articles,
    ArticleScore,
    ArticleText,
    ArticleUrl,
    Classification,
    MinConfidence,
    Period,
    PostedArticle,
    Published,
    Texts,
    TrackRow,
)
from service.article_work import ArticleQueue, DeadlineClassifier, QueueFull
from service.batcher import GreedyBatcher
from service.browser_safety import allowed_hosts, cors_options
from service.corpus import CorpusStore, StoreUnavailable, unavailable_reason
from service.limits import (
    ARTICLE_DEADLINE_S,
    ARTICLE_QUEUE,
    ARTICLE_WORKERS,
    HEADER_TIMEOUT_S,
    MAX_ARTICLE_CHARS,
    MAX_BATCH_TEXTS,
    MAX_BODY_BYTES,
    MAX_CONCURRENCY,
    MAX_TEXT_CHARS,
    MAX_TEXTS_PER_REQUEST,
    REQUEST_TIMEOUT_S,
    WORKERS,
)
from service.middleware import TOKEN_ENV, BearerTokenMiddleware, RequestGuardMiddleware
from service.openapi import DocsMiddleware
from service.slow_clients import limit_header_time
from service.startup import StartupError, load_verified, preflight_or_exit, stop_server
from service.supervision import die_with_parent
from service.validation import (
    RequestRejected,
    article_id_of,
    article_query,
    article_request,
    classify_texts,
    labels_request,
    min_confidence_of,
    parse_json_body,
    post_article_request,
    score_article_request,
    timeline_query,
    track_request,
)
from stance.backends.batching import THREADS_ENV, cpu_threads
from stance.deadline import DeadlineExceeded
from stance.incremental import score_ids
from stance.integrity import served_file
from stance.labels import read_schema
from stance.model import StanceClassifier, default_model_dir
from stance.scoring import score_articles
from stance.store import timeline
from stance.tracking import track

MODEL_DIR_ENV = "STANCE_MODEL_DIR"
if WORKERS > 1 and not os.environ.get(THREADS_ENV):
    # Each worker runs a model of its own: share the cores out instead of oversubscribing them.
    os.environ[THREADS_ENV] = str(max(1, cpu_threads() // WORKERS))
# Sentences per forward pass inside one model call (the classifier buckets them by length).
PREDICT_BATCH = 64


def model_dir() -> Path:
    return Path(os.environ.get(MODEL_DIR_ENV) or default_model_dir())


def describe_model(classifier: StanceClassifier, version: str) -> dict:
    info = classifier.info
    # Every evaluation split metrics.json holds (validation, test, …) with its headline numbers.
    schema = classifier.schema
    headline = {
        split: {key: value[key] for key in ("n", "accuracy", "macro_f1", "macro_f1_ci95",
                                            schema.f1avg_key_in(value)) if key in value}
        for split, value in info.items() if isinstance(value, dict) and "macro_f1" in value
    }
    return {
        "name": classifier.name,
        # The digest of the file that serves (model.int8.onnx or model.safetensors), checked at start.
        "version": version,
        "served_file": served_file(classifier, classifier.path).name,
        "labels": list(schema.labels),
        # What the labels are a stance toward, and the colours the charts give them.
        "target": schema.target,
        "colours": dict(schema.colours),
        "trained_at": info.get("trained_at"),
        "approach": info.get("approach"),
        "base_model": info.get("base_model"),
        "metrics": headline,
        "device": str(classifier.device),
        # Which inference path answers (onnx-int8 or torch) and why: `auto` may fall back to fp32.
        "backend": classifier.backend,
        "backend_reason": classifier.backend_reason,
        "stance_version": stance.__version__,
        # This server's processes (each with its own model) and each one's inference threads.
        "workers": WORKERS,
        "threads": cpu_threads(),
        "limits": {
            "max_texts_per_request": MAX_TEXTS_PER_REQUEST,
            "max_text_chars": MAX_TEXT_CHARS,
            "max_article_chars": MAX_ARTICLE_CHARS,
            "max_body_bytes": MAX_BODY_BYTES,
        },
    }


async def model_endpoint(_: Request) -> JSONResponse:
    return JSONResponse(bentoml.get_current_service().model_description)


def _mark_uncertain(article: dict, min_confidence: float | None) -> dict:
    for sentence in article["sentences"]:
        sentence["uncertain"] = (min_confidence is not None and not sentence["furniture"]
                                 and sentence["confidence"] is not None
                                 and sentence["confidence"] < min_confidence)
    return article


def _stored_article(service, article_id: int, query: dict) -> dict | None:
    with service.corpus.reader() as store:
        found = None if store is None else store.article(article_id, query["model_version"]
                                                         or service.version)
    return None if found is None else _mark_uncertain(found, query["min_confidence"])


def _timeline(service, query: dict) -> list[dict] | JSONResponse:
    asked = query["model_version"]
    with service.corpus.reader() as store:
        versions = [] if store is None else store.model_versions()
        if asked is not None and asked not in versions:
            return JSONResponse({"error": f"no predictions by model version {asked!r} in the store; "
                                          f"it has: {', '.join(versions) or 'none'}",
                                 "field": "model_version"}, status_code=404)
        version = asked or service.version
        if store is None or version not in versions:
            return []
        return timeline(store, version, query["by"], query["by_actor"], query["min_confidence"],
                        actor=query["actor"], since=query["since"])


def _unavailable(exc: StoreUnavailable) -> JSONResponse:
    headers = {"Retry-After": "5"} if exc.transient else {}
    return JSONResponse({"error": str(exc)}, status_code=503, headers=headers)


async def article_endpoint(request: Request) -> JSONResponse:
    """GET /articles/{article_id}: a stored article and one model version's sentence predictions."""
    service = bentoml.get_current_service()
    raw = request.path_params["article_id"]
    try:
        query = article_query(request.query_params)
        article_id = article_id_of(raw)
        found = None if article_id is None else await run_in_threadpool(_stored_article, service,
                                                                        article_id, query)
    except RequestRejected as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    except StoreUnavailable as exc:
        return _unavailable(exc)
    if found is None:
        return JSONResponse({"error": f"no article {raw!r} in the store", "field": "article_id"},
                            status_code=404)
    return JSONResponse(found)


async def timeline_endpoint(request: Request) -> JSONResponse:
    """GET /timeline: the `stance track --db` table of the store, counted in SQL."""
    try:
        query = timeline_query(request.query_params)
        rows = await run_in_threadpool(_timeline, bentoml.get_current_service(), query)
    except RequestRejected as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    except StoreUnavailable as exc:
        return _unavailable(exc)
    return rows if isinstance(rows, JSONResponse) else JSONResponse(rows)


def _store_labels(service, rows: list) -> JSONResponse:
    from stance import store_labels

    with service.corpus.writer() as store:
        outcomes = store_labels.import_labels(
            store, ((f"labels[{i}]", row) for i, row in enumerate(rows)), source="POST /labels")
    rejected = [o for o in outcomes if o.status == store_labels.REJECTED]
    body = {"stored": len(outcomes) - len(rejected), "rejected": len(rejected),
            "rows": [o.to_dict() for o in outcomes]}
    if not rejected:
        return JSONResponse(body)
    first = next((o for o in rejected if o.malformed), rejected[0])
    error = (f"{len(rejected)} of {len(outcomes)} label row(s) not stored (the others were); "
             f"{first.where}: {first.reason}")
    return JSONResponse({"error": error, "field": first.where, **body},
                        status_code=422 if first.malformed else 409)


async def labels_endpoint(request: Request) -> JSONResponse:
    """POST /labels: reviewed labels into the store, each row answered (service/service.py doc)."""
    try:
        rows = labels_request(parse_json_body(await request.body()))
        return await run_in_threadpool(_store_labels, bentoml.get_current_service(), rows)
    except RequestRejected as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    except StoreUnavailable as exc:
        return _unavailable(exc)


# BentoML restarts a worker whose start-up fails, forever; a model that cannot serve must instead stop
# `bentoml serve` (and `bentoml build`) at once, so it is loaded and probed on import, before any
# worker exists. A worker (its index is set before it imports us) checks what it serves instead.
if server_context.worker_index is None:
    preflight_or_exit(model_dir())
else:
    die_with_parent()
    limit_header_time(HEADER_TIMEOUT_S)

# BentoML APIs are POST only; the GET routes live in a small mounted ASGI app, and so does POST
# /labels, whose rows are checked one by one (a BentoML API would refuse the whole body).
info_app = Starlette(routes=[Route("/model", model_endpoint, methods=["GET"]),
                             Route("/metrics", metrics.metrics_endpoint, methods=["GET"]),
                             Route("/articles/{article_id}", article_endpoint, methods=["GET"]),
                             Route("/timeline", timeline_endpoint, methods=["GET"]),
                             Route("/labels", labels_endpoint, methods=["POST"])])


@bentoml.asgi_app(info_app, path="/")
@bentoml.service(
    name="stance",
    workers=WORKERS,
    traffic={"timeout": REQUEST_TIMEOUT_S, "max_concurrency": MAX_CONCURRENCY},
    endpoints={"livez": "/livez", "readyz": "/readyz"},
    # BentoML's HTTP metrics label requests by raw path (unbounded); prometheus_metrics replaces them.
    metrics={"enabled": False},
)
class StanceService:
    def __init__(self) -> None:
        # The probe check also pays for the first forward pass, which allocates. Article work has a
        # classifier of its own: a tokenizer is not safe to share between threads.
        try:
            self.classifier, version = load_verified(model_dir())
            article_classifier, _ = load_verified(model_dir(), warn=False)
        except StartupError as exc:
            stop_server(str(exc))
        self.model_description = describe_model(self.classifier, version)
        self.version = version
        # Opened on the first store request: a server that never uses it creates and locks nothing.
        self.corpus = CorpusStore(unavailable=unavailable_reason(WORKERS))
        self.article_classifier = DeadlineClassifier(
            article_classifier, metrics.MODEL_SECONDS.labels(endpoint="articles").observe)
        self.articles = ArticleQueue(ARTICLE_WORKERS, ARTICLE_QUEUE, ARTICLE_DEADLINE_S)
        metrics.ARTICLE_QUEUE.set_function(lambda: self.articles.in_flight)
        self.batcher = GreedyBatcher(self._classify, MAX_BATCH_TEXTS)
        self.ready = True

    def __is_ready__(self) -> bool:
        """/readyz: 200 once this worker's model is loaded and has passed its probe check, so a load
        balancer sends nothing to a replica still starting (or one whose start-up failed)."""
        return getattr(self, "ready", False)

    async def _article_work(self, fn, *args):
        try:
            return await self.articles.run(fn, *args)
        except QueueFull as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "5"})
        except DeadlineExceeded as exc:
            return JSONResponse({"error": str(exc)}, status_code=504)
        except StoreUnavailable as exc:
            return _unavailable(exc)

    @bentoml.api
    async def classify(self, texts: Texts) -> list[Classification]:
        """Label each text: pro-membership, conceding, opposing or neutral, with probabilities."""
        return await self.batcher.submit(texts)

    def _classify(self, texts: list[str]) -> list[Classification]:
        """One model call for the texts of every request the batcher put together."""
        started = time.perf_counter()
        predictions = self.classifier.predict(texts, batch_size=PREDICT_BATCH)
        metrics.MODEL_SECONDS.labels(endpoint="classify").observe(time.perf_counter() - started)
        metrics.BATCH_TEXTS.observe(len(texts))
        metrics.count_sentences([p.label for p in predictions], "classify")
        return [Classification(**p.to_dict()) for p in predictions]

    @bentoml.api
    async def score_article(self, text: ArticleText, id: ArticleId = None, published: Published = None,
                            title: str | None = None, source: str | None = None,
                            min_confidence: MinConfidence = None) -> ArticleScore:
        """Segment an article, label every sentence and summarise it as `stance score` does.

        Sentences whose confidence is below ``min_confidence`` are marked ``uncertain`` and left out
        of the summary."""
        article = article_request({"text": text, "id": id, "published": published, "title": title,
                                   "source": source})
        return await self._article_work(self._score_article, article, min_confidence_of(min_confidence))

    def _score_article(self, article, min_confidence: float | None = None) -> ArticleScore:
        result = next(score_articles(self.article_classifier, [article], batch_size=PREDICT_BATCH,
                                     min_confidence=min_confidence))
        metrics.count_sentences([s.label for s in result.sentences if not s.furniture], "score_article")
        return ArticleScore.model_validate({
            "id": article.id,
            "title": article.title,
            "published": article.published,
            "summary": result.summary(),
            "sentences": [s.to_row() for s in result.sentences],
        })

    # The method is not called `articles`: that name is the article queue's.
    @bentoml.api(route="/articles")
    async def add_article(self, text: ArticleText, id: ArticleId = None, published: Published = None,
                          title: str | None = None, source: str | None = None, url: ArticleUrl = None,
                          min_confidence: MinConfidence = None) -> PostedArticle:
        """Add an article to the corpus store and score it there with the served model.

        Idempotent: an article whose ``url`` or text is already stored is not added again; the
        answer says ``"status": "duplicate"`` (and why) and gives the stored article, scored by
        the served model if it was not yet. Read it again with ``GET /articles/{id}``; its
        sentences count in ``GET /timeline``. Sentences below ``min_confidence`` are marked
        ``uncertain`` in the answer (the store keeps every prediction)."""
        article = article_request({"text": text, "id": id, "published": published, "title": title,
                                   "source": source})
        article.url = url or None
        return await self._article_work(self._post_article, article, min_confidence_of(min_confidence))

    def _post_article(self, article, min_confidence: float | None = None):
        with self.corpus.writer() as store:
            result = next(store.ingest([article]))
            if result.status == "skipped":
                return JSONResponse({"error": f"field 'text' holds no sentence ({result.reason})",
                                     "field": "text"}, status_code=422)
            run = score_ids(store, self.article_classifier, [result.article_id],
                            batch_size=PREDICT_BATCH)
            stored = store.article(result.article_id, self.version)
        if run.sentences:
            metrics.count_sentences([s["label"] for s in stored["sentences"] if not s["furniture"]],
                                    "articles")
        stored.update(status=result.status, reason=result.reason)
        return PostedArticle.model_validate(_mark_uncertain(stored, min_confidence))

    @bentoml.api
    async def track(self, articles: Articles, by: Period = "month", by_actor: ActorLevel = False,
                    min_confidence: MinConfidence = None) -> list[TrackRow]:
        """Stance per period (and actor) over the given articles: the `stance track` table.

        ``by_actor``: ``true`` splits rows by actor, ``"detail"`` by the country or organisation
        holding the stance (``actor_detail``: US, DE, HU, UA, NATO…).

        Sentences whose confidence is below ``min_confidence`` are not counted."""
        records = [a.model_dump() if hasattr(a, "model_dump") else a for a in articles]
        parsed, by, by_actor = track_request({"articles": records, "by": by, "by_actor": by_actor})
        return await self._article_work(self._track, parsed, by, by_actor, min_confidence_of(min_confidence))

    def _track(self, articles, by: str, by_actor: bool | str,
               min_confidence: float | None = None) -> list[dict]:
        tracking = track(self.article_classifier, articles, by, min_confidence=min_confidence)
        metrics.count_sentences([s.label for s in tracking.sentences], "track")
        return tracking.table(by_actor)


# Listed outermost first: every request is counted, and an unauthenticated one is refused before its
# body is read.
StanceService.add_asgi_middleware(metrics.MetricsMiddleware)
StanceService.add_asgi_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(), www_redirect=False)
if cors_options() is not None:  # outside the token check: a CORS preflight carries no credentials
    StanceService.add_asgi_middleware(CORSMiddleware, **cors_options())
StanceService.add_asgi_middleware(BearerTokenMiddleware)
StanceService.add_asgi_middleware(DocsMiddleware, base_spec=lambda: StanceService.openapi_spec.asdict(),
                                  token_required=bool(os.environ.get(TOKEN_ENV)),
                                  schema=lambda: read_schema(model_dir()))
StanceService.add_asgi_middleware(
    RequestGuardMiddleware,
    checks={"/classify": classify_texts, "/score_article": score_article_request, "/track": track_request,
            "/articles": post_article_request, "/labels": labels_request},
)
