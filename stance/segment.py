"""Sentence segmentation for news articles.

pysbd does the sentence boundary work; on top of it this module adds what news text needs:
paragraphs and headlines as their own sentences, quotes kept with their attribution, character
offsets into the original article, and recognition of page furniture (app banners, "Related
Articles", comment forms) so it never counts as stance.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

import pysbd

from stance import deadline

_FURNITURE = re.compile(
    r"""^(?:
        click\ here\b.* | tap\ here\b.* | download\ (?:the|our)\ .*app.* |
        (?:show|read|see|load)\ more\b.{0,30} |
        # A teaser headline after "Read also" is another article's text, whatever its length.
        read\ also\b.* | also\ read\b.* | (?:read|see)\ (?:more|also)\s*[:|–—-].* |
        related(?:\ (?:articles?|sources?|stories|posts|news|content|coverage|reading))?:? |
        more\ (?:on\ this\ story|stories|from\ .{1,40}):? | most\ (?:read|popular|viewed):? |
        trending(?:\ now)?:? | recommended(?:\ for\ you)?:? | you\ may\ also\ like:? |
        leave\ a\ (?:reply|comment)\b.* | comments?(?:\ \(\d+\))?:? | \d+\ comments? |
        your\ email\ address\ will\ not\ be\ published.* | required\ fields\ are\ marked.* |
        back\ to\ top(?:\ button)? | share\ (?:this|on)\b.{0,40} | follow\ us\b.{0,60} |
        (?:sign\ up|subscribe)\b.{0,80} | advertisement | sponsored(?:\ content)? |
        (?:image|photo|picture|video)(?:\ (?:by|credit|source))?\ ?[-:–].{0,100} |
        (?:image|photo)\ by\b.{0,100} |
        (?:copyright|©).{0,100} | all\ rights\ reserved.{0,40} |
        (?:tags?|filed\ under|topics?):.{0,120} |
        # Breadcrumbs: "Home › World › Europe", "News / World", "Home | Archive | Contact".
        home\s*[›»>/|].{0,120} | [^.!?›»>]{1,40}(?:\s*[›»>]\s*[^.!?›»>]{1,40}){2,} |
        [^.!?|]{1,30}(?:\s+\|\s+[^.!?|]{1,30}){2,} |
        # Share bars: only the names of networks and share actions.
        (?:(?:share|tweet|facebook|twitter|x|whatsapp|telegram|linkedin|e-?mail|print|copy\ link|
           copy|reddit|pinterest|messenger|viber|vk|flipboard|bluesky|threads|pocket)\b[\s,·•|/:]*)+ |
        # A live blog's bare timestamps, and lines without a letter or digit ("|", "* * *").
        (?:updated\ )?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s+[a-z]{2,4})? | [^\w]+
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Headers after which a run of short, unpunctuated lines is a list of links, not article text.
_LINK_LIST_HEADER = re.compile(
    r"^(?:read|see)\ more|^related|^more\ (?:stories|from)|^most\ (?:read|popular)|^recommended"
    r"|^you\ may\ also\ like|^trending",
    re.IGNORECASE | re.VERBOSE,
)
# A menu saved with a page: this many consecutive lines of at most _MENU_WORDS words, none ending
# like a sentence. A headline is one such line, not three in a row.
_MENU_RUN = 3
_MENU_WORDS = 3
_QUOTE_OPEN = "“\""
_SENTENCE_END = re.compile(r"[.!?…]['\"’”)]*$")
# The longest text pysbd is given at once (see _windows), and where a longer paragraph may be cut:
# after a sentence end that follows a lower-case word ("Mr." or "U.S." do not qualify), before a
# capital.
_WINDOW_CHARS = 1_000
_SAFE_CUT = re.compile(r"(?<=[a-z]{3}[.!?])[\"'’”)]*\s+(?=[“\"‘(]?[A-Z])")


@dataclass(frozen=True)
class Sentence:
    """A span of an article: ``text == article[start:end]``."""

    index: int
    start: int
    end: int
    text: str
    furniture: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def is_furniture(line: str) -> bool:
    """True for navigation, promotion and comment-form lines that carry no article content."""
    return bool(_FURNITURE.match(line.strip()))


# pysbd builds its patterns at run time (one per abbreviation and rule, about 4,000 on news text)
# and leaves them to the `re` module's cache of 512: past it, every paragraph recompiles most of
# them, which was 60% of segmentation's time. A larger cache keeps them; the sentences are the same.
_RE_CACHE_SIZE = 8192


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    if getattr(re, "_MAXCACHE", _RE_CACHE_SIZE) < _RE_CACHE_SIZE:
        re._MAXCACHE = _RE_CACHE_SIZE  # a CPython implementation detail; without it, only slower
    return pysbd.Segmenter(language="en", clean=False)


