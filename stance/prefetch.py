"""Run an iterator's work on a background thread, a bounded number of items ahead of its consumer.

`stance score` reads and segments articles (pure Python, one core) and then classifies them
(onnxruntime or torch, which release the GIL while they compute). Producing the next articles on
a thread while the model runs the current batch overlaps the two instead of adding them (issue 19).
Items come out in order, an exception in the producer is raised in the consumer at the point it
happened, and closing the consumer early (an error downstream, Ctrl-C) stops the producer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
# How often a blocked producer looks whether its consumer went away.
_POLL_S = 0.1


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    """``items``, produced on a daemon thread at most ``depth`` items ahead; ``depth`` 0 runs
    them in the caller's thread, as a plain iteration."""
    if depth < 0:
        raise ValueError(f"depth must be at least 0, got {depth}")
    if depth == 0:
        yield from items
        return
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    source = iter(items)

    def produce():
        try:
            for item in source:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Failed(error))
        finally:
            # A consumer that went away leaves a generator mid-way: let it clean up here, on the
            # thread that ran it.
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="stance-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield value
    finally:
        stop.set()
        thread.join(timeout=5 * _POLL_S + 1)
