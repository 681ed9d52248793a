"""Reading articles from files, directories, JSONL, web pages, feeds, CSV exports, URLs and stdin,
reporting every input it skips.

Saved HTML pages (``.html``), RSS/Atom feeds (``.rss``, ``.atom``, ``.xml``), CSV/TSV exports of
news archives and http(s) URLs are read by :mod:`stance.pages`, :mod:`stance.feeds`,
:mod:`stance.tables` and :mod:`stance.fetch`.

A directory may hold a ``metadata.jsonl`` (``file``, ``published``, ``source``, ``title``) as the
seeds do; a file name that starts with an ISO date (``2022-03-16-kyiv.txt``) dates the article.
Directories are scanned recursively; names starting with ``.`` are left out, every other file
of a type not read is reported as skipped, and so is a JSONL file of
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

from stance import fetch as web
from stance.dates import parse_date
from stance.records import Article, ArticleError, Skipped, decode_text

__all__ = ["Article", "ArticleError", "Skipped", "article_from_record", "decode_text", "parse_date",
           "read_inputs", "read_jsonl_text"]

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
TABLE_SUFFIXES = (".csv", ".tsv")
READABLE_SUFFIXES = (*TEXT_SUFFIXES, *JSONL_SUFFIXES, *HTML_SUFFIXES, *FEED_SUFFIXES, *TABLE_SUFFIXES)
READABLE = ".txt, .md, .jsonl, .html, .rss/.atom/.xml feeds and .csv/.tsv"
METADATA_FILE = "metadata.jsonl"
# The first field present names the publication date; feeds and scrapers use all of these.
DATE_FIELDS = ("published", "publish_date", "published_at", "date", "pubDate", "datePublished")
_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HTML_START = re.compile(r"^\s*(<!doctype\s+html|<html[\s>]|<\?xml)", re.IGNORECASE)


@dataclass
class ReadOptions:
    """How web inputs are read: whether URLs (given, or linked from feeds and CSV rows) are
    fetched, within which limits, and which CSV columns hold what (``stance.tables``)."""

    fetch: bool = True
    columns: dict[str, str] = field(default_factory=dict)
    timeout: float = web.TIMEOUT_S
    max_bytes: int = web.MAX_BYTES
    # Tests trust their own certificate authority; None is the default, checking context.
    ssl_context: object = None


def date_from_filename(name: str) -> str | None:
    match = _FILENAME_DATE.match(name)
    return parse_date(match.group(1)) if match else None


def _check_plain_text(text: str) -> None:
    if _HTML_START.match(text):
        raise ArticleError("HTML or XML, not plain text: name the file .html (a page) or .xml "
                           "(a feed) to have its article text extracted")


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
    for name in ("title", "source", "url"):
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
        url=record.get("url") or None,
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
    return Skipped(str(path), f"unsupported {kind}: stance reads {READABLE} (convert DOCX or PDF "
                              "to text first)")


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


def _fetcher(options: ReadOptions):
    if not options.fetch:
        return None
    return lambda url: web.fetch(url, timeout=options.timeout, max_bytes=options.max_bytes,
                             context=options.ssl_context)


def _read_markup(data: bytes, key: str, where: str, options: ReadOptions, url: str | None = None,
                 fetched_at: str | None = None, fallback_date: str | None = None
                 ) -> Iterator[Article | Skipped]:
    """A feed's entries, or an HTML page's article, from the bytes of a file, URL or stdin."""
    from stance.feeds import looks_like_feed, read_feed
    from stance.pages import article_from_html

    if looks_like_feed(data):
        yield from read_feed(data, where, _fetcher(options))
        return
    try:
        article = article_from_html(data, key, url=url, path=where, fetched_at=fetched_at)
    except ArticleError as exc:
        yield Skipped(where, str(exc))
        return
    if article.published is None and fallback_date:
        article.published, article.date_source = fallback_date, "file name"
    yield article


def _read_markup_file(path: Path, options: ReadOptions) -> Iterator[Article | Skipped]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")
        return
    if not data.strip():
        yield Skipped(str(path), "empty file")
        return
    from stance.feeds import looks_like_feed

    if path.suffix.lower() in FEED_SUFFIXES and not looks_like_feed(data):
        yield Skipped(str(path), "not an RSS or Atom feed (its root element is not rss, feed or "
                                 "rdf:RDF)")
        return
    yield from _read_markup(data, path.stem, str(path), options,
                            fallback_date=date_from_filename(path.name))


def _read_url(url: str, options: ReadOptions) -> Iterator[Article | Skipped]:
    fetcher = _fetcher(options)
    if fetcher is None:
        yield Skipped(url, "a URL, and fetching is off (--no-fetch)")
        return
    try:
        page = fetcher(url)
    except web.FetchError as exc:
        yield Skipped(url, str(exc))
        return
    if page.content_type in web.TEXT_TYPES:
        try:
            text = decode_text(page.body)
        except ArticleError as exc:
            yield Skipped(url, str(exc))
            return
        yield Article(id=url, text=text, path=url, url=page.url, fetched_at=page.fetched_at,
                      text_source="page")
        return
    yield from _read_markup(page.body, url, url, options, url=page.url, fetched_at=page.fetched_at)


def _read_file(path: Path, metadata: dict[str, dict], options: ReadOptions
               ) -> Iterator[Article | Skipped]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl_file(path)
    elif suffix in TEXT_SUFFIXES or not suffix:
        try:
            yield _read_text_file(path, metadata)
        except ArticleError as exc:
            yield Skipped(str(path), str(exc))
    elif suffix in HTML_SUFFIXES or suffix in FEED_SUFFIXES:
        yield from _read_markup_file(path, options)
    elif suffix in TABLE_SUFFIXES:
        from stance.tables import read_table

        yield from read_table(path, options.columns, _fetcher(options))
    else:
        yield _unsupported(path)


def _read_directory(path: Path, options: ReadOptions) -> Iterator[Article | Skipped]:
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
        if file.suffix.lower() in READABLE_SUFFIXES:
            found = True
            yield from _read_file(file, metadata[file.parent], options)
        else:
            yield _unsupported(file)
    if not found:
        yield Skipped(str(path), f"directory holds no {READABLE} files")


def _read_path(raw: str, options: ReadOptions) -> Iterator[Article | Skipped]:
    if _URL.match(raw):
        if raw.lower().startswith(("http://", "https://")):
            yield from _read_url(raw, options)
        else:
            yield Skipped(raw, "a URL that is not http or https")
        return
    path = Path(raw)
    if path.is_dir():
        yield from _read_directory(path, options)
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
    yield from _read_file(path, metadata, options)


def _read_stdin(stdin, options: ReadOptions) -> Iterator[Article | Skipped]:
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
    if _HTML_START.match(text):
        yield from _read_markup(data, "stdin", "stdin", options)
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


def read_inputs(paths: Iterable[str], stdin=None, options: ReadOptions | None = None
                ) -> Iterator[Article | Skipped]:
    """Yield each article found under ``paths`` (``-`` reads stdin), or why an input was skipped.

    Stdin holds JSONL articles when its first non-blank character is ``{``, an HTML page or a
    feed when it starts like one, else one plain-text article with the id ``stdin``. Article ids
    are unique: repeats get ``#2``, ``#3``…
    """
    options = options or ReadOptions()

    def items():
        for raw in paths:
            yield from _read_stdin(stdin, options) if raw == "-" else _read_path(raw, options)

    return unique_ids(items())
