"""Actor attribution: who holds the stance a sentence expresses or reports.

Each sentence gets one of ``ukraine``, ``russia``, ``nato``, ``other`` or ``none``, the surface
name that decided it ("Zelensky", "the Kremlin", "Moscow"), the ``rule`` that gave it, and a
``detail``: the state (ISO 3166-1 alpha-2) or organisation behind the holder (``actor_detail``).
The rules are tried in order and the first that names a holder wins (``RULES`` lists them):

1. ``quote``: the speaker of a quote, after it (``"…," Zelensky said`` / ``"…," said Lavrov``,
   ``X quoted Y as saying``) or as a headline tag (``… – Zelenskyy``, ``Juncker: …``).
2. ``according-to``: ``according to X``, ``in the words of X``.
3. ``reporting-verb``: the subject of a reporting or attitude verb outside quotes (said, told,
   warned, insisted, wants, sees, rejects…), including ``X, Ukraine's president, has said`` and
   the speaker before a quote (``He added, "…"``).
4. ``anaphor``: a pronoun or role noun as that subject ("he", "the minister") resolves to an
   earlier person in the sentence, else the holder of one of the three previous sentences.
5. ``quote-continuation``: a quote with no attribution of its own takes the speaker of the
   multi-sentence quote it belongs to (the attribution may come in a later sentence) or, failing
   that, the speaker of the previous sentence.
6. ``subject``: a named actor at the head of a clause (``Moscow has…``, ``Ukrainian officials…``),
   not a topic (``Ukraine's bid…``) or a passive (``Ukraine was admitted…``).
7. ``possessive``: the holder of an attitude noun (``Putin's demands``, ``Zelensky's remarks``).
8. ``agent``: the agent of a passive participle (``the plan tabled by Kyiv``).
9. ``model``: with the sentences' stance labels, a learned decision (:mod:`stance.actor_model`)
   reads each sentence with its article — the rules' answer, who is subject or object, the
   previous sentences' holders, the quote state, the label — and overrules the rules where the
   article says otherwise (a law whose owner was named before, a poll of Ukrainians, allied
   diplomats); ``rule`` then reads ``model``.

``none`` (no rule applied) and ``furniture`` (page furniture, never a holder) complete the table.
Names come from the editable gazetteer (``stance.gazetteer``: ``data/gazetteer.json`` and the office
list ``data/officeholders.json``); within an article, "Czech PM Petr Fiala" teaches that a later
"Fiala" speaks for NATO (and CZ). Speakers that the gazetteer does not know (a named analyst, a
pollster, a former minister) are ``other``; media outlets that merely report are never holders.
The word lists the rules read (reporting verbs, titles, clause openers…) live in
``data/lexicon.json``. No parser model is needed, so nothing is downloaded.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from itertools import islice

from stance import deadline
from stance.actor_features import article_features
from stance.actor_model import default_actor_model
from stance.gazetteer import MEDIA, Gazetteer, Mention, default_gazetteer

NONE = "none"
_ANAPHOR = "anaphor"
# The word lists the rules read (data, so they can be edited without touching code).
_LEXICON = json.loads(resources.files("stance").joinpath("data/lexicon.json").read_text(encoding="utf-8"))
# Every value of ``Attribution.rule``, in the docstring's order.
RULES = ("quote", "according-to", "reporting-verb", "anaphor", "quote-continuation", "subject",
         "possessive", "agent", "model", "none", "furniture")
# When nothing names the state: the coarse actor's own code.
_ACTOR_DETAILS = {"ukraine": "UA", "russia": "RU", "nato": "NATO"}

_VERB_WORDS = "|".join(_LEXICON["reporting_verbs"]["words"])
_HEADLINE_VERBS = "|".join(_LEXICON["headline_verbs"]["words"])
_VERB = re.compile(rf"(?<![\w-])(?:{_VERB_WORDS}|{_HEADLINE_VERBS})(?![\w-])")
_AMBIGUOUS_S_FORMS = frozenset(_LEXICON["ambiguous_s_forms"]["words"])
_NOUN_BEFORE = frozenset(_LEXICON["noun_before"]["words"])
_AUXILIARY_TAIL = re.compile(
    r"(?:\s+(?:has|have|had|is|are|was|were|been|be|will|would|could|can|may|might|must|should|"
    r"shall|does|do|did|not|never|no longer|also|now|again|reportedly|previously|repeatedly|"
    r"publicly|privately|openly|recently|later|earlier|already|once|then|still|long|firmly|"
    r"officially|formally|just|only|even|clearly|explicitly|further|today|yesterday|"
    r"on \w+day|[a-z]{3,}ly|to|said to|seemed to|appeared to|is said to))+\s*$")
_CLAUSE_WORD = re.compile(
    r"\b(?:that|and|but|while|as|because|after|before|when|although|though|whereas|since|which|"
    r"who|whom|where|if|so|than|whether|once|until|unless)\b", re.IGNORECASE)
_CHUNK_SPLIT = re.compile(r"[,;:()\[\]–—]")
_DETERMINERS = frozenset(_LEXICON["determiners"]["words"])
_INTRO_WORDS = frozenset(_LEXICON["intro_words"]["words"])
_LEADING_ADVERBS = frozenset(_LEXICON["leading_adverbs"]["words"])
_PRONOUNS = frozenset(_LEXICON["pronouns"]["words"])
_ROLE_ANAPHORS = re.compile(
    r"^(?:the\s+)?(?:(?:foreign|defen[cs]e|prime|deputy)\s+)?(?:president|minister|spokes(?:man|woman|"
    r"person)|chancellor|official|diplomat|envoy|ambassador|leader|premier|secretary)$",
    re.IGNORECASE)
_TITLE_WORDS = frozenset(_LEXICON["title_words"]["words"])
_OFFICE_WORDS = frozenset(_LEXICON["office_words"]["words"])
_NOT_A_SPEAKER = frozenset(_LEXICON["not_a_speaker"]["words"])
_COMMON_SUBJECTS = frozenset(_LEXICON["common_subjects"]["words"])
_INDEPENDENT_VOICES = tuple(_LEXICON["independent_voices"]["words"])
_ATTITUDE_NOUNS = "|".join(_LEXICON["attitude_nouns"]["words"])
_ATTITUDE_NOUN = re.compile(rf"(?:'s|’s|'|’)\s+(?:[\w-]+\s+){{0,2}}?(?:{_ATTITUDE_NOUNS})\b", re.IGNORECASE)
# After a clause-initial "X's": an agent or attitude keeps X the holder; anything else ("Ukraine's
# bid", "Kyiv's NATO dream") makes X the topic of the sentence, not its holder.
_POSSESSIVE = re.compile(r"^(?:'s|’s)\s+(?:[\w-]+\s+){0,2}?(?P<noun>[\w-]+)")
_PASSIVE = re.compile(
    r"^(?:'s|’s)?\s+(?:(?:has|have|had|will|would|could|may|might|must|should)\s+)?(?:not\s+)?"
    r"(?:is|are|was|were|be|been|being)\s+(?:\w+ly\s+)?(?:not\s+)?(?:un)?(?:likely\s+to\s+be\s+)?"
    r"(?!determined|committed|prepared|convinced|opposed|resolved|interested|ready|set on)"
    r"(?:\w+ed|\w+en|set|put|told|sent|left|kept|shut|held|unlikely|likely)\b")
_PASSIVE_AGENT = re.compile(r"\b\w+(?:ed|en)\s+by\s+(?:the\s+)?$")
_QUOTED_AS = re.compile(
    r"\bquoted\s+(?P<who>(?:[^§.;:!?]|\.(?=\w)){2,80}?)\s+as\s+(?:saying|telling|stating)\b")
_ACCORDING_TO = re.compile(
    r"\b(?:[Aa]ccording to|[Ii]n the words of|[Aa]s (?:written|reported|stated|said|put) by|"
    r"[Cc]ited by|[Qq]uoting)\s+(?P<who>(?:[^,.;:!?§]|\.(?=\w)|(?<=\b[A-Z])\.){2,100})")
# A period inside "U.S." or "Mr." does not end a speaker's name.
_PHRASE = r"(?:[^§.;:!?,]|\.(?=\w)|(?<=\b[A-Z])\.|(?<=\bM[rs])\.|(?<=\bMrs)\.|(?<=\bDr)\.)"
_AFTER_QUOTE = re.compile(
    rf"\s*,?\s*(?:(?P<verb1>{_VERB_WORDS})\s+(?P<after>(?:{_PHRASE}|,){{1,150}})"
    rf"|(?P<before>{_PHRASE}{{1,100}}?)\s+(?:(?:has|had|have)\s+)?(?P<verb2>{_VERB_WORDS})(?![\w-]))")
_PARTICIPLE_NEXT = re.compile(r"\s+(?:by|in|at|after|on|during|last|earlier|with|under|for|over|"
                              r"from|since|as|between|before)\b")
_AFTER_CUT = re.compile(r"\s(?:on|in|at|during|after|when|while|as|before|to|from|via|"
                        r"last|this|earlier|later|told|who|which|adding|referring)\s", re.IGNORECASE)
_HEADLINE_TAG = re.compile(r"\s[–—-]\s+(?P<who>[^–—\-\d][^–—]{1,40}?)\s*$")
_HEADLINE_LEAD = re.compile(r"^(?P<who>[A-Z][^:\d]{1,40}):\s")
_NEXT_WORD = re.compile(r"\s+([\w’'.-]+)")
_NAME_TOKEN = re.compile(r"\b[A-Z][\w’'.-]*[\w]|\b[A-Z]\b")
# A quote this share of a sentence or more is the sentence's content, so its speaker holds it.
_QUOTE_SHARE = 0.4
# Rules that look back from a position read at most this many characters (far more than any name,
# title or passive participle), so that a huge "sentence" costs time linear in its length.
_LOOKBACK_CHARS = 200
# Reporting verbs tried per sentence: real sentences have a handful; page junk may have thousands,
# and each try reads the sentence before the verb.
_MAX_VERBS = 32
_FOLLOWING_WORD = re.compile(r"\s+([A-Z][\w’'-]*|[a-z]+)")
_LEADING_MARKS = re.compile(r"[ “\"]*")


@dataclass(frozen=True)
class Attribution:
    """The holder of a sentence's stance: ``actor``, the ``surface`` name, and the ``rule`` used."""

    actor: str
    surface: str | None = None
    rule: str = "none"
    detail: str | None = None  # the country or organisation code (``actor_detail``)

    def to_dict(self) -> dict:
        return asdict(self)


