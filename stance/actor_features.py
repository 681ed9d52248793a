"""Features for the learned actor decision: what the rules found, read with the article around it.

The rules in :mod:`stance.actors` look at one sentence and a short chain of quotes and pronouns;
they miss holders a reader knows from the article (the owner of a law named earlier, the speaker
of a quote two sentences back, the "diplomats" of an allied capital) and take the object of a
stance verb for its holder. The learned layer sees, per sentence:

- the rules' answer and the rule that gave it;
- every gazetteer mention outside quotes, by actor: first or not, at the head of the sentence,
  after a preposition (an object: "warned *about Kyiv's* bid"), possessive, or followed by a
  reporting verb (a subject);
- the article: the rules' answers for the three previous sentences and the first one, and the
  share of the article each actor holds;
- the quote state and whether the line is a headline;
- the sentence's words with every name replaced by its actor (``<russia> warned``), so that what
  is learnt is how holders are expressed, not who they are;
- the sentence's stance label, when known (neutral sentences name no holder more often).

Feature names are strings and values are 1 unless noted; :mod:`stance.actor_model` weighs them.
"""

from __future__ import annotations

import re
from collections import Counter

NONE = "none"
MEDIA = "media"
_OBJECT_WORDS = frozenset({
    "about", "to", "for", "on", "against", "into", "with", "of", "from", "toward", "towards", "at",
    "in", "join", "joining", "admit", "admitting", "by", "over", "between", "that"})
_WORD = re.compile(r"[a-z][a-z'’-]*|<[a-z]+>|§+")
LABEL_PREFIX = "lab:"
_CONTEXT_SENTENCES = 3
_VERB_WINDOW_WORDS = 4
_LOOKBACK_CHARS = 80


def _words(masked: str, mentions) -> list[str]:
    """Lower-cased words of the sentence outside quotes, names replaced by ``<actor>`` and every
    quote by one ``§``."""
    pieces, pos = [], 0
    for m in mentions:
        pieces += [masked[pos:m.start], f" <{m.actor}> "]
        pos = m.end
    pieces.append(masked[pos:])
    words: list[str] = []
    for word in _WORD.findall("".join(pieces).lower()):
        word = "§" if word.startswith("§") else word
        if not (word == "§" and words and words[-1] == "§"):
            words.append(word)
    return words


def _mention_features(sentence, verb_pattern) -> dict[str, float]:
    features: dict[str, float] = {}
    mentions = [m for m in sentence.mentions if m.actor != MEDIA]
    for k, m in enumerate(mentions):
        features[f"m:{m.actor}"] = 1
        features[f"mk:{m.actor}:{m.kind}"] = 1
        if k == 0:
            features[f"m1:{m.actor}"] = 1
            features[f"m1k:{m.actor}:{m.kind}"] = 1
        # A bounded look back keeps a sentence's features linear in its length.
        before = sentence.masked[max(0, m.start - _LOOKBACK_CHARS):m.start].split()
        if m.start <= _LOOKBACK_CHARS and len(before) <= 2:
            features[f"mst:{m.actor}"] = 1
        if before and before[-1].lower() in _OBJECT_WORDS:
            features[f"mobj:{m.actor}"] = 1
        if sentence.masked.startswith(("'s", "’s"), m.end):
            features[f"mpos:{m.actor}"] = 1
        after = sentence.masked[m.end:m.end + 60]
        verb = verb_pattern.search(after)
        if verb and len(after[:verb.start()].split()) <= _VERB_WINDOW_WORDS:
            features[f"msub:{m.actor}"] = 1
    return features


def article_features(prepared, rules, furniture: list[bool], labels: list[str] | None,
                     verb_pattern) -> list[dict[str, float] | None]:
    """One feature dict per sentence of an article (``None`` for furniture).

    ``prepared`` and ``rules`` are the rule pass's per-sentence analyses and answers.
    """
    body = [i for i, f in enumerate(furniture) if not f]
    held = Counter(rules[i].actor for i in body if rules[i].actor != NONE)
    total = max(sum(held.values()), 1)
    first = body[0] if body else None
    out: list[dict[str, float] | None] = []
    previous: list[int] = []
    for i, (s, rule) in enumerate(zip(prepared, rules, strict=True)):
        if furniture[i]:
            out.append(None)
            continue
        features: dict[str, float] = {f"r:{rule.actor}": 1, f"rr:{rule.rule}:{rule.actor}": 1}
        features.update(_mention_features(s, verb_pattern))
        for actor, count in held.items():
            features[f"art:{actor}"] = count / total
        if i == first:
            features["first"] = 1
        else:
            features[f"h:{rules[first].actor}"] = 1
        for distance, j in enumerate(reversed(previous[-_CONTEXT_SENTENCES:]), start=1):
            features[f"p{distance}:{rules[j].actor}"] = 1
            if distance == 1:
                features[f"p1r:{rules[j].rule}:{rules[j].actor}"] = 1
        for flag, on in (("q:open", s.opens_quote), ("q:close", s.closes_quote),
                         ("q:start", s.starts_with_quote()), ("q:most", s.quote_share > 0.5),
                         ("headline", s.headline)):
            if on:
                features[flag] = 1
        words = _words(s.masked, s.mentions)
        for word in words:
            features[f"w:{word}"] = 1
        for a, b in zip(words, words[1:], strict=False):
            features[f"b:{a}_{b}"] = 1
        if labels is not None:
            features[f"{LABEL_PREFIX}{labels[i]}"] = 1
        out.append(features)
        previous.append(i)
    return out
