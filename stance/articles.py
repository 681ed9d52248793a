"""Reading articles from files, directories, JSONL and stdin, reporting every input it skips.

A directory may hold a ``metadata.jsonl`` (``file``, ``published``, ``source``, ``title``) as the
seeds do; a file name that starts with an ISO date (``2022-03-16-kyiv.txt``) dates the article.
Directories are scanned recursively; names starting with ``.`` are left out, every other file
that is not ``.txt``, ``.md`` or ``.jsonl`` is reported as skipped, and so is a JSONL file of
labelled sentences (rows with a ``label`` and no ``id``, such as ``seeds/dataset/*.jsonl``).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stance.dates import parse_date

__all__ = ["Article", "ArticleError", "Skipped", "article_from_record", "decode_text", "parse_date",
           "read_inputs", "read_jsonl_text"]

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
METADATA_FILE = "metadata.jsonl"
# The first field present names the publication date; feeds and scrapers use all of these.
DATE_FIELDS = ("published", "publish_date", "published_at", "date", "pubDate", "datePublished")
# A text document has few control characters; a higher share means a binary file.
_MAX_CONTROL_SHARE = 0.01
_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HTML_START = re.compile(r"^\s*(<!doctype\s+html|<html[\s>]|<\?xml)", re.IGNORECASE)
# Byte-order marks of the encodings decoded without guessing; UTF-32 first, its LE mark starts
# with UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


@dataclass
class Article:
    id: str
    text: str
    published: str | None = None
    title: str | None = None
    source: str | None = None
    # Where it was read from: a file, ``file.jsonl:3``, ``stdin``; None for HTTP bodies.
    path: str | None = None
    # Problems that did not stop it being scored (an unreadable date, a renamed duplicate id).
    warnings: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    """An input that could not be read as an article, and why."""

    id: str
    reason: str


class ArticleError(ValueError):
    """The input is not a usable article; the message says why."""


def date_from_filename(name: str) -> str | None:
    match = _FILENAME_DATE.match(name)
    return parse_date(match.group(1)) if match else None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16/32 text saved without a byte-order mark, which charset-normalizer recognises."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    if best is None or not best.encoding.startswith(("utf_16", "utf_32")):
        return None
    try:
        return data.decode(best.encoding.replace("_", "-"))
    except UnicodeDecodeError:
        return None


def _encoding_hint(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    if best is None:
        return ""
    return f"; it may be {best.encoding}: convert it with `iconv -f {best.encoding} -t utf-8`"


def decode_text(data: bytes) -> str:
    """Decode article bytes (UTF-8, or UTF-16/32), rejecting what is not text with a reason.

    Legacy 8-bit encodings are rejected rather than guessed: on a few sentences a guess picks the
    wrong code page as often as not, and mis-decoded text would be scored without a word.
    """
    if not data.strip():
        raise ArticleError("empty file")
    text = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ArticleError(f"not valid {encoding.upper()} (byte {exc.start})") from exc
            break
    if text is None and b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise ArticleError("binary file (contains NUL bytes)")
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArticleError(f"not valid UTF-8 (byte {exc.start}){_encoding_hint(data)}") from exc
    if not text.strip():
        raise ArticleError("empty file")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise ArticleError("binary file (control characters)")
    return text


def _check_plain_text(text: str) -> None:
    if _HTML_START.match(text):
        raise ArticleError("HTML or XML, not plain text: extract the article text first "
                           "(stance reads .txt, .md and .jsonl)")


def _date_field(record: dict) -> tuple[str | None, object]:
    for name in DATE_FIELDS:
        if record.get(name) not in (None, ""):
            return name, record[name]
    return None, None


def article_from_record(record: object, where: str, strict_dates: bool = True) -> Article:
    """Build an article from one JSON object (a JSONL line or an HTTP body).

    An unreadable date is an error when ``strict_dates`` (HTTP: the caller can fix the request),
    else a warning and an undated article (a batch keeps going).
    """
    if not isinstance(record, dict):
        raise ArticleError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str):
        raise ArticleError(f"{where}: field 'text' must be a string")
    if not text.strip():
        raise ArticleError(f"{where}: field 'text' is empty")
    article_id = record.get("id", where)
    if not isinstance(article_id, (str, int)) or isinstance(article_id, bool):
        raise ArticleError(f"{where}: field 'id' must be a string")
    for name in ("title", "source"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise ArticleError(f"{where}: field '{name}' must be a string")
    date_name, raw_date = _date_field(record)
    published = parse_date(raw_date)
    warnings = []
    if raw_date is not None and published is None:
        message = (f"field '{date_name}' is not a date: {raw_date!r} (use ISO 8601 such as "
                   "2023-07-11, RFC 2822 or epoch seconds)")
        if strict_dates:
            raise ArticleError(f"{where}: {message}")
        warnings.append(f"{message}; scored as undated")
    return Article(
        id=str(article_id),
        text=text,
        published=published,
        title=record.get("title"),
        source=record.get("source"),
        warnings=warnings,
    )


def _json_line(line: str):
    """``json.loads`` that turns every way a line can be unreadable into ValueError."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc.msg} (column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        # Python's limits: integers of more than 4,300 digits, nesting deeper than the stack.
        raise ValueError(f"malformed JSON: {str(exc).split(';')[0] or type(exc).__name__}") from exc


