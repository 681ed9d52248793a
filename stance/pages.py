"""An article from a saved or downloaded HTML page: main text, title, date, site, canonical URL.

trafilatura finds the main text and the metadata; the settings were chosen on the hand-made
pages in ``tests/fixtures/web`` (navigation, ads, comments, a dateline, a table layout, a live
blog):

- ``include_tables=False``: a page laid out with tables then keeps its paragraphs one per line;
  with tables on, each table row became one line of ``|``-separated cells, menu and body merged.
- ``include_comments=False``: readers' comments are not the article's stance.
- neither ``favor_precision`` (it can drop a table-layout page's text) nor ``deduplicate`` (its
  cache is process-wide: a page read twice in one process comes back empty the second time).

The publication date comes from the page's metadata first (meta tags, JSON-LD, ``<time>``,
the URL); only when there is none does htmldate search the text, and a bare first of January
that a copyright line explains ("Copyright 2005-2025") is not taken for a date.
"""

from __future__ import annotations

import re

from stance.records import Article, ArticleError

_COPYRIGHT_YEARS = re.compile(r"(?:copyright|\(c\)|©)[^<\n]{0,40}?(\d{4})(?:\s*[-–]\s*(\d{4}))?",
                              re.IGNORECASE)


def _copyright_years(html: str) -> set[str]:
    years = set()
    for match in _COPYRIGHT_YEARS.finditer(html):
        years.update(year for year in match.groups() if year)
    return years


def _text_date(data: bytes | str, url: str | None) -> str | None:
    """htmldate's full search of the page, unless all it found is a copyright year."""
    from htmldate import find_date

    found = find_date(data, extensive_search=True, original_date=True, url=url)
    if not found:
        return None
    if found.endswith("-01-01"):
        html = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if found[:4] in _copyright_years(html):
            return None
    return found


def page_date(data: bytes | str, url: str | None = None, metadata_date: str | None = None
              ) -> tuple[str | None, str | None]:
    """(date, where it came from): page metadata, else the page text, else (None, None)."""
    if metadata_date:
        return metadata_date, "page metadata"
    found = _text_date(data, url)
    return (found, "page text") if found else (None, None)


def _lines(text: str) -> str:
    # trafilatura writes one paragraph per line; blank lines would only add empty paragraphs.
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def article_from_html(data: bytes | str, key: str, *, url: str | None = None, path: str | None = None,
                      fetched_at: str | None = None) -> Article:
    """Extract the article of one HTML page; ArticleError when the page has no main text.

    ``key`` is the article id when the page names no canonical URL; ``url`` is where it was
    downloaded from (its own canonical link wins).
    """
    import trafilatura

    try:
        document = trafilatura.bare_extraction(
            data, url=url, with_metadata=True, include_comments=False, include_tables=False,
            favor_precision=False, deduplicate=False,
            date_extraction_params={"extensive_search": False, "original_date": True})
    except (ValueError, TypeError) as exc:  # lxml on malformed markup
        raise ArticleError(f"not a readable HTML page: {exc}") from exc
    text = _lines(document.text or "") if document is not None else ""
    if not text:
        raise ArticleError("no article text found in the page")
    published, date_source = page_date(data, url, document.date)
    canonical = document.url or url
    return Article(
        id=key,
        text=text,
        published=published,
        title=document.title or None,
        source=document.sitename or document.hostname or None,
        path=path,
        url=canonical,
        date_source=date_source,
        text_source="page",
        fetched_at=fetched_at,
    )