_NOBODY = Attribution(NONE)


@dataclass
class _Sentence:
    text: str
    masked: str
    mentions: list[Mention]
    opens_quote: bool  # a quote starts and does not close within the sentence
    closes_quote: bool  # a quote closes that opened in an earlier sentence
    quote_share: float
    headline: bool
    starts: list[int] = field(default_factory=list)  # mention starts, for bisecting

    def __post_init__(self) -> None:
        self.starts = [m.start for m in self.mentions]

    def mentions_within(self, start: int, end: int) -> list[Mention]:
        """The mentions inside ``[start, end)``, in order, found by bisection (mentions never overlap)."""
        first = bisect_left(self.starts, start)
        last = bisect_left(self.starts, end, first)
        return [m for m in self.mentions[first:last] if m.end <= end]

    def starts_with_quote(self) -> bool:
        return self.masked.lstrip().startswith("§")


def _quote_spans(text: str) -> tuple[list[tuple[int, int]], bool, bool]:
    """Spans of quoted text (marks included), whether a quote is left open, and whether one
    closes that opened before the sentence. Single quotes are scare quotes and are ignored."""
    spans, start, closes_unopened = [], None, False
    for i, ch in enumerate(text):
        if ch == "“":
            if start is None:
                start = i
        elif ch == "”" or (ch == '"' and start is not None):
            if start is None:
                spans, closes_unopened = [(0, i + 1)], True
            else:
                spans.append((start, i + 1))
                start = None
        elif ch == '"':
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if not before.isspace() and (after.isspace() or after in ",.;:)"):
                # A closing mark with no opening one: the end of a quote begun earlier.
                spans, closes_unopened = [(0, i + 1)], True
            else:
                start = i
    opens = start is not None
    if opens:
        spans.append((start, len(text)))
    return spans, opens, closes_unopened