def _directory_metadata(directory: Path) -> tuple[dict[str, dict], list[Skipped]]:
    """The directory's metadata entries by file name, and every line that could not be used."""
    path = directory / METADATA_FILE
    if not path.is_file():
        return {}, []
    try:
        text = decode_text(path.read_bytes())
    except (ArticleError, OSError) as exc:
        return {}, [Skipped(str(path), f"metadata not read: {exc}")]
    entries, problems = {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            entry = _json_line(line)
        except ValueError as exc:
            problems.append(Skipped(where, f"metadata line not used: {exc}"))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            problems.append(Skipped(where, "metadata line not used: needs a string field 'file'"))
            continue
        entries[entry["file"]] = entry
    return entries, problems


def _read_text_file(path: Path, metadata: dict[str, dict]) -> Article:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"unreadable: {exc.strerror or exc}") from exc
    text = decode_text(data)
    _check_plain_text(text)
    meta = metadata.get(path.name, {})
    source = meta.get("source")
    warnings = []
    published = parse_date(meta.get("published"))
    if meta.get("published") not in (None, "") and published is None:
        warnings.append(f"{METADATA_FILE}: 'published' is not a date: {meta['published']!r}")
    return Article(
        id=path.stem,
        text=text,
        published=published or date_from_filename(path.name),
        title=meta.get("title") if isinstance(meta.get("title"), str) else None,
        source=None if source in (None, "unknown") or not isinstance(source, str) else source,
        path=str(path),
        warnings=warnings,
    )


def _labelled_sentences(record: object) -> bool:
    """A dataset row (``stance eval`` input), not an article: a ``label`` and no ``id``."""
    return isinstance(record, dict) and "label" in record and "id" not in record


def _read_jsonl(lines: Iterable[str], name: str, whole_file: str | None = None
                ) -> Iterator[Article | Skipped]:
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = _json_line(line)
        except ValueError as exc:
            yield Skipped(where, str(exc))
            continue
        if first and whole_file and _labelled_sentences(record):
            yield Skipped(whole_file, "labelled sentences (rows with 'label' and no 'id'), not "
                                      "articles: evaluate them with `stance eval --data`")
            return
        first = False
        try:
            article = article_from_record(record, where, strict_dates=False)
        except ArticleError as exc:
            yield Skipped(str(record.get("id", where)) if isinstance(record, dict) else where,
                          str(exc))
            continue
        article.path = where
        yield article


def read_jsonl_text(text: str, path: str) -> Iterator[Article | Skipped]:
    """The articles of a JSONL file's decoded text, read as `stance score` reads the file ``path``
    (a local path or a URI: the batch engines read bytes from any filesystem)."""
    return _read_jsonl(text.splitlines(), path.rstrip("/").rsplit("/", 1)[-1], whole_file=path)


def _unsupported(path: Path) -> Skipped:
    kind = f"file type {path.suffix}" if path.suffix else "file without an extension"
    return Skipped(str(path), f"unsupported {kind}: stance reads .txt, .md and .jsonl "
                              "(convert HTML, CSV or DOCX to text first)")


