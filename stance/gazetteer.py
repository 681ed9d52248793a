"""The gazetteer: surface names of people, institutions and places, and the actor each speaks for.

The names live in ``stance/data/gazetteer.json`` so that they can be edited without touching code;
``Gazetteer.load(path)`` reads another file with the same layout. Matching is case-sensitive
(proper names), whole-word, and ignores hyphen compounds: "Kyiv-based" and "Kremlin-backed" name
nobody as the holder of a stance.
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


def _compile(names) -> re.Pattern | None:
    if not names:
        return None
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    # No word character or hyphen-joined word on either side: "Kyiv-based" is not Kyiv.
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w]|-\w)")


class Gazetteer:
    def __init__(self, data: dict):
        self.entries: dict[str, tuple[str, str]] = {}
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
        self._pattern = _compile(self.entries)

    def _add(self, name: str, actor: str, kind: str) -> None:
        variants = {name}
        if name[:1].islower():
            # Sentence-initial and headline forms: "The alliance", "Analysts said".
            variants.add(name[0].upper() + name[1:])
        for variant in variants:
            current = self.entries.get(variant)
            if current is None or KINDS.index(kind) < KINDS.index(current[1]):
                self.entries[variant] = (actor, kind)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        if path is None:
            return default_gazetteer()
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def find(self, text: str, aliases: dict[str, tuple[str, str]] | None = None) -> list[Mention]:
        """All names in ``text``, left to right; ``aliases`` adds names learnt from the article."""
        found = []
        patterns = [(self._pattern, self.entries)]
        if aliases:
            patterns.append((_compile(aliases), aliases))
        for pattern, table in patterns:
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                actor, kind = table[m.group(0)]
                found.append(Mention(m.start(), m.end(), m.group(0), actor, kind))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[Mention] = []
        for mention in found:
            if not kept or mention.start >= kept[-1].end:
                kept.append(mention)
        return kept


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    text = resources.files("stance").joinpath("data/gazetteer.json").read_text(encoding="utf-8")
    return Gazetteer(json.loads(text))
