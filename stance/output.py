"""Writing row tables as JSONL, CSV or Parquet, to a file or stdout."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path

FORMATS = ("jsonl", "csv", "parquet")


def infer_format(path: str | None, requested: str | None, default: str = "jsonl") -> str:
    if requested:
        return requested
    if path and path != "-":
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
        if suffix == "json":
            return "jsonl"
    return default


def _flat(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_rows(rows: Iterable[dict], path: str | None, fmt: str) -> None:
    """Write ``rows``; ``path`` None or ``-`` means stdout (Parquet needs a file)."""
    rows = list(rows)
    to_stdout = path in (None, "-")
    if fmt == "parquet":
        if to_stdout:
            raise ValueError("parquet output needs a file: pass -o FILE.parquet")
        import pyarrow as pa
        import pyarrow.parquet as pq

        flat = [{k: _flat(v) for k, v in row.items()} for row in rows]
        pq.write_table(pa.Table.from_pylist(flat), path)
        return
    handle = sys.stdout if to_stdout else open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    try:
        if fmt == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            if rows:
                buffer = io.StringIO()
                writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows({k: _flat(v) for k, v in row.items()} for row in rows)
                handle.write(buffer.getvalue())
        else:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    finally:
        if not to_stdout:
            handle.close()
