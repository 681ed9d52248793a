"""The documented limits and tuning of the HTTP service, in one place (README "HTTP service").

A request over a limit gets 413 with the limit in the message; it never reaches the model.
"""

from __future__ import annotations

import os

# Worker processes of one server (`stance serve --workers`, $STANCE_WORKERS), each with its own
# model. The corpus store takes one writing process, so only a one-worker server serves it
# (service/corpus.py); replicas behind a load balancer scale the stateless routes (README).
WORKERS_ENV = "STANCE_WORKERS"
WORKERS = max(1, int(os.environ.get(WORKERS_ENV) or 1))

# POST /classify: texts per request, characters per text. The model reads at most 128 tokens
# (a few hundred characters), so a longer "sentence" is almost surely a whole document sent by mistake.
MAX_TEXTS_PER_REQUEST = 256
MAX_TEXT_CHARS = 2_000
# POST /score_article: characters of article text (a long feature is ~60k).
MAX_ARTICLE_CHARS = 200_000
# POST /track: articles per request (each also within MAX_ARTICLE_CHARS).
MAX_TRACK_ARTICLES = 500
# POST /articles: characters of its optional url.
MAX_URL_CHARS = 2_048
# POST /labels: label rows per request (a review round is a few hundred; more go in several).
MAX_LABEL_ROWS = 1_000
# Any request body, checked before it is parsed. JSON may escape every character as \uXXXX.
MAX_BODY_BYTES = 4 * 1024 * 1024

# Greedy batching of /classify (service/batcher.py): texts per model call, counting whole requests
# (a request with more texts than this runs alone). BentoML's adaptive batching, used before, made
# a lone request wait for company after a burst (p50 105 ms against 9.5 ms now, BENCHMARKS.md) and
# shed bursts with 503 below max_latency_ms ~1 s. Overload is bounded by MAX_CONCURRENCY (429) and
# REQUEST_TIMEOUT_S.
MAX_BATCH_TEXTS = 128
# Requests in flight per server before BentoML answers 429 at once; far above the bursts we test.
MAX_CONCURRENCY = 512
REQUEST_TIMEOUT_S = 120

# Article work (/score_article, /track; service/article_work.py): jobs running at once, jobs
# waiting beyond those (more get 503 at once), and the deadline after which a job stops and its
# request gets 504. One worker: two would split the same 2 cores and each finish later.
# 32 waiting: as many as the clients of the soak (benchmarks/soak.py), whose bursts of short
# articles 8 places refused.
ARTICLE_WORKERS = 1
ARTICLE_QUEUE = 32
# $STANCE_ARTICLE_DEADLINE_S overrides the deadline (the tests use a short one).
ARTICLE_DEADLINE_S = float(os.environ.get("STANCE_ARTICLE_DEADLINE_S") or 60)

# Slow clients: a connection must send a first byte within HEADER_TIMEOUT_S of opening and each
# request head within HEADER_TIMEOUT_S of its first byte (service/slow_clients.py), and a POST body
# within BODY_TIMEOUT_S (408).
# $STANCE_HEADER_TIMEOUT_S and $STANCE_BODY_TIMEOUT_S override them (the tests use short ones).
HEADER_TIMEOUT_S = float(os.environ.get("STANCE_HEADER_TIMEOUT_S") or 10)
BODY_TIMEOUT_S = float(os.environ.get("STANCE_BODY_TIMEOUT_S") or 30)