def _windows(line: str) -> list[tuple[int, int]]:
    """Consecutive spans of ``line``, each at most _WINDOW_CHARS long, cut after a likely sentence end.

    pysbd rescans its whole input once per abbreviation it meets, so its time grows with the
    square of its input; fed bounded windows, a paragraph costs time linear in its length. Lines
    that fit one window (every real paragraph we have seen) are segmented exactly as before.
    """
    windows, pos = [], 0
    while len(line) - pos > _WINDOW_CHARS:
        low, limit = pos + _WINDOW_CHARS // 2, pos + _WINDOW_CHARS
        cut = None
        for match in _SAFE_CUT.finditer(line, low, limit):
            cut = match.end()
        if cut is None:
            space = max(line.rfind(" ", low, limit), line.rfind("\n", low, limit))
            cut = space + 1 if space >= 0 else limit
        windows.append((pos, cut))
        pos = cut
    windows.append((pos, len(line)))
    return windows


def _sentence_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of one paragraph, as offsets into ``line``."""
    spans: list[tuple[int, int]] = []
    last_piece = ""
    for w_start, w_end in _windows(line):
        deadline.check()  # a window is at most a few milliseconds of work
        window = line[w_start:w_end]
        cursor = 0
        for raw in _segmenter().segment(window):
            piece = raw.strip()
            if not piece:
                continue
            first = window.find(piece, cursor)
            if first < 0:
                # pysbd altered the text: the rest of the window becomes one sentence.
                rest = window[cursor:]
                if not rest.strip():
                    break
                first = cursor + len(rest) - len(rest.lstrip())
                piece = rest.strip()
            cursor = first + len(piece)
            span = (w_start + first, w_start + cursor)
            # pysbd sometimes splits `“…,” he said` or `…?” asked Lavrov` after the closing quote;
            # the attribution belongs with its quote (LABELLING.md rule 4). Only the end of the
            # previous sentence matters, so the test reads its last piece, not the merged text.
            if spans and _continues_previous(last_piece, piece):
                spans[-1] = (spans[-1][0], span[1])
            else:
                spans.append(span)
            last_piece = piece
    return spans


def _continues_previous(previous: str, piece: str) -> bool:
    if previous.endswith((",”", ",\"", ",’", "—", "–", ":")):
        return True
    # A stray closing quote, or a fragment starting in lower case, is the tail of a cut sentence.
    if not any(ch.isalnum() for ch in piece):
        return True
    return piece[0].islower() and not _SENTENCE_END.search(previous)


def _menu_lines(text: str) -> set[int]:
    """Numbers of the lines in runs of _MENU_RUN or more short lines that are not sentences."""
    menu: set[int] = set()
    run: list[int] = []
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if not stripped:
            continue  # blank lines between menu items do not end the run
        if len(stripped.split()) <= _MENU_WORDS and not _SENTENCE_END.search(stripped):
            run.append(number)
            continue
        if len(run) >= _MENU_RUN:
            menu.update(run)
        run = []
    if len(run) >= _MENU_RUN:
        menu.update(run)
    return menu


def segment(text: str, masthead: str | None = None) -> list[Sentence]:
    """Split an article into sentences with character offsets into ``text``.

    Each line is a paragraph; a one-line paragraph (headline, subheading, furniture) is a
    sentence of its own. ``masthead`` is the publication's name: a line holding only that name
    is furniture.
    """
    masthead_key = masthead.strip().casefold() if masthead else None
    menu = _menu_lines(text)
    sentences: list[Sentence] = []
    in_link_list = False
    pos = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        line_start = pos
        pos += len(line)
        stripped = line.strip()
        if not stripped:
            continue
        if (
            number in menu
            or is_furniture(stripped)
            or stripped.casefold() == masthead_key
            or (in_link_list and not _SENTENCE_END.search(stripped))
        ):
            start = line_start + line.index(stripped)
            sentences.append(Sentence(len(sentences), start, start + len(stripped), stripped, True))
            in_link_list = in_link_list or bool(_LINK_LIST_HEADER.match(stripped))
            continue
        in_link_list = False
        for first, end in _sentence_spans(line):
            start, stop = line_start + first, line_start + end
            sentences.append(Sentence(len(sentences), start, stop, text[start:stop]))
    return sentences
