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
import random
import re
from functools import lru_cache

from stance.gazetteer import compile_names, default_gazetteer
from stance.metrics import evaluate

# The sides whose people are swapped for one another; ``other`` (China, the UN…) stays.
SIDES = ("ukraine", "russia", "nato")


@lru_cache(maxsize=1)
def _people() -> tuple[dict[str, str], re.Pattern]:
    # The names the actor tagger knows (the curated list and the officeholders), so a swapped
    # sentence is one the tagger credits to the other side too.
    side_of = default_gazetteer().people(SIDES)
    return side_of, compile_names(side_of)


def _draw(key: str, seed: int) -> float:
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16) / 16 ** 12


def _replace(pattern: re.Pattern, mapping: dict[str, str], text: str) -> str:
    return pattern.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


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


def speaker_reliance(predict, rows: list[dict], seeds=(101, 102, 103)) -> dict:
    """How much a model's labels depend on who is named rather than what is said.

    ``predict(texts, contexts)`` returns one label per row. Each seed swaps the people of every
    row that names any (:func:`swap_speakers` at share 1); ``flip_rate`` is the mean share of
    those rows whose label changes, 0 for a model that reads only what is said (rule 13), and
    ``macro_f1_swapped`` the macro-F1 on all rows after the swap, next to ``macro_f1`` before it.
    """
    def labels(of: list[dict]) -> list[str]:
        return list(predict([r["text"] for r in of], [r.get("context") or "" for r in of]))

    gold = [r["label"] for r in rows]
    before = labels(rows)
    flips, f1s, swapped_rows = [], [], 0
    for seed in seeds:
        swapped = swap_speakers(rows, 1.0, seed=seed)
        named = [i for i, r in enumerate(swapped) if r.get("speaker_swapped")]
        after = labels(swapped)
        swapped_rows = len(named)
        if named:
            flips.append(sum(before[i] != after[i] for i in named) / len(named))
        f1s.append(evaluate(gold, after, bootstrap=0)["macro_f1"])
    return {"rows": len(rows), "swapped_rows": swapped_rows,
            "flip_rate": sum(flips) / len(flips) if flips else 0.0,
            "macro_f1": evaluate(gold, before, bootstrap=0)["macro_f1"],
            "macro_f1_swapped": sum(f1s) / len(f1s)}
