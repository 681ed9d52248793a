"""Speaker-swapped training rows: the same words, said by someone on another side.

In the authored data who speaks predicts the label (a Kremlin speaker is mostly ``opposing``, an
allied minister mostly ``pro-membership`` or ``conceding``), and a model trained on it learns the
speaker instead of what is said: on real news any Kremlin sentence became ``opposing`` (issue 10).
LABELLING.md rule 13 says who speaks never decides the label, so a sentence keeps its label when the
people it names are replaced by people of another side. Only people are swapped: places and
institutions ("Moscow demands…", "the Rada voted…") are often what the sentence is about.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from functools import lru_cache
from importlib import resources

# The sides whose people are swapped for one another; ``other`` (China, the UN…) stays.
SIDES = ("ukraine", "russia", "nato")


@lru_cache(maxsize=1)
def _people() -> tuple[dict[str, str], re.Pattern]:
    actors = json.loads(resources.files("stance").joinpath("data/gazetteer.json")
                        .read_text(encoding="utf-8"))["actors"]
    side_of = {name: side for side in SIDES for name in actors[side]["people"]}
    # Longest first, so "Zelenskyy" is not matched as "Zelensky" + "y".
    names = sorted(side_of, key=len, reverse=True)
    return side_of, re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


def _draw(key: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12


def _replace(pattern: re.Pattern, mapping: dict[str, str], text: str) -> str:
    return pattern.sub(lambda m: mapping.get(m.group(1), m.group(1)), text)


def swap_speakers(rows: list[dict], share: float, seed: int = 13) -> list[dict]:
    """``rows`` with the named people of about ``share`` of the rows that name any (in the sentence
    or its ``context``) replaced by people of another side, the same name for the same name.

    Deterministic for a seed; rows are copied, never changed in place, and a swapped row is marked
    ``speaker_swapped``. Labels and every other field stay as they were.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"speaker_swap must be between 0 and 1, got {share}")
    if share == 0.0:
        return rows
    side_of, pattern = _people()
    by_side = {side: sorted(n for n, s in side_of.items() if s == side) for side in SIDES}
    out = []
    for row in rows:
        found = list(dict.fromkeys(pattern.findall(row["text"] + "\n" + (row.get("context") or ""))))
        if not found or _draw(row["text"], seed) >= share:
            out.append(row)
            continue
        rng = random.Random(f"{seed}:{row['text']}")
        mapping = {}
        for name in found:
            other = rng.choice([s for s in SIDES if s != side_of[name]])
            mapping[name] = rng.choice(by_side[other])
        swapped = {**row, "text": _replace(pattern, mapping, row["text"]), "speaker_swapped": True}
        if row.get("context"):
            swapped["context"] = _replace(pattern, mapping, row["context"])
        out.append(swapped)
    return out
