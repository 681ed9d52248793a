"""Articles from an RSS or Atom feed (feedparser): one per entry.

An entry's text is its linked page when that can be fetched and read; otherwise the entry's own
full content (``content:encoded``) or summary, with a warning saying so, since a summary is a
teaser of a few sentences rather than the article. The entry's date is preferred to the page's:
the feed states when the item was published, a page may only show when it was updated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator

from stance.fetch import Fetched, FetchError
from stance.pages import article_from_html
from stance.records import Article, ArticleError, Skipped

_FEED_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)[\s>]",
                         re.DOTALL)
_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")

Fetcher = Callable[[str], Fetched]


def looks_like_feed(data: bytes) -> bool:
    """An RSS, Atom or RSS 1.0 (RDF) document, judged by its root element."""
    return bool(_FEED_START.match(data[:4096].lstrip(b"\xef\xbb\xbf")))


def html_fragment_text(fragment: str) -> str:
    """The text of an HTML fragment (a feed summary), one block element per line."""
    import lxml.html

    if "<" not in fragment:
        return fragment.strip()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return ""
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = "\n" + (element.tail or "")
    return "\n".join(line.strip() for line in root.text_content().splitlines() if line.strip())


def _entry_date(entry) -> str | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat()
            except ValueError:
                continue
    return None


def _fallback_text(entry) -> tuple[str, str]:
    for content in entry.get("content") or ():
        text = html_fragment_text(content.get("value") or "")
        if text:
            return text, "feed content"
    return html_fragment_text(entry.get("summary") or ""), "feed summary"


def _entry_article(entry, key: str, where: str, feed_title: str | None,
                   fetcher: Fetcher | None) -> Article:
    link = entry.get("link")
    # feedparser turns an RSS guid into the link when there is none; only a web address is one.
    if link and not link.lower().startswith(("http://", "https://")):
        link = None
    published = _entry_date(entry)
    why_not = "fetching is off (--no-fetch)" if fetcher is None else "the entry has no link"
    if fetcher is not None and link:
        try:
            page = fetcher(link)
            article = article_from_html(page.body, key, url=page.url, path=where,
                                        fetched_at=page.fetched_at)
        except (FetchError, ArticleError) as exc:
            why_not = str(exc)
        else:
            article.title = entry.get("title") or article.title
            if published:
                article.published, article.date_source = published, "feed entry"
            return article
    text, text_source = _fallback_text(entry)
    if not text:
        raise ArticleError(f"linked page not read ({why_not}) and the entry has no summary")
    return Article(id=key, text=text, published=published, title=entry.get("title"),
                   source=feed_title, path=where, url=link,
                   date_source="feed entry" if published else None, text_source=text_source,
                   warnings=[f"linked page not read ({why_not}): scored the {text_source}"])


def read_feed(data: bytes, where: str, fetcher: Fetcher | None = None) -> Iterator[Article | Skipped]:
    """Each entry of the feed in ``data`` as an article, or skipped with the reason."""
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.entries:
        problem = f": {parsed.get('bozo_exception')}" if parsed.get("bozo") else ""
        yield Skipped(where, f"a feed without entries{problem}")
        return
    feed_title = parsed.feed.get("title")
    for number, entry in enumerate(parsed.entries, start=1):
        entry_where = f"{where}#{number}"
        key = entry.get("id") or entry.get("link") or entry_where
        try:
            yield _entry_article(entry, key, entry_where, feed_title, fetcher)
        except ArticleError as exc:
            yield Skipped(key, str(exc))
