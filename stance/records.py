"""The records readers produce (an article, or a skipped input with its reason) and decoding bytes.

Every reader (text files, JSONL, HTML pages, feeds, CSV exports, URLs) builds these; they live
apart from :mod:`stance.articles` so the format modules need not import the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A text document has few control characters; a higher share means a binary file.
_MAX_CONTROL_SHARE = 0.01
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
    # The page's canonical URL (or the URL it was downloaded from, or a CSV row's url column).
    url: str | None = None
    # What fed ``published``: "page metadata", "page text", "feed entry", "column 'publish_date'"…
    date_source: str | None = None
    # Where the text came from when not the input itself: "page", "feed summary", "feed content".
    text_source: str | None = None
    fetched_at: str | None = None


@dataclass
class Skipped:
    """An input that could not be read as an article, and why."""

    id: str
    reason: str


class ArticleError(ValueError):
    """The input is not a usable article; the message says why."""


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


