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
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from stance.store import Store, StoreError, default_path, open_store


class StoreUnavailable(Exception):
    """The store cannot be opened now (locked by another process, newer schema…)."""


class CorpusStore:
    def __init__(self, path: str | None = None):
        self.path = default_path(path)
        self._store: Store | None = None
        self._open_lock = threading.Lock()  # opening, and making reader cursors
        self._write_lock = threading.Lock()  # one write at a time

    def _opened(self) -> Store:
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
        if not self.exists():
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
