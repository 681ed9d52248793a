"""Articles from CSV/TSV exports of news archives (Media Cloud, GDELT, others), one per row.

Columns are found by name, case-insensitively, from the names Media Cloud and GDELT exports use
(``publish_date``, ``url``, ``title``, ``media_name``, ``stories_id``; ``SOURCEURL``,
``DATEADDED``, ``DocumentIdentifier``…); ``--columns text=body,published=date,…`` names them for
any other export. Archive exports rarely hold the article text: a row without text is read from
its URL when fetching is on. Which column dated the rows is recorded in ``date_source`` (the CLI
reports it once per file). GDELT's ``DATEADDED`` and ``seendate`` say when GDELT saw the
article, not when it was published, so a fetched page's own date wins over them.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from stance.dates import parse_date
from stance.fetch import Fetched, FetchError
from stance.pages import article_from_html
from stance.records import Article, ArticleError, Skipped

FIELDS = ("text", "published", "id", "url", "title", "source")
# Candidate column names per field, best first (compared case-insensitively).
CANDIDATES = {
    "text": ("text", "body", "content", "full_text", "fulltext", "article_text", "story_text",
             "article"),
    "published": ("publish_date", "published", "published_at", "publication_date", "pubdate",
                  "datepublished", "date", "seendate", "dateadded"),
    "id": ("id", "stories_id", "story_id", "article_id", "guid", "gkgrecordid", "globaleventid"),
    "url": ("url", "link", "canonical_url", "sourceurl", "documentidentifier"),
    "title": ("title", "headline"),
    "source": ("media_name", "source", "sitename", "site", "sourcecommonname", "domain"),
}
# Dates of when an archive saw the article; kept only when nothing better dates the row.
SEEN_DATES = {"dateadded": "when GDELT added it, not the publication date",
              "seendate": "when GDELT first saw it, not the publication date"}
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T?\d{6}Z?)?$")
# Article texts can be far longer than the csv module's default 128 KiB field limit.
_FIELD_LIMIT = 16 * 1024 * 1024

Fetcher = Callable[[str], Fetched]


class ColumnsError(ValueError):
    """A ``--columns`` value that cannot be used."""


def parse_columns(spec: str | None) -> dict[str, str]:
    """``text=body,published=date`` → ``{"text": "body", "published": "date"}``."""
    if not spec:
        return {}
    mapping = {}
    for part in spec.split(","):
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ColumnsError(f"--columns: {part!r} is not FIELD=COLUMN")
        if name not in FIELDS:
            raise ColumnsError(f"--columns: unknown field {name!r}; fields are {', '.join(FIELDS)}")
        mapping[name] = column
    return mapping


def _compact_or_parsed(value: str) -> str | None:
    match = _COMPACT_DATE.match(value.strip())
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            return None
    return parse_date(value)


def find_columns(header: list[str], given: dict[str, str]) -> dict[str, str]:
    """The column feeding each field: ``given`` names first, else the first known name present."""
    by_folded = {name.strip().casefold(): name for name in header}
    chosen = {}
    for field_name in FIELDS:
        if field_name in given:
            if given[field_name] not in header:
                raise ArticleError(f"no column {given[field_name]!r} (--columns {field_name}=…); the "
                                   f"columns are: {', '.join(header)}")
            chosen[field_name] = given[field_name]
            continue
        for candidate in CANDIDATES[field_name]:
            if candidate in by_folded:
                chosen[field_name] = by_folded[candidate]
                break
    if "text" not in chosen and "url" not in chosen:
        raise ArticleError(f"no text or url column (columns: {', '.join(header)}); name them with "
                           "--columns text=COLUMN or url=COLUMN")
    return chosen


def date_source(column: str) -> str:
    caveat = SEEN_DATES.get(column.casefold())
    return f"column {column!r}" + (f" ({caveat})" if caveat else "")


def _row_article(row: dict, columns: dict[str, str], key: str, where: str,
                 fetcher: Fetcher | None) -> Article:
    def value(name: str) -> str | None:
        column = columns.get(name)
        raw = row.get(column) if column else None
        return raw.strip() if isinstance(raw, str) and raw.strip() else None

    url, text = value("url"), value("text")
    raw_date = value("published")
    published = _compact_or_parsed(raw_date) if raw_date else None
    warnings = []
    if raw_date and published is None:
        warnings.append(f"column {columns['published']!r} is not a date: {raw_date!r}; undated")
    seen_only = columns.get("published", "").casefold() in SEEN_DATES
    if text is None:
        if not url:
            raise ArticleError("no text and no url in this row")
        if fetcher is None:
            raise ArticleError(f"no text in this row and fetching is off (--no-fetch): {url}")
        try:
            page = fetcher(url)
            article = article_from_html(page.body, key, url=page.url, path=where,
                                        fetched_at=page.fetched_at)
        except (FetchError, ArticleError) as exc:
            raise ArticleError(f"no text in this row and its url was not read: {exc}") from exc
        if published and not (seen_only and article.published):
            article.published, article.date_source = published, date_source(columns["published"])
        article.title = value("title") or article.title
        article.source = value("source") or article.source
        article.warnings += warnings
        return article
    return Article(id=key, text=text, published=published, title=value("title"),
                   source=value("source"), path=where, url=url,
                   date_source=date_source(columns["published"]) if published else None,
                   warnings=warnings)


def _dialect(sample: str, path: Path) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel


def read_table(path: Path, columns: dict[str, str] | None = None,
               fetcher: Fetcher | None = None) -> Iterator[Article | Skipped]:
    """Each row of a CSV/TSV export as an article (streamed), or skipped with the reason."""
    csv.field_size_limit(min(_FIELD_LIMIT, sys.maxsize))
    number = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(65536)
            handle.seek(0)
            if not sample.strip():
                yield Skipped(str(path), "empty file")
                return
            reader = csv.reader(handle, _dialect(sample, path))
            header = next(reader)
            try:
                chosen = find_columns(header, columns or {})
            except ArticleError as exc:
                yield Skipped(str(path), str(exc))
                return
            for number, cells in enumerate(reader, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                where = f"{path}:{number}"
                if len(cells) != len(header):
                    yield Skipped(where, f"{len(cells)} cells in a row under a {len(header)}-column "
                                         "header")
                    continue
                row = dict(zip(header, cells, strict=True))
                raw_id = row.get(chosen["id"], "").strip() if "id" in chosen else ""
                raw_url = row.get(chosen["url"], "").strip() if "url" in chosen else ""
                key = raw_id or raw_url or f"{path.name}:{number}"
                try:
                    yield _row_article(row, chosen, key, where, fetcher)
                except ArticleError as exc:
                    yield Skipped(where if key == f"{path.name}:{number}" else key, str(exc))
    except UnicodeDecodeError as exc:
        yield Skipped(f"{path}:{number}", f"not valid UTF-8 (byte {exc.start} of a read block); the "
                                          "rest of the file was not read")
    except csv.Error as exc:
        yield Skipped(f"{path}:{number}", f"malformed CSV: {exc}; the rest of the file was not read")
    except OSError as exc:
        yield Skipped(str(path), f"unreadable: {exc.strerror or exc}")
