"""Cooperative deadlines for long work: a thread runs under ``deadline(...)`` and the loops of
segmentation, classification and actor attribution call ``check()`` between steps.

Python cannot stop a thread from outside, so the work stops itself: ``check()`` raises
``DeadlineExceeded`` once the deadline has passed or the caller has cancelled. Outside a
``deadline`` block (the CLI) ``check()`` does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


class DeadlineExceeded(Exception):
    """The work ran past its deadline or was cancelled; whatever it produced is discarded."""


@contextmanager
def deadline(at: float, cancelled: threading.Event | None = None) -> Iterator[None]:
    """Run the block under a deadline ``at`` (a ``time.monotonic()`` value) in this thread."""
    previous = getattr(_local, "limit", None)
    _local.limit = (at, cancelled or threading.Event())
    try:
        yield
    finally:
        _local.limit = previous


def check() -> None:
    limit = getattr(_local, "limit", None)
    if limit is None:
        return
    at, cancelled = limit
    if cancelled.is_set() or time.monotonic() >= at:
        raise DeadlineExceeded("the request ran past its deadline")