def _walk(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Every file under ``root`` (sorted), following symbolic links once, and what was not readable."""
    files, problems = [], []
    seen = {root.resolve()}

    def visit(directory: Path) -> None:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            problems.append(Skipped(str(directory), f"unreadable directory: {exc.strerror or exc}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                try:
                    target = entry.resolve(strict=True)
                except FileNotFoundError:
                    problems.append(Skipped(str(entry), "dangling symbolic link"))
                    continue
                except (RuntimeError, OSError):  # RuntimeError before Python 3.13
                    problems.append(Skipped(str(entry), "symbolic link loop"))
                    continue
                if target.is_dir():
                    if target in seen:
                        problems.append(Skipped(str(entry), f"symbolic link loop (to {target}, "
                                                            "already scanned)"))
                        continue
                    seen.add(target)
            if entry.is_dir():
                seen.add(entry.resolve())
                visit(entry)
            elif entry.is_file():
                files.append(entry)
            else:
                problems.append(Skipped(str(entry), "not a regular file"))

    visit(root)
    return sorted(files), problems


def _read_jsonl_file(path: Path) -> Iterator[Article | Skipped]:
    try:
        text = decode_text(path.read_bytes())
    except (ArticleError, OSError) as exc:
        yield Skipped(str(path), str(exc))
        return
    yield from _read_jsonl(text.splitlines(), path.name, whole_file=str(path))


def _read_file(path: Path, metadata: dict[str, dict]) -> Iterator[Article | Skipped]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl_file(path)
    elif suffix in TEXT_SUFFIXES or not suffix:
        try:
            yield _read_text_file(path, metadata)
        except ArticleError as exc:
            yield Skipped(str(path), str(exc))
    else:
        yield _unsupported(path)


def _read_directory(path: Path) -> Iterator[Article | Skipped]:
    files, problems = _walk(path)
    yield from problems
    metadata: dict[Path, dict[str, dict]] = {}
    found = False
    for file in files:
        if file.name == METADATA_FILE:
            continue
        if file.parent not in metadata:
            metadata[file.parent], bad_lines = _directory_metadata(file.parent)
            yield from bad_lines
        suffix = file.suffix.lower()
        if suffix in TEXT_SUFFIXES or suffix in JSONL_SUFFIXES:
            found = True
            yield from _read_file(file, metadata[file.parent])
        else:
            yield _unsupported(file)
    if not found:
        yield Skipped(str(path), "directory holds no .txt, .md or .jsonl files")


def _read_path(raw: str) -> Iterator[Article | Skipped]:
    if _URL.match(raw):
        yield Skipped(raw, "a URL: stance does not download pages; save the article text to a "
                           "file first")
        return
    path = Path(raw)
    if path.is_dir():
        yield from _read_directory(path)
        return
    if not path.exists():
        reason = "dangling symbolic link" if path.is_symlink() else "no such file or directory"
        yield Skipped(str(path), reason)
        return
    if path.suffix.lower() in TEXT_SUFFIXES or not path.suffix:
        metadata, bad_lines = _directory_metadata(path.parent)
        yield from bad_lines
    else:
        metadata = {}
    yield from _read_file(path, metadata)


def _read_stdin(stdin) -> Iterator[Article | Skipped]:
    stream = stdin if stdin is not None else sys.stdin.buffer
    data = stream.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        text = decode_text(data)
    except ArticleError as exc:
        yield Skipped("stdin", str(exc))
        return
    if text.lstrip().startswith("{"):
        yield from _read_jsonl(text.splitlines(), "stdin")
        return
    try:
        _check_plain_text(text)
    except ArticleError as exc:
        yield Skipped("stdin", str(exc))
        return
    yield Article(id="stdin", text=text, path="stdin")


def unique_ids(items: Iterable[Article | Skipped]) -> Iterator[Article | Skipped]:
    """Rename repeated article ids (``x``, ``x#2``, ``x#3``) so every output row names one article."""
    first_path: dict[str, str | None] = {}
    used: Counter = Counter()
    for item in items:
        if isinstance(item, Article):
            if item.id in first_path:
                original = item.id
                used[original] += 1
                while f"{original}#{used[original] + 1}" in first_path:
                    used[original] += 1
                item.id = f"{original}#{used[original] + 1}"
                item.warnings.append(f"duplicate article id {original!r} (first from "
                                     f"{first_path[original]}): renamed {item.id!r}")
            first_path[item.id] = item.path
        yield item


def read_inputs(paths: Iterable[str], stdin=None) -> Iterator[Article | Skipped]:
    """Yield each article found under ``paths`` (``-`` reads stdin), or why an input was skipped.

    Stdin holds JSONL articles when its first non-blank character is ``{``, else one plain-text
    article with the id ``stdin``. Article ids are unique: repeats get ``#2``, ``#3``…
    """

    def items():
        for raw in paths:
            yield from _read_stdin(stdin) if raw == "-" else _read_path(raw)

    return unique_ids(items())
