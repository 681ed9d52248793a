"""What a sentence is read with: the article text just before it.

Real news carries stance across sentences — "He added that the door remains open", the second
sentence of a quote, a headline that names the speaker — so a context model reads each sentence
together with the sentence before it. Training (stance.dataset) and scoring (stance.scoring) both
build that context here, so a sentence is read the same way in both.
"""

from __future__ import annotations

from collections.abc import Sequence

# The model reads the previous sentence (``previous``) or nothing (``none``); stored in label_map.json.
CONTEXT_MODES = ("none", "previous")
# Characters of context kept: the tokenizer truncates the context first, this only bounds the work.
MAX_CONTEXT_CHARS = 400


def previous_sentences(texts: Sequence[str], furniture: Sequence[bool] | None = None) -> list[str]:
    """For each sentence, the nearest earlier sentence that is not page furniture ("" for the first).

    Furniture ("Read also: …", "CLICK HERE …") says nothing about who is speaking, so it is skipped.
    """
    furniture = furniture or [False] * len(texts)
    contexts, last = [], ""
    for text, is_furniture in zip(texts, furniture, strict=True):
        contexts.append(last[-MAX_CONTEXT_CHARS:])
        if not is_furniture:
            last = text
    return contexts


def check_mode(mode: str) -> str:
    if mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {mode!r}; expected one of {', '.join(CONTEXT_MODES)}")
    return mode
