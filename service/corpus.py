"""The service's handle on the corpus store (``POST /articles``, ``GET /articles/{id}``,
``GET /timeline``).

The file is ``$STANCE_DB`` (``stance serve --db`` sets it), else ``stance.duckdb`` in the working
directory. DuckDB lets one process write a file, and refuses a read-only connection in a process
that holds it for writing, so the service process is the one writer: it opens the file on the
first store request (a server that never touches the store never creates or locks one), writes
through one connection under a lock, and reads through cursors of the same database, which
DuckDB runs concurrently with the write. While the service holds the file, other processes
(`stance ingest`, `stance track --db`) get "in use by another process"; when another process
holds it, the store endpoints answer 503 with that reason and try again on the next request.
A server with several workers would have as many would-be writers, and replicas behind a load
balancer would each keep a store of their own and disagree, so those serve no store
(``$STANCE_STORE=off`` for replicas): their store endpoints answer 503 with the reason.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from stance.store import Store, StoreError, default_path, open_store

STORE_ENV = "STANCE_STORE"


def unavailable_reason(workers: int) -> str | None:
    """Why this server serves no store, or None when it does."""
    if os.environ.get(STORE_ENV, "").strip().lower() == "off":
        return (f"this server serves no corpus store (${STORE_ENV}=off): send store requests to the "
                "one server that holds it")
    if workers > 1:
        return (f"this server runs {workers} workers and the corpus store takes one writer: serve "
                "the store from a one-worker server (stance serve --workers 1 --db FILE)")
    return None


class StoreUnavailable(Exception):
    """The store cannot be opened now (locked by another process, newer schema…), or this server
    serves none (``transient`` false: trying again will not help)."""

    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


class CorpusStore:
    def __init__(self, path: str | None = None, unavailable: str | None = None):
        self.path = default_path(path)
        self.unavailable = unavailable
        self._store: Store | None = None
        self._open_lock = threading.Lock()  # opening, and making reader cursors
        self._write_lock = threading.Lock()  # one write at a time

    def _opened(self) -> Store:
        if self.unavailable:
            raise StoreUnavailable(self.unavailable, transient=False)
        with self._open_lock:
            if self._store is None:
                try:
                    self._store = open_store(self.path)
                except StoreError as exc:
                    raise StoreUnavailable(str(exc)) from exc
            return self._store

    def exists(self) -> bool:
        return self._store is not None or Path(self.path).is_file()

    @contextlib.contextmanager
    def writer(self) -> Iterator[Store]:
        store = self._opened()
        with self._write_lock:
            yield store

    @contextlib.contextmanager
    def reader(self) -> Iterator[Store | None]:
        """A store on a cursor of its own, or None when there is no store file yet (nothing to read)."""
        if not self.unavailable and not self.exists():
            yield None
            return
        store = self._opened()
        with self._open_lock:
            cursor = store.db.cursor()
        try:
            yield Store(cursor, store.path)
        finally:
            cursor.close()

    def close(self) -> None:
        with self._open_lock:
            if self._store is not None:
                self._store.close()
                self._store = None
