"""Downloading one web page or feed for ``stance score|track|ingest URL``, within fixed limits.

Standard-library ``urllib`` with certificate checks on (the default SSL context), a timeout per
connection and read, a cap on the body size read, a small bound on redirects (http and https
only), a content-type check and a User-Agent that says what is asking. trafilatura's own
fetcher is not used: it refuses loopback addresses (which the tests and local mirrors need) and
retries without certificate checks when a check fails.
"""

from __future__ import annotations

import datetime as dt
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message

from stance import __version__

TIMEOUT_S = 15.0
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = (f"stance/{__version__} (news stance research; reads one page per request, "
              "honours HTTP errors)")
# Pages, feeds, and plain text; anything else (PDF, images, video) is not an article we can read.
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/xml", "text/xml", "application/feed+json")
TEXT_TYPES = ("text/plain",)
ACCEPTED_TYPES = (*HTML_TYPES, *FEED_TYPES, *TEXT_TYPES)
ACCEPT_HEADER = ("text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
                 "application/xml;q=0.9,text/plain;q=0.8")


class FetchError(Exception):
    """A URL that could not be read as a page or feed; the message says why."""


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str | None
    body: bytes
    fetched_at: str  # ISO 8601, UTC


class _BoundedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def http_error_302(self, req, fp, code, msg, headers):
        target = urllib.parse.urljoin(req.full_url, headers.get("location") or headers.get("uri") or "")
        if not target.lower().startswith(("http://", "https://")):
            raise FetchError(f"redirected to {target!r}: only http and https are followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener(context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    # No ProxyHandler override: a configured HTTP(S)_PROXY is honoured as urllib does by default.
    return urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context or ssl.create_default_context()),
        _BoundedRedirects())


def _media_type(header: str | None) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = header or ""
    return message.get_content_type(), message.get_param("charset")


def fetch(url: str, *, timeout: float = TIMEOUT_S, max_bytes: int = MAX_BYTES,
          context: ssl.SSLContext | None = None) -> Fetched:
    """The body of ``url`` (a page, feed or text), or FetchError saying why not.

    ``context`` replaces the default certificate-checking SSL context (tests pass one that
    trusts their own certificate authority; nothing passes one that checks nothing).
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError("only http and https URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT_HEADER})
    try:
        with _opener(context).open(request, timeout=timeout) as response:
            media, charset = _media_type(response.headers.get("Content-Type"))
            if media not in ACCEPTED_TYPES:
                raise FetchError(f"content type {media!r} is not a web page, feed or text")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"larger than the {max_bytes:,}-byte limit ({int(declared):,} bytes)")
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"larger than the {max_bytes:,}-byte limit")
            final = response.geturl()
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects, or a redirect loop") from exc
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise FetchError(f"certificate check failed: {reason.verify_message or reason}") from exc
        raise FetchError(f"cannot connect: {getattr(reason, 'strerror', None) or reason}") from exc
    except TimeoutError as exc:
        raise FetchError(f"timed out after {timeout:g} s") from exc
    except (OSError, ValueError) as exc:  # a reset connection, a malformed URL or response
        raise FetchError(f"cannot read it: {exc}") from exc
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return Fetched(final, media, charset, body, now)
