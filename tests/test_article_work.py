import asyncio
import threading
import time

import numpy as np
import pytest

from service.article_work import CHECK_EVERY_SENTENCES, ArticleQueue, DeadlineClassifier, QueueFull
from stance import deadline


def _spin(stopped: threading.Event):
    """Work that only ends by its deadline, checking it as the article code does."""
    try:
        while True:
            deadline.check()
            time.sleep(0.01)
    finally:
        stopped.set()


def test_a_job_past_its_deadline_is_refused_and_stops():
    queue = ArticleQueue(workers=1, waiting=0, deadline_s=0.2)
    stopped = threading.Event()
    with pytest.raises(deadline.DeadlineExceeded, match="0.2 s"):
        asyncio.run(queue.run(_spin, stopped))
    assert stopped.wait(5)
    assert queue.in_flight == 0


def test_more_jobs_than_workers_and_places_are_refused_at_once():
    queue = ArticleQueue(workers=1, waiting=1, deadline_s=0.5)

    async def three():
        stopped = [threading.Event() for _ in range(3)]
        return await asyncio.gather(*(queue.run(_spin, s) for s in stopped), return_exceptions=True)

    outcomes = asyncio.run(three())
    assert sum(isinstance(o, QueueFull) for o in outcomes) == 1
    assert sum(isinstance(o, deadline.DeadlineExceeded) for o in outcomes) == 2


def test_a_job_returns_its_result():
    queue = ArticleQueue(workers=1, waiting=0, deadline_s=5)
    assert asyncio.run(queue.run(lambda a, b: a + b, 2, 3)) == 5


class _Counting:
    def __init__(self):
        self.calls = []

    def predict_proba(self, texts, batch_size=64, contexts=None):
        self.calls.append(len(texts))
        self.contexts = getattr(self, "contexts", []) + list(contexts or [])
        return np.full((len(texts), 4), 0.25, dtype=np.float32)


def test_deadline_classifier_checks_between_chunks_and_keeps_order():
    inner = _Counting()
    probs = DeadlineClassifier(inner).predict_proba(["x"] * (CHECK_EVERY_SENTENCES + 1))
    assert probs.shape == (CHECK_EVERY_SENTENCES + 1, 4)
    assert inner.calls == [CHECK_EVERY_SENTENCES, 1]
    # Each sentence's context goes with it into its chunk (the model reads the previous sentence).
    contexts = [str(i) for i in range(CHECK_EVERY_SENTENCES + 1)]
    inner.contexts = []
    DeadlineClassifier(inner).predict_proba(["x"] * len(contexts), contexts=contexts)
    assert inner.contexts == contexts
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(deadline.DeadlineExceeded), deadline.deadline(time.monotonic() + 60, cancelled):
        DeadlineClassifier(inner).predict_proba(["x"])