def _is_headline(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][\w’'-]*", text) if len(w) >= 4]
    if len(words) < 3 or re.search(r"[.!]['\"”’]?$", text.strip()):
        return False
    return sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _first_word(text: str) -> str:
    words = text.split()
    return words[0].strip("“\"'‘(").lower() if words else ""


_DEFAULT = object()


class ActorAttributor:
    """Attribute the sentences of one article at a time; the gazetteer is loaded once.

    ``model`` is the learned decision over the rules' answers (:mod:`stance.actor_model`): the
    packaged one by default, ``None`` for the rules alone.
    """

    def __init__(self, gazetteer: Gazetteer | None = None, model=_DEFAULT):
        self.gazetteer = gazetteer or default_gazetteer()
        self.model = default_actor_model() if model is _DEFAULT else model

    # -- preparing a sentence -------------------------------------------------------------------

    def _prepare(self, text: str, aliases: dict, published: str | None = None) -> _Sentence:
        spans, opens, closes = _quote_spans(text)
        chars = list(text)
        for start, end in spans:
            chars[start:end] = "§" * (end - start)
        masked = "".join(chars)
        headline = _is_headline(text)
        mentions = [m for m in self.gazetteer.find(masked, aliases, published)
                    if not self._part_of_a_name(masked, m, headline)]
        share = sum(end - start for start, end in spans) / max(len(text.strip()), 1)
        return _Sentence(text, masked, mentions, opens, closes, share, headline)

    def _part_of_a_name(self, masked: str, mention: Mention, headline: bool) -> bool:
        """A place before a capitalised non-office word names something else ("Kyiv International
        Institute", "Minsk II"); a place before an analyst noun is a subject area ("a Russia
        analyst")."""
        if mention.kind != "place":
            return False
        follow = _FOLLOWING_WORD.match(masked, mention.end)
        if not follow:
            return False
        word = follow.group(1)
        if word[0].islower():
            return self.gazetteer.entries.get(word, ("", ""))[1] == "generic"
        return not headline and word.lower() not in _OFFICE_WORDS

    def learn_aliases(self, texts: list[str]) -> dict[str, tuple[str, str]]:
        """Surnames introduced with an actor cue ("Czech PM Petr Fiala", "Kremlin aide Vladimir
        Medinsky"), so that a later bare "Fiala" resolves."""
        aliases: dict[str, tuple[str, str]] = {}
        for text in texts:
            if _is_headline(text):
                continue
            for mention in self.gazetteer.find(text):
                if mention.kind not in ("place", "adjective", "institution"):
                    continue
                pos = mention.end + (2 if text.startswith(("'s", "’s"), mention.end) else 0)
                proper, titled = [], False
                while token := _NEXT_WORD.match(text, pos):
                    pos = token.end()
                    word = token.group(1).rstrip(".,")
                    if word.lower() in _TITLE_WORDS or word.lower() in self.gazetteer.agent_nouns:
                        if proper:
                            break
                        titled = True
                        continue
                    if not word[:1].isupper() or len(proper) == 3:
                        break
                    proper.append(word)
                if titled and len(proper) >= 2 and proper[-1] not in self.gazetteer.entries:
                    aliases.setdefault(proper[-1], (mention.actor, "person", mention.detail))
        return aliases

    # -- resolving a phrase to a holder -----------------------------------------------------------

    def _before_agent_noun(self, masked: str, pos: int, limit: int) -> bool:
        words = re.findall(r"[\w’'-]+|[^\w\s]", masked[pos:limit])[:5]
        for word in words:
            if not re.match(r"\w", word):
                return False
            if word.lower() in self.gazetteer.agent_nouns:
                return True
        return False

    def _resolve(self, s: _Sentence, start: int, end: int, names: bool = True,
                 initial_name: bool = False) -> Attribution | None:
        """The holder named by ``s.masked[start:end]``: a gazetteer actor, an anaphor to resolve,
        an unknown named speaker (``other``), ``media`` (skip), or None."""
        phrase = s.masked[start:end].strip(" ,")
        if not phrase or "§" in phrase:
            return None
        if phrase.lower() in _PRONOUNS or _ROLE_ANAPHORS.match(phrase):
            return Attribution(_ANAPHOR, phrase, "anaphor")
        former = re.search(r"\b[Ff]ormer\b|\bex-", phrase)
        inside = s.mentions_within(start, end)
        for m in inside:
            if m.kind == "adjective" and not self._before_agent_noun(s.masked, m.end, end):
                continue
            if m.actor == MEDIA:
                if any(g.kind == "generic" for g in inside):  # "the paper's editorial board"
                    return Attribution("other", m.surface, "")
                return Attribution(MEDIA, m.surface, "media")
            return Attribution("other" if former else m.actor, self._surface(s, m, inside, end), "")
        if not names:
            return None
        tokens = [t.group(0) for t in _NAME_TOKEN.finditer(phrase)]
        proper = [t for t in tokens if t.lower().strip(".") not in _TITLE_WORDS | _INTRO_WORDS
                  | _DETERMINERS | _LEADING_ADVERBS]
        if not proper or any(t.lower() in _NOT_A_SPEAKER for t in proper):
            return None
        at_start = _LEADING_MARKS.match(s.masked).end() >= start
        if at_start and len(proper) == 1 and not initial_name and (
                proper[0] == tokens[0] and proper[0].lower() in _COMMON_SUBJECTS):
            return None  # "Officials said": a capitalised common noun, not a name
        return Attribution("other", phrase if former else " ".join(proper[-3:]), "")

    def _surface(self, s: _Sentence, mention: Mention, inside: list[Mention], end: int) -> str:
        """The most specific name: the person in "Kremlin spokesman Dmitry Peskov", the official
        noun in "Russian officials"."""
        for other in inside:
            if other.kind == "person" and other.actor == mention.actor:
                return other.surface
        if mention.kind == "adjective":
            words = re.match(r"(?:\s+[\w’'-]+){1,5}", s.masked[mention.end:end])
            tail = []
            for word in (words.group(0).split() if words else []):
                tail.append(word)
                if word.lower() in self.gazetteer.agent_nouns and not word[:1].isupper():
                    break
            return " ".join([mention.surface, *tail])
        return mention.surface

    def _resolve_group(self, s: _Sentence, spans: list[tuple[int, int]]) -> Attribution | None:
        """A head and its appositions ("Ihor Zhovkva, another advisor to President Zelenskyy"):
        a gazetteer name anywhere in the group beats an unknown name."""
        for start, end in spans:
            found = self._resolve(s, start, end, names=False)
            if found:
                return found
        for start, end in spans:
            found = self._resolve(s, start, end, names=True)
            if found:
                return found
        return None

    # -- the rules --------------------------------------------------------------------------------

    def _quote_speaker(self, s: _Sentence) -> Attribution | None:
        quoted = _QUOTED_AS.search(s.masked)
        if quoted:
            found = self._resolve(s, quoted.start("who"), quoted.end("who"))
            if found:
                return found
        for match in re.finditer(r"§+", s.masked):
            m = _AFTER_QUOTE.match(s.masked, match.end())
            if not m:
                continue
            if m.group("after"):
                a_start = m.start("after")
                text = m.group("after")
                cuts = [c.start() for c in _AFTER_CUT.finditer(text)] + [len(text)]
                comma = text.find(",")
                head_end = a_start + min(cuts + ([comma] if comma >= 0 else []))
                spans = [(a_start, head_end)]
                if comma >= 0:
                    appos = text[comma + 1:]
                    spans.append((a_start + comma + 1, a_start + comma + 1 + min(
                        [len(appos)] + [c.start() for c in _AFTER_CUT.finditer(appos)])))
                found = self._resolve_group(s, spans)
            elif _CLAUSE_WORD.search(m.group("before")):
                continue  # "…" and that Russia had changed…: a new clause, not an attribution
            else:
                found = self._resolve(s, m.start("before"), m.end("before"))
            if found and found.actor != MEDIA:
                return found
        return None

    def _headline_speaker(self, s: _Sentence) -> Attribution | None:
        if re.search(r"[.!]['\"”’]?$", s.text.strip()):
            return None
        tag = _HEADLINE_TAG.search(s.masked)
        if tag:
            found = self._resolve(s, tag.start("who"), tag.end("who"), initial_name=True)
            if found and found.actor != MEDIA:
                return found
        lead = _HEADLINE_LEAD.match(s.masked)
        if lead and len(lead.group("who").split()) <= 4:
            found = self._resolve(s, lead.start("who"), lead.end("who"), initial_name=True)
            if found and found.actor != MEDIA and not any(
                    m.kind in ("place", "adjective") for m in s.mentions if m.end <= lead.end("who")):
                return found
        return None

    def _according_to(self, s: _Sentence) -> Attribution | None:
        for m in _ACCORDING_TO.finditer(s.masked):
            found = self._resolve(s, m.start("who"), m.end("who"), names=False)
            if found and found.actor != MEDIA:
                return found
        return None

    def _subject_spans(self, s: _Sentence, pos: int) -> list[tuple[int, int]]:
        """Where the subject of a verb at ``pos`` is: the clause before it, else (for ``X, an
        apposition, said``) the comma chunks before that, skipping relative and participial ones."""
        bounds = [0] + [m.end() for m in _CHUNK_SPLIT.finditer(s.masked, 0, pos)]
        last = bounds[-1]
        words = list(_CLAUSE_WORD.finditer(s.masked, last, pos))
        start = words[-1].end() if words else last
        # The tail pattern backtracks over every run of auxiliaries, so it reads the end only.
        tail_start = max(start, pos - _LOOKBACK_CHARS)
        subject = s.masked[start:tail_start] + _AUXILIARY_TAIL.sub("", s.masked[tail_start:pos])
        if subject.strip(" ,§"):
            return [(start, start + len(subject))]
        if words:
            return []  # "…, which said": the subject is the antecedent, not a chunk
        spans = []
        for begin, end in zip(reversed(bounds[:-1]), reversed(bounds[1:]), strict=False):
            chunk = s.masked[begin:end - 1]
            first = _first_word(chunk)
            if not first or "§" in first:
                continue
            if first in _LEADING_ADVERBS:
                spans.append((begin, end - 1))
                break
            if first in _INTRO_WORDS or first.endswith(("ing", "ed")):
                continue  # "who backed membership…", "responding to…", "drafted by…"
            spans.append((begin, end - 1))
            if len(spans) == 3:
                break
        return spans[::-1]  # the head first, then its appositions

    def _verb_subject(self, s: _Sentence) -> Attribution | None:
        for verb in islice(_VERB.finditer(s.masked), _MAX_VERBS):
            word = verb.group(0)
            if word[0].isupper() and not s.headline:
                continue
            before = s.masked[max(0, verb.start() - _LOOKBACK_CHARS):verb.start()].rstrip()
            previous = before.split()[-1] if before.split() else ""
            previous = previous if previous[:1].isupper() else previous.lower()
            if previous.endswith(("'s", "’s")) or previous in _NOUN_BEFORE:
                continue  # "Putin's demands", "Kyiv's stated objective": not a verb here
            if word in _AMBIGUOUS_S_FORMS and not (
                    previous[:1].isupper() or previous in ("he", "she", "it", "who", "which")
                    or previous in self.gazetteer.agent_nouns):
                continue  # "making demands", "membership hopes"
            if word.endswith("ed") and before.endswith(",") and _PARTICIPLE_NEXT.match(s.masked[verb.end():]):
                continue  # "The package, agreed after talks, …": a participle, not the main verb
            spans = self._subject_spans(s, verb.start())
            found = self._resolve_group(s, spans) if spans else None
            if found and found.actor == _ANAPHOR:
                return self._in_sentence_antecedent(s, spans[0][0], found)
            if found and found.actor != MEDIA:
                return found
        return None

    @staticmethod
    def _in_sentence_antecedent(s: _Sentence, pos: int, anaphor: Attribution) -> Attribution:
        """'he' after 'In a statement by President Zelenskiy, …' refers to Zelenskiy."""
        persons = [m for m in s.mentions if m.end <= pos and m.kind == "person"]
        if persons and anaphor.surface.lower() in ("he", "she"):
            return Attribution(persons[-1].actor, persons[-1].surface, "")
        return anaphor

    def _clause_subject(self, s: _Sentence) -> Attribution | None:
        """A named actor heading the first clause that has a subject. A clause headed by anything
        else ("The sanctions on Russia…"), by a topic ("Ukraine's bid…") or by a passive
        ("Ukraine was admitted…") ends the search with no holder."""
        bounds = [0] + [m.end() for m in re.finditer(r"[,;:]|\bthat\b", s.masked)] + [len(s.masked) + 1]
        for index, (begin, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
            chunk = s.masked[begin:end - 1]
            first = _first_word(chunk)
            if not first or "§" in first:
                continue
            if first in _INTRO_WORDS or first.endswith("ing") or \
                    (first[:1].islower() and first not in _DETERMINERS
                     and not chunk.lstrip(" “\"'‘(")[:1].isupper()):
                continue
            offset = begin + len(chunk) - len(chunk.lstrip(" “\"'‘("))
            lead = [m for m in s.mentions if offset <= m.start < end - 1]
            if not lead:
                return self._apposition(s, bounds, index)
            gap = s.masked[offset:lead[0].start].split()
            proper_gap = any(w[:1].isupper() for w in gap)
            if any(w[:1].islower() and w.lower() not in _DETERMINERS
                   and not (proper_gap and w in ("of", "for")) for w in gap):
                return self._apposition(s, bounds, index)
            return self._lead_holder(s, lead[0], end - 1)
        return None

    def _lead_holder(self, s: _Sentence, mention: Mention, end: int) -> Attribution | None:
        after = s.masked[mention.end:end]
        if mention.kind == "adjective" and not self._before_agent_noun(s.masked, mention.end, end):
            return None
        if mention.actor == MEDIA or _PASSIVE.match(after):
            return None
        possessive = _POSSESSIVE.match(after)
        if possessive and not _ATTITUDE_NOUN.match(after) and \
                possessive.group("noun").lower() not in self.gazetteer.agent_nouns:
            return None
        inside = [m for m in s.mentions if mention.start <= m.start and m.end <= end]
        return Attribution(mention.actor, self._surface(s, mention, inside, end), "subject")

    def _apposition(self, s: _Sentence, bounds: list[int], index: int) -> Attribution | None:
        """'Ihor Zhovkva, another advisor to President Zelenskyy, …': a named head whose
        apposition names an actor."""
        head = s.masked[bounds[index]:bounds[index + 1] - 1].strip()
        if index + 2 >= len(bounds) or not re.fullmatch(r"(?:[A-Z][\w’'.-]*\s*){2,4}", head):
            return None
        appos = s.masked[bounds[index + 1]:bounds[index + 2] - 1]
        if _first_word(appos) not in _DETERMINERS | {"head", "chief", "deputy", "spokesman", "adviser"}:
            return None
        found = self._resolve(s, bounds[index + 1], bounds[index + 2] - 1, names=False)
        if found and found.actor not in (MEDIA, _ANAPHOR):
            return Attribution(found.actor, found.surface, "subject")
        return None

    def _possessive(self, s: _Sentence) -> Attribution | None:
        for m in s.mentions:
            if m.kind in ("person", "institution", "place") and _ATTITUDE_NOUN.match(s.masked, m.end):
                return Attribution(m.actor, m.surface, "possessive")
        return None

    def _passive_agent(self, s: _Sentence) -> Attribution | None:
        """'The plan tabled by Kyiv…': the agent of a passive participle."""
        for m in s.mentions:
            if m.kind != "adjective" and m.actor != MEDIA and _PASSIVE_AGENT.search(
                    s.masked, max(0, m.start - _LOOKBACK_CHARS), m.start):
                return Attribution(m.actor, m.surface, "agent")
        return None

    # -- an article ---------------------------------------------------------------------------------

    def _local(self, s: _Sentence) -> Attribution | None:
        for rule, finder in (("quote", self._quote_speaker), ("quote", self._headline_speaker),
                             ("according-to", self._according_to),
                             ("reporting-verb", self._verb_subject)):
            found = finder(s)
            if found:
                return Attribution(found.actor, found.surface, found.rule or rule) \
                    if found.actor != _ANAPHOR else found
        return None

    def attribute(self, texts: list[str], furniture: list[bool] | None = None,
                  labels: list[str] | None = None, published: str | None = None) -> list[Attribution]:
        """One attribution per sentence of an article, in order (context crosses sentences).

        The learned decision reads the sentences' stance ``labels`` (a neutral sentence names no
        holder far more often than a stance-bearing one); without them the rules decide alone.
        ``published`` (the article's date) picks the office of a person who held several.
        """
        furniture = furniture or [False] * len(texts)
        prepared, found = self.rule_pass(texts, furniture, published)
        if self.model is not None and labels is not None:
            found = self._learned(prepared, found, furniture, labels)
        return self._with_details(prepared, found, published)

    def rule_pass(self, texts: list[str], furniture: list[bool], published: str | None = None
                  ) -> tuple[list[_Sentence], list[Attribution]]:
        """The rules' analysis of every sentence and their answers."""
        aliases = self.learn_aliases([t for t, f in zip(texts, furniture, strict=True) if not f])
        prepared = []
        for text in texts:
            deadline.check()  # one sentence is bounded work (the rules are linear in its length)
            prepared.append(self._prepare(text, aliases, published))
        local = []
        for s, f in zip(prepared, furniture, strict=True):
            deadline.check()
            local.append(None if f else self._local(s))
        result: list[Attribution] = []
        last: tuple[int, Attribution] | None = None
        for i, (s, found) in enumerate(zip(prepared, local, strict=True)):
            if furniture[i]:
                result.append(Attribution(NONE, None, "furniture"))
                continue
            if found and found.actor == _ANAPHOR:
                found = (Attribution(last[1].actor, last[1].surface, "anaphor")
                         if last and i - last[0] <= 3 else None)
            if found is None and (s.starts_with_quote() or s.opens_quote or s.closes_quote
                                  or s.quote_share >= _QUOTE_SHARE):
                found = self._quote_owner(i, prepared, local, last)
            found = (found or self._clause_subject(s) or self._possessive(s)
                     or self._passive_agent(s) or _NOBODY)
            if found.actor != NONE:
                last = (i, found)
            result.append(found)
        return prepared, result

    def _learned(self, prepared, found, furniture, labels) -> list[Attribution]:
        """The model's actor where it overrules the rules (``rule`` then reads ``model``), with the
        surface of a mention of that actor in the sentence or in the three before it."""
        rows = article_features(prepared, found, furniture, labels, _VERB)
        body = [i for i, row in enumerate(rows) if row is not None]
        decisions = dict(zip(body, self.model.predict([rows[i] for i in body]), strict=True))
        result = []
        for i, rule in enumerate(found):
            actor = decisions[i][0] if i in decisions else rule.actor
            if actor == rule.actor or self._independent_voice(rule):
                result.append(rule)
                continue
            result.append(Attribution(actor, self._surface_of(actor, i, prepared, result), "model"))
        return result

    @staticmethod
    def _independent_voice(rule: Attribution) -> bool:
        """An analyst, expert or commentator the rules named as the holder: the articles the model
        learnt from have too few of them to overrule the rules. (Former office holders are not
        among them: Medvedev or Poroshenko's party still speak for their country.)"""
        if rule.actor != "other" or not rule.surface or rule.rule in ("none", "furniture"):
            return False
        words = rule.surface.lower()
        return any(re.search(rf"\b{re.escape(w)}\b", words) for w in _INDEPENDENT_VOICES)

    def _with_details(self, prepared, found: list[Attribution], published: str | None) -> list[Attribution]:
        """The country or organisation behind each holder: named in the holder's surface, else
        the first name of that actor in the sentence, else the last one given to that actor in
        the three sentences before, else the actor's own code (UA, RU, NATO)."""
        result: list[Attribution] = []
        for i, holder in enumerate(found):
            detail = None
            if holder.actor not in (NONE, MEDIA):
                detail = (self._surface_detail(holder, prepared[i], published)
                          or next((m.detail for m in prepared[i].mentions
                                   if m.actor == holder.actor and m.detail), None)
                          or next((h.detail for h in reversed(result[-3:])
                                   if h.actor == holder.actor and h.detail), None)
                          or _ACTOR_DETAILS.get(holder.actor))
            result.append(replace(holder, detail=detail))
        return result

    def _surface_detail(self, holder: Attribution, s: _Sentence, published: str | None) -> str | None:
        if not holder.surface:
            return None
        for m in s.mentions:
            if m.actor == holder.actor and m.detail and m.surface in holder.surface:
                return m.detail
        for m in self.gazetteer.find(holder.surface, None, published):
            if m.actor == holder.actor and m.detail:
                return m.detail
        return None

    @staticmethod
    def _surface_of(actor: str, i: int, prepared, earlier: list[Attribution]) -> str | None:
        if actor == NONE:
            return None
        mentions = [m for m in prepared[i].mentions if m.actor == actor]
        if mentions:
            return next((m.surface for m in mentions if m.kind == "person"), mentions[0].surface)
        for before in reversed(earlier[-3:]):
            if before.actor == actor:
                return before.surface
        return None

    @staticmethod
    def _quote_owner(i, prepared, local, last) -> Attribution | None:
        """A quote without its own attribution: the speaker named where the same quote closes
        (a later sentence), else the speaker of the sentence just before."""
        if prepared[i].opens_quote:
            for j in range(i + 1, min(i + 6, len(prepared))):
                if prepared[j].closes_quote:
                    owner = local[j]
                    if owner and owner.actor != _ANAPHOR and owner.rule == "quote":
                        return Attribution(owner.actor, owner.surface, "quote-continuation")
                    break
        if last and i - last[0] <= 2:
            return Attribution(last[1].actor, last[1].surface, "quote-continuation")
        return None


def attribute_sentences(texts: list[str], furniture: list[bool] | None = None,
                        gazetteer: Gazetteer | None = None) -> list[Attribution]:
    """Attribute the sentences of one article (in order) to the actors holding their stance."""
    return ActorAttributor(gazetteer).attribute(texts, furniture)
