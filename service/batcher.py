"""Greedy batching for ``POST /classify``: a request reaches the model at once when the model is
free, and the requests that arrive while it is busy go together in its next call.

BentoML's adaptive batching waits for company as long as its estimate of recent queueing times
says, and that estimate decays slowly: a lone request right after a burst waited 14 ms instead of
8.5 ms (BENCHMARKS.md, HTTP service load). Greedy batching never waits on purpose. A batch is what
queued during the previous call, so batches grow with the load and shrink to one request when
the load is gone. The model runs on one thread of its own (a tokenizer is not safe to share
between threads), so the event loop keeps parsing and answering requests while it computes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


class GreedyBatcher:
    """Calls ``fn(items) -> results`` (one result per item, in order) for the items of queued
    requests together, up to ``max_items`` per call; a single request larger than that runs alone."""

    def __init__(self, fn: Callable[[list], Sequence], max_items: int):
        self._fn = fn
        self._max_items = max_items
        self._queue: deque[tuple[list, asyncio.Future]] = deque()
        self._draining = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="stance-classify")

    async def submit(self, items: list) -> list:
        if not items:
            return []
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((list(items), future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    def _next_batch(self) -> list[tuple[list, asyncio.Future]]:
        batch = [self._queue.popleft()]
        size = len(batch[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self._max_items:
            batch.append(self._queue.popleft())
            size += len(batch[-1][0])
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                # A caller that went away (its future cancelled) costs the model nothing.
                batch = [(items, f) for items, f in self._next_batch() if not f.done()]
                if not batch:
                    continue
                flat = [item for items, _ in batch for item in items]
                try:
                    results = await loop.run_in_executor(self._thread, self._fn, flat)
                except Exception as exc:  # every caller of the failed call gets the error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for items, future in batch:
                    if not future.done():
                        future.set_result(list(results[start:start + len(items)]))
                    start += len(items)
        finally:
            self._draining = False

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
