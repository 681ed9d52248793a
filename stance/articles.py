"""Reading articles from files, directories, JSONL and stdin, reporting every input it skips.

A directory may hold a ``metadata.jsonl`` (``file``, ``published``, ``source``, ``title``) as the
seeds do; a file name that starts with an ISO date (``2022-03-16-kyiv.txt``) dates the article.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.jsonl"
# A text document has few control characters; a higher share means a binary file.
_MAX_CONTROL_SHARE = 0.01
_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


@dataclass
class Article:
    id: str
    text: str
    published: str | None = None
    title: str | None = None
    source: str | None = None


@dataclass
class Skipped:
    """An input that could not be read as an article, and why."""

    id: str
    reason: str


class ArticleError(ValueError):
    """The input is not a usable article; the message says why."""


def parse_date(value: object) -> str | None:
    """Normalise a publication date to ``YYYY-MM-DD``; ``None`` when absent or unparseable."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def date_from_filename(name: str) -> str | None:
    match = _FILENAME_DATE.match(name)
    return parse_date(match.group(1)) if match else None


def decode_text(data: bytes) -> str:
    """Decode article bytes, rejecting what is not UTF-8 text with a reason."""
    if not data.strip():
        raise ArticleError("empty file")
    if b"\x00" in data:
        raise ArticleError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not valid UTF-8 (byte {exc.start})") from exc
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise ArticleError("binary file (control characters)")
    return text


def article_from_record(record: object, where: str) -> Article:
    """Build an article from one JSON object (a JSONL line or an HTTP body)."""
    if not isinstance(record, dict):
        raise ArticleError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        raise ArticleError(f"{where}: field 'text' must be a string")
    if not text.strip():
        raise ArticleError(f"{where}: field 'text' is empty")
    article_id = record.get("id", where)
    if not isinstance(article_id, (str, int)):
        raise ArticleError(f"{where}: field 'id' must be a string")
    for field in ("title", "source"):
        if record.get(field) is not None and not isinstance(record[field], str):
            raise ArticleError(f"{where}: field '{field}' must be a string")
    published = record.get("published")
    if published is not None and parse_date(published) is None:
        raise ArticleError(f"{where}: field 'published' is not an ISO date: {published!r}")
    return Article(
        id=str(article_id),
        text=text,
        published=parse_date(published),
        title=record.get("title"),
        source=record.get("source"),
    )


def _directory_metadata(directory: Path) -> dict[str, dict]:
    path = directory / METADATA_FILE
    if not path.is_file():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            entries[entry["file"]] = entry
    return entries


def _read_text_file(path: Path, metadata: dict[str, dict]) -> Article:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"unreadable: {exc.strerror or exc}") from exc
    text = decode_text(data)
    meta = metadata.get(path.name, {})
    source = meta.get("source")
    return Article(
        id=path.stem,
        text=text,
        published=parse_date(meta.get("published")) or date_from_filename(path.name),
        title=meta.get("title"),
        source=None if source in (None, "unknown") else source,
    )


def _read_jsonl(lines: Iterable[str], name: str) -> Iterator[Article | Skipped]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skipped(where, f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            article = article_from_record(record, where)
        except ArticleError as exc:
            yield Skipped(str(record.get("id", where)) if isinstance(record, dict) else where,
                          str(exc))
            continue
        yield article


def _read_path(path: Path) -> Iterator[Article | Skipped]:
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and (p.suffix.lower() in TEXT_SUFFIXES or p.suffix.lower() == ".jsonl")
            and p.name != METADATA_FILE
        )
        if not files:
            yield Skipped(str(path), "directory holds no .txt, .md or .jsonl files")
        for file in files:
            yield from _read_path(file)
        return
    if not path.exists():
        yield Skipped(str(path), "no such file or directory")
        return
    if path.suffix.lower() == ".jsonl":
        try:
            text = decode_text(path.read_bytes())
        except (ArticleError, OSError) as exc:
            yield Skipped(str(path), str(exc))
            return
        yield from _read_jsonl(text.splitlines(), path.name)
        return
    try:
        yield _read_text_file(path, _directory_metadata(path.parent))
    except ArticleError as exc:
        yield Skipped(str(path), str(exc))


def read_inputs(paths: Iterable[str], stdin=None) -> Iterator[Article | Skipped]:
    """Yield each article found under ``paths`` (``-`` reads stdin), or why an input was skipped.

    Stdin holds JSONL articles when its first non-blank character is ``{``, else one plain-text
    article with the id ``stdin``.
    """
    for raw in paths:
        if raw == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read()
            if isinstance(data, str):
                data = data.encode("utf-8")
            try:
                text = decode_text(data)
            except ArticleError as exc:
                yield Skipped("stdin", str(exc))
                continue
            if text.lstrip().startswith("{"):
                yield from _read_jsonl(text.splitlines(), "stdin")
            else:
                yield Article(id="stdin", text=text)
            continue
        yield from _read_path(Path(raw))
