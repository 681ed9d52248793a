"""Writing row tables as JSONL, CSV or Parquet, to a file or stdout, as rows arrive.

Rows are written and flushed as they come (:class:`RowWriter`), so a reader at the other end of
a pipe sees each article as soon as it is scored and an interrupted run leaves only complete
lines. Parquet is columnar and only valid once closed: it is written in row groups and finished
on close, including after Ctrl-C, but a killed process leaves no readable Parquet file.

Parquet columns are typed by name, so every run's file has the same schema whatever its rows
hold: ``published`` is a date, ``reason`` a string even when no row has one, ``evidence`` a list
of structs, counts integers, probabilities and shares doubles.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from stance.labels import LABELS, column
from stance.sentence_rows import arrow_types

FORMATS = ("jsonl", "csv", "parquet")
# Accepted for --format and as file extensions: one JSON object per line either way.
ALIASES = {"json": "jsonl", "ndjson": "jsonl"}
FORMAT_CHOICES = (*FORMATS, *ALIASES)
PARQUET_ROW_GROUP = 10_000


class OutputError(ValueError):
    """An output that cannot be written as asked (a usage error: nothing has been scored yet)."""


def infer_format(path: str | None, requested: str | None, default: str = "jsonl") -> str:
    """The format ``requested``, else the one the file extension names; an unknown extension is an error."""
    if requested:
        requested = ALIASES.get(requested, requested)
        if requested not in FORMATS:
            raise OutputError(f"unknown format {requested!r}; choose one of {', '.join(FORMAT_CHOICES)}")
        return requested
    if path and path != "-":
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
        if suffix in ALIASES:
            return ALIASES[suffix]
        if suffix:
            raise OutputError(f"{path}: cannot write .{suffix} files; name a .jsonl, .json, .csv or "
                              ".parquet file, or pass --format")
    return default


def check_destination(path: str | None, fmt: str) -> None:
    if fmt == "parquet" and path in (None, "-"):
        raise OutputError("parquet output needs a file: pass -o FILE.parquet")


def _flat(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _arrow_types() -> dict:
    import pyarrow as pa

    types = {
        **arrow_types(),  # every sentence-row column (stance.sentence_rows)
        "path": pa.string(), "title": pa.string(), "source": pa.string(),
        "status": pa.string(), "reason": pa.string(), "dominant_stance": pa.string(),
        "sentences": pa.int64(), "articles": pa.int64(), "uncertain_sentences": pa.int64(),
        "dominant_share": pa.float64(), "dominant_confidence": pa.float64(),
        "net_stance": pa.float64(),
        "evidence": pa.list_(pa.struct([("sentence_index", pa.int64()), ("text", pa.string()),
                                        ("confidence", pa.float64())])),
    }
    for label in LABELS:
        types[column(label)] = pa.int64()
        types[f"share_{column(label)}"] = pa.float64()
    return types


def arrow_table(rows: list[dict], schema=None):
    """A pyarrow table of ``rows``: known columns typed by name, others inferred (null → string)."""
    import pyarrow as pa

    types = _arrow_types()
    names = list(schema.names) if schema is not None else list(dict.fromkeys(k for r in rows for k in r))
    arrays, fields = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        if schema is not None:
            type_ = schema.field(name).type
        elif name in types:
            type_ = types[name]
        else:
            type_ = pa.array([_flat(v) for v in values]).type
            type_ = pa.string() if pa.types.is_null(type_) else type_
        if pa.types.is_date32(type_):
            values = [dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v for v in values]
        elif not (pa.types.is_list(type_) or pa.types.is_struct(type_)):
            values = [_flat(v) for v in values]
        arrays.append(pa.array(values, type=type_))
        fields.append(pa.field(name, type_))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def csv_header(path: Path) -> list[str] | None:
    """The header of an existing CSV file, None when the file is missing or empty."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), None)


class RowWriter:
    """Rows to a file or stdout (``None``/``-``), flushed after every :meth:`write`.

    ``append`` continues an existing JSONL or CSV file (``--resume``); a CSV file's header must
    then match the rows.
    """

    def __init__(self, path: str | None, fmt: str, append: bool = False):
        check_destination(path, fmt)
        if fmt not in FORMATS:
            raise OutputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMAT_CHOICES)}")
        if append and fmt == "parquet":
            raise OutputError("--resume needs JSONL or CSV output: a Parquet file cannot be appended to")
        self.fmt = fmt
        self.to_stdout = path in (None, "-")
        self.path = None if self.to_stdout else Path(path)
        self._fields: list[str] | None = None
        self._parquet = None
        self._pending: list[dict] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "csv" and append:
                self._fields = csv_header(self.path)
        if fmt == "parquet":
            self._handle = None
        elif self.to_stdout:
            self._handle = sys.stdout
        else:
            self._handle = self.path.open("a" if append else "w", encoding="utf-8", newline="")

    def write(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.fmt == "parquet":
            self._pending += rows
            if len(self._pending) >= PARQUET_ROW_GROUP:
                self._write_parquet()
            return
        if self.fmt == "jsonl":
            text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            text = self._csv_text(rows)
        # One write per batch: an article's rows reach the file together.
        self._handle.write(text)
        self._handle.flush()

    def _csv_text(self, rows: list[dict]) -> str:
        buffer = io.StringIO()
        header = self._fields is None
        if header:
            self._fields = list(rows[0])
        elif list(rows[0]) != self._fields:
            raise OutputError(f"{self.path}: its columns ({', '.join(self._fields)}) are not the "
                              f"columns of these rows ({', '.join(rows[0])}); write a new file")
        writer = csv.DictWriter(buffer, fieldnames=self._fields)
        if header:
            writer.writeheader()
        writer.writerows({k: _flat(v) for k, v in row.items()} for row in rows)
        return buffer.getvalue()

    def _write_parquet(self) -> None:
        import pyarrow.parquet as pq

        if not self._pending:
            return
        if self._parquet is None:
            table = arrow_table(self._pending)
            self._parquet = pq.ParquetWriter(self.path, table.schema)
        else:
            table = arrow_table(self._pending, self._parquet.schema_arrow)
        self._parquet.write_table(table)
        self._pending = []

    def close(self) -> None:
        if self.fmt == "parquet":
            self._write_parquet()
            if self._parquet is not None:
                self._parquet.close()
            return
        if not self.to_stdout:
            self._handle.close()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_rows(rows: Iterable[dict], path: str | None, fmt: str) -> None:
    """Write ``rows``; ``path`` None or ``-`` means stdout (Parquet needs a file)."""
    rows = list(rows)
    with RowWriter(path, fmt) as writer:
        if fmt == "parquet" and not rows:
            return
        writer.write(rows)
