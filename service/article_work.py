"""Article work (/score_article, /track) off the request path: a bounded queue, its own threads
and a deadline per request that stops the work it started.

/classify batches on a model thread of its own (service/batcher.py); article work runs on the
threads here with a classifier of its own, so a 200,000-character article never holds up a
one-sentence /classify. At most ARTICLE_WORKERS jobs run and ARTICLE_QUEUE wait; any more are
refused at once (503) rather than queued behind minutes of work. A job past its deadline stops at
its next check (stance.deadline) and its request gets 504.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from stance import deadline

T = TypeVar("T")
# Sentences per model call under a deadline: about 0.1-0.2 s of work on 2 cores between checks.
CHECK_EVERY_SENTENCES = 128


class QueueFull(Exception):
    """Too many article jobs running and waiting."""


class DeadlineClassifier:
    """A classifier that checks the current deadline between chunks of sentences."""

    def __init__(self, classifier, observe: Callable[[float], None] | None = None):
        self.inner = classifier
        self.observe = observe  # called with the seconds of each model call

    def __getattr__(self, name: str):
        # name, backend, version, path…: the wrapped classifier's (the store records them).
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def predict_proba(self, texts, batch_size: int = 64, contexts=None):
        import numpy as np

        texts = list(texts)
        contexts = list(contexts) if contexts is not None else None
        parts = []
        for start in range(0, len(texts), CHECK_EVERY_SENTENCES):
            deadline.check()
            started = time.perf_counter()
            end = start + CHECK_EVERY_SENTENCES
            parts.append(self.inner.predict_proba(texts[start:end], batch_size,
                                                  contexts=contexts[start:end] if contexts else None))
            if self.observe is not None:
                self.observe(time.perf_counter() - started)
        return np.concatenate(parts) if parts else self.inner.predict_proba([], batch_size)

    def predict(self, texts, batch_size: int = 64, contexts=None):
        from stance.model import to_prediction

        return [to_prediction(row) for row in self.predict_proba(texts, batch_size, contexts)]


class ArticleQueue:
    def __init__(self, workers: int, waiting: int, deadline_s: float):
        self.capacity = workers + waiting
        self.deadline_s = deadline_s
        self.in_flight = 0  # jobs admitted whose thread work has not finished, timed-out ones included
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="stance-article")

    def _admit(self) -> None:
        with self._lock:
            if self.in_flight >= self.capacity:
                raise QueueFull(f"{self.in_flight} article requests are in progress; retry later")
            self.in_flight += 1

    def _release(self, _future=None) -> None:
        with self._lock:
            self.in_flight -= 1

    async def run(self, fn: Callable[..., T], *args) -> T:
        """``fn(*args)`` on an article thread; raises QueueFull or DeadlineExceeded."""
        self._admit()
        at = time.monotonic() + self.deadline_s
        cancelled = threading.Event()

        def job():
            with deadline.deadline(at, cancelled):
                deadline.check()  # it may have waited in the queue past its deadline
                return fn(*args)

        try:
            future = self._executor.submit(job)
        except BaseException:
            self._release()
            raise
        # Released when the thread is done with it, not when the request gives up on it: a job that
        # overran keeps its slot until it has actually stopped.
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)),
                                          timeout=max(0.0, at - time.monotonic()))
        except asyncio.CancelledError:
            cancelled.set()  # the client went away: stop the work at its next check
            future.cancel()
            raise
        except asyncio.TimeoutError:
            cancelled.set()
            future.cancel()  # a job still waiting in the queue never starts
            raise deadline.DeadlineExceeded(
                f"the request did not finish within its deadline of {self.deadline_s:g} s") from None
