"""The gazetteer: surface names of people, institutions and places, and the actor each speaks for.

The names live in ``stance/data/gazetteer.json`` so that they can be edited without touching code;
``Gazetteer.load(path)`` reads another file with the same layout. Every name may carry a *detail*,
the country (ISO 3166-1 alpha-2) or organisation (``NATO``, ``EU``, ``UN``) it stands for.
``stance/data/officeholders.json`` adds states (names, capitals, adjectives, NATO accession) and
office holders since 2008 (heads of state and government, foreign and defence ministers of every
member, the main Ukrainian and Russian officials, organisation leaders) with their terms of office:
a name that moved between offices ("Rutte": the Netherlands, then NATO; "Tusk": Poland, the EU,
Poland) is read by the article's date. Names in ``gazetteer.json`` win over the office list.
Matching is case-sensitive (proper names), whole-word, and ignores hyphen compounds: "Kyiv-based"
and "Kremlin-backed" name nobody as the holder of a stance.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from stance.labels import check_actor

MEDIA = "media"
# Strongest first: when one surface is listed twice, the stronger reading wins.
KINDS = ("person", "institution", "place", "adjective", "generic", "media")
_SECTIONS = {"people": "person", "institutions": "institution", "places": "place",
             "adjectives": "adjective"}


@dataclass(frozen=True)
class Mention:
    """A gazetteer name found in a sentence; ``actor`` is ``media`` for reporting outlets."""

    start: int
    end: int
    surface: str
    actor: str
    kind: str
    detail: str | None = None  # the country (ISO 3166-1 alpha-2) or organisation code


def _trie_regex(names) -> str:
    """One pattern for many names, factored by common prefixes: a flat alternation of thousands
    of names makes the regex engine try each of them at every position; a trie tries a handful.
    A greedy optional tail tries the longer name first, as a longest-first alternation does."""
    trie: dict = {}
    for name in names:
        node = trie
        for ch in name:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    return pattern(trie)


def compile_names(names) -> re.Pattern | None:
    """One pattern matching any of ``names`` as a whole name (None for no names)."""
    if not names:
        return None
    # No word character or hyphen-joined word on either side: "Kyiv-based" is not Kyiv.
    return re.compile(rf"(?<![\w-])(?:{_trie_regex(names)})(?![\w]|-\w)")


# Names of Ukraine and Russia need no detail entry: the coarse actor is the state.
DEFAULT_DETAILS = {"ukraine": "UA", "russia": "RU"}
_OPEN_END = "9999-12"


def code_actor(code: str, countries: dict) -> str:
    """The coarse actor of a state or organisation code: allies (by NATO accession) are nato."""
    if code in ("UA", "RU", "NATO"):
        return {"UA": "ukraine", "RU": "russia", "NATO": "nato"}[code]
    return "nato" if (countries.get(code) or {}).get("nato_member_since") else "other"


def _month(value: str, end: bool) -> str:
    """``YYYY`` or ``YYYY-MM[-DD]`` as ``YYYY-MM``; a bare year spans the whole year."""
    return value[:7] if len(value) >= 7 else f"{value}-{'12' if end else '01'}"


@dataclass(frozen=True)
class Term:
    start: str  # YYYY-MM
    end: str  # YYYY-MM, open-ended as 9999-12
    actor: str
    detail: str


class Gazetteer:
    def __init__(self, data: dict, officeholders: dict | None = None):
        self.entries: dict[str, tuple[str, str]] = {}
        self.details: dict[str, str] = {}
        self.terms: dict[str, list[Term]] = {}  # names whose actor or code changed over time
        for code, names in data.get("details", {}).items():
            for name in names:
                for variant in _variants(name):
                    self.details[variant] = code
        for actor, sections in data["actors"].items():
            check_actor(actor)
            for section, kind in _SECTIONS.items():
                for name in sections.get(section, []):
                    self._add(name, actor, kind)
        for name in data.get("media", []):
            self._add(name, MEDIA, "media")
        for name in data.get("generic_other", []):
            self._add(name, "other", "generic")
        self.agent_nouns = frozenset(n.lower() for n in data.get("agent_nouns", []))
        if officeholders:
            self._add_officeholders(officeholders)
        self._pattern = compile_names(self.entries)

    def _add_officeholders(self, data: dict) -> None:
        countries = data.get("countries", {})
        for code, country in countries.items():
            actor = code_actor(code, countries)
            for section, kind in (("places", "place"), ("adjectives", "adjective")):
                for name in country.get(section, []):
                    self._add_new(name, actor, kind, code)
        for code, organisation in data.get("organisations", {}).items():
            for name in organisation.get("names", []):
                self._add_new(name, code_actor(code, countries), "institution", code)
        terms: dict[str, list[Term]] = {}
        for person in data.get("people", []):
            code = person["country"]
            actor = check_actor(code_actor(code, countries))
            names = [person["name"], *person.get("aliases", [])]
            if not person.get("ambiguous_surname"):
                names += person.get("surnames", [])
            term = Term(_month(person["from"], False) if person.get("from") else "0000-01",
                        _month(person["to"], True) if person.get("to") else _OPEN_END, actor, code)
            for name in names:
                self._add_new(name, actor, "person", code)
                terms.setdefault(name, []).append(term)
        self.terms = {name: sorted(spans, key=lambda t: t.start) for name, spans in terms.items()
                      if len({(t.actor, t.detail) for t in spans}) > 1}

    def _add_new(self, name: str, actor: str, kind: str, code: str) -> None:
        for variant in _variants(name):
            self.entries.setdefault(variant, (actor, kind))
            self.details.setdefault(variant, code)

    def _add(self, name: str, actor: str, kind: str) -> None:
        for variant in _variants(name):
            current = self.entries.get(variant)
            if current is None or KINDS.index(kind) < KINDS.index(current[1]):
                self.entries[variant] = (actor, kind)

    @classmethod
    def load(cls, path: str | Path | None = None, officeholders: str | Path | None = None) -> Gazetteer:
        if path is None:
            return default_gazetteer()
        extra = json.loads(Path(officeholders).read_text(encoding="utf-8")) if officeholders else None
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), extra)

    def find(self, text: str, aliases: dict[str, tuple[str, str]] | None = None,
             published: str | None = None) -> list[Mention]:
        """All names in ``text``, left to right; ``aliases`` adds names learnt from the article;
        ``published`` (``YYYY-MM-DD``) picks the office a name held then."""
        found = []
        patterns = [(self._pattern, self.entries)]
        if aliases:
            patterns.append((compile_names(aliases), aliases))
        for pattern, table in patterns:
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                actor, kind = table[m.group(0)][:2]
                detail = self.detail_of(m.group(0), actor, table)
                term = self.term_at(m.group(0), published) if table is self.entries else None
                if term is not None:
                    actor, detail = term.actor, term.detail
                found.append(Mention(m.start(), m.end(), m.group(0), actor, kind, detail))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[Mention] = []
        for mention in found:
            if not kept or mention.start >= kept[-1].end:
                kept.append(mention)
        return kept


    def people(self, actors: tuple[str, ...]) -> dict[str, str]:
        """Every person's name the gazetteer knows for ``actors``, with the actor it speaks for."""
        return {name: actor for name, (actor, kind) in self.entries.items()
                if kind == "person" and actor in actors}

    def term_at(self, surface: str, published: str | None) -> Term | None:
        """The office held at ``published`` by a name whose holder moved between offices."""
        terms = self.terms.get(surface)
        if not terms or not published:
            return None
        month = _month(published, False)
        current = next((t for t in reversed(terms) if t.start <= month <= t.end), None)
        # Out of office at that date: the office held last before it (a former Secretary General
        # is still known by that office), else the first one.
        return current or next((t for t in reversed(terms) if t.start <= month), terms[0])

    def detail_of(self, surface: str, actor: str, table: dict | None = None) -> str | None:
        """The code behind a name: its detail entry (or, for a name learnt in an article, the
        detail it was learnt with), else Ukraine's or Russia's own code."""
        learnt = (table or {}).get(surface)
        if learnt is not None and len(learnt) > 2 and learnt[2]:
            return learnt[2]
        return self.details.get(surface) or DEFAULT_DETAILS.get(actor)


def _variants(name: str) -> set[str]:
    variants = {name}
    if name[:1].islower():
        # Sentence-initial and headline forms: "The alliance", "Analysts said".
        variants.add(name[0].upper() + name[1:])
    return variants


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    data = resources.files("stance").joinpath("data")
    return Gazetteer(json.loads(data.joinpath("gazetteer.json").read_text(encoding="utf-8")),
                     json.loads(data.joinpath("officeholders.json").read_text(encoding="utf-8")))
