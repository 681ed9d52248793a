"""``stance score --resume``: which articles an interrupted run finished, and cutting the rest.

Rows are written in input order, an article's rows together and its summary row after them, so
whatever a killed run left is a prefix of the finished output. Resuming keeps the articles whose
rows are certainly complete, cuts everything after them (a half-written line, the rows of the
article that was being written), and the run then scores only the inputs not kept. The last
article found in the sentence file is always cut and scored again: nothing in a row says whether
more rows of that article were still to come.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from stance.output import OutputError


def _complete_text(path: Path) -> str:
    """The file's text up to its last newline: a line without one was cut off mid-write."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    return text[:text.rfind("\n") + 1]


def read_rows(path: Path, fmt: str) -> tuple[list[dict], list[str] | None]:
    """The complete rows of a JSONL or CSV file (and a CSV file's header)."""
    if not path.is_file():
        return [], None
    text = _complete_text(path)
    if fmt == "jsonl":
        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                break  # not something this program wrote whole: nothing after it is trusted
            if not isinstance(row, dict) or "article_id" not in row:
                break
            rows.append(row)
        return rows, None
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            rows = [row for row in reader if None not in row and None not in row.values()]
        except csv.Error as exc:
            raise OutputError(f"{path}: not a CSV file this program wrote: {exc}") from exc
        if reader.fieldnames and "article_id" not in reader.fieldnames:
            raise OutputError(f"{path}: has no article_id column; is it a `stance score` output?")
        return rows, list(reader.fieldnames or [])
    raise OutputError("--resume needs JSONL or CSV output: a Parquet file cannot be appended to")


def _rewrite(path: Path, fmt: str, rows: list[dict], header: list[str] | None) -> None:
    """Replace ``path`` by ``rows`` (in the text they were read from) in one rename."""
    temporary = path.with_name(f".{path.name}.resume")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "jsonl":
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        elif rows or header:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    os.replace(temporary, path)


def completed(output: str, fmt: str, summary: str | None = None,
              summary_fmt: str | None = None) -> set[str]:
    """Ids of the inputs finished in ``output`` (and ``summary``); cut both files back to them."""
    output_path = Path(output)
    rows, header = read_rows(output_path, fmt)
    ids = list(dict.fromkeys(row["article_id"] for row in rows))
    done = set(ids[:-1])
    if summary:
        summary_path = Path(summary)
        summary_rows, summary_header = read_rows(summary_path, summary_fmt)
        kept = []
        for row in summary_rows:
            if row.get("status") == "scored" and row["article_id"] not in done:
                break
            kept.append(row)
        done = {row["article_id"] for row in kept}
        if summary_path.is_file():
            _rewrite(summary_path, summary_fmt, kept, summary_header)
    if output_path.is_file():
        _rewrite(output_path, fmt, [row for row in rows if row["article_id"] in done], header)
    return done
