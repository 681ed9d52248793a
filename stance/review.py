"""Choosing scored sentences for human review and writing them as Label Studio tasks and CSV.

The sample has two parts. The **random** share is drawn uniformly from every content sentence,
so the model's accuracy on it estimates its accuracy on the whole corpus without bias. The
**uncertain** rest goes where a correction teaches the model most: sentences with the smallest
margin between the two most probable labels (or the lowest confidence), taken in turn from every
stratum of predicted label × month × outlet, so one outlet or one busy month cannot fill the
sample on its own. Page furniture is never exported.

Each task keeps what a correction needs to find its sentence again: the article id, the
character offsets, and the SHA-256 of the sentence text, which :mod:`stance.corrections` checks
so that a label never lands on a sentence that has since changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from stance.jsonl import jsonl_rows
from stance.labels import ACTORS, DEFAULT_SCHEMA, LABELS, LabelSchema, column

UNCERTAIN = "uncertain"
RANDOM = "random"
SAMPLES = (UNCERTAIN, RANDOM)
UNCERTAINTY = ("margin", "confidence")
# Names of the Label Studio controls: the import reads choices by these names.
LABEL_CONTROL = "label"
ACTOR_CONTROL = "actor"
TEXT_OBJECT = "text"
UNKNOWN = "unknown"
# The columns of the CSV for spreadsheet users; ``label`` and ``actor`` are left to fill in.
CSV_FIELDS = ("article_id", "start", "end", "text_sha256", "sample", "published", "source",
              "model_version", "model_label", "model_confidence", "model_actor", "context", "text",
              "label", "actor", "annotator", "comment")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Candidate:
    """One content sentence of a `stance score` file, with what the sampler and the task need."""

    article_id: str
    index: int
    start: int
    end: int
    text: str
    context: str
    label: str
    confidence: float
    margin: float
    published: str | None = None
    source: str | None = None
    actor: str | None = None

    @property
    def month(self) -> str:
        return self.published[:7] if self.published else UNKNOWN

    def uncertainty(self, by: str) -> float:
        """Smaller is more uncertain."""
        return self.margin if by == "margin" else self.confidence


class ReviewError(ValueError):
    """A scored file that cannot be sampled; the message names the file and line."""


def _probabilities(row: dict, where: str) -> list[float]:
    try:
        return [float(row[f"p_{column(label)}"]) for label in LABELS]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReviewError(f"{where}: not a `stance score` row (needs p_{column(LABELS[0])} … "
                          f"p_{column(LABELS[-1])}): {exc}") from None


def read_scored(paths: Iterable[str]) -> list[dict]:
    """The rows of `stance score` JSONL files, in file order."""
    rows = []
    for path in paths:
        for number, row in jsonl_rows(path, ReviewError):
            missing = [k for k in ("article_id", "start", "end", "text", "label") if k not in row] \
                if isinstance(row, dict) else ["an object"]
            if missing:
                raise ReviewError(f"{path}:{number}: not a `stance score` row (missing "
                                  f"{', '.join(missing)}); pass the -o file of `stance score`")
            row["_where"] = f"{path}:{number}"
            rows.append(row)
    return rows


def candidates(rows: list[dict], articles: dict | None = None, attributor=None) -> list[Candidate]:
    """Content sentences with their context, date, outlet and (with ``attributor``) actor.

    ``articles`` maps article ids to :class:`stance.articles.Article` for the date and outlet
    when the rows do not carry them (`stance score` rows do not).
    """
    from stance.context import previous_sentences

    by_article: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_article[row["article_id"]].append(row)
    found = []
    for article_id, members in by_article.items():
        members.sort(key=lambda r: (r["start"], r["end"]))
        furniture = [bool(r.get("furniture")) for r in members]
        contexts = previous_sentences([r["text"] for r in members], furniture)
        article = (articles or {}).get(article_id)
        published = members[0].get("published") or (article.published if article else None)
        source = members[0].get("source") or (article.source if article else None)
        actors = [None] * len(members)
        if attributor is not None:
            actors = [a.actor for a in attributor.attribute([r["text"] for r in members], furniture,
                                                            [r["label"] for r in members], published)]
        seen = set()
        for row, context, is_furniture, actor in zip(members, contexts, furniture, actors, strict=True):
            key = (row["start"], row["end"])
            if is_furniture or key in seen:
                continue
            seen.add(key)
            probs = sorted(_probabilities(row, row.get("_where", article_id)), reverse=True)
            found.append(Candidate(article_id, int(row.get("sentence_index", len(seen) - 1)),
                                   int(row["start"]), int(row["end"]), row["text"], context,
                                   row["label"], probs[0], probs[0] - probs[1], published, source,
                                   actor))
    return found


def select(pool: list[Candidate], n: int, random_share: float = 0.25, by: str = "margin",
           seed: int = 13) -> list[tuple[Candidate, str]]:
    """``n`` sentences: ``round(n * random_share)`` drawn uniformly, the rest the most uncertain
    taken round-robin over strata (predicted label, month, outlet).

    The random share is drawn first and from everything, so it stays a uniform sample of the
    corpus; the uncertain part never repeats a sentence of it. Within a round the strata go most
    uncertain first, so when ``n`` is smaller than the number of strata the least sure ones win.
    """
    if by not in UNCERTAINTY:
        raise ValueError(f"unknown uncertainty {by!r}; expected one of {', '.join(UNCERTAINTY)}")
    if not 0.0 <= random_share <= 1.0:
        raise ValueError(f"random_share must be between 0 and 1, got {random_share}")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    n = min(n, len(pool))
    rng = random.Random(seed)
    n_random = min(round(n * random_share), n)
    order = list(range(len(pool)))
    drawn = set(rng.sample(order, n_random))
    chosen = [(pool[i], RANDOM) for i in sorted(drawn)]
    strata: dict[tuple, list[Candidate]] = defaultdict(list)
    for i in order:
        if i not in drawn:
            c = pool[i]
            strata[(c.label, c.month, c.source or UNKNOWN)].append(c)
    for members in strata.values():
        members.sort(key=lambda c: (c.uncertainty(by), c.article_id, c.start))
    queues = list(strata.values())
    wanted = n - n_random
    while wanted > 0 and queues:
        queues.sort(key=lambda q: (q[0].uncertainty(by), q[0].article_id, q[0].start))
        for queue in queues:
            if wanted == 0:
                break
            chosen.append((queue.pop(0), UNCERTAIN))
            wanted -= 1
        queues = [q for q in queues if q]
    return chosen


def label_config(schema: LabelSchema = DEFAULT_SCHEMA) -> str:
    """The Label Studio labelling interface: the sentence, its context, the labels, the actor."""
    labels = "\n".join(f"    <Choice value={quoteattr(label)}/>" for label in schema.labels)
    actors = "\n".join(f"    <Choice value={quoteattr(actor)}/>" for actor in ACTORS)
    return f"""<View>
  <Header value="Sentence read before it"/>
  <Text name="context" value="$context"/>
  <Header value={quoteattr(f"Sentence to label: its stance toward {schema.target} (seeds/LABELLING.md)")}/>
  <Text name="{TEXT_OBJECT}" value="$text"/>
  <Choices name="{LABEL_CONTROL}" toName="{TEXT_OBJECT}" choice="single" required="true" showInline="true">
{labels}
  </Choices>
  <Header value="Who holds the stance"/>
  <Choices name="{ACTOR_CONTROL}" toName="{TEXT_OBJECT}" choice="single" showInline="true">
{actors}
  </Choices>
</View>
"""


def _choice(control: str, value: str) -> dict:
    return {"from_name": control, "to_name": TEXT_OBJECT, "type": "choices",
            "value": {"choices": [value]}}


def task(candidate: Candidate, sample: str, model_version: str) -> dict:
    """One task in Label Studio's JSON import format, the model's answer as a pre-annotation."""
    c = candidate
    result = [_choice(LABEL_CONTROL, c.label)]
    if c.actor is not None:
        result.append(_choice(ACTOR_CONTROL, c.actor))
    return {
        "data": {"text": c.text, "context": c.context, "article_id": c.article_id,
                 "sentence_index": c.index, "start": c.start, "end": c.end,
                 "text_sha256": text_sha256(c.text), "model_version": model_version,
                 "model_label": c.label, "model_confidence": round(c.confidence, 6),
                 "model_actor": c.actor, "published": c.published, "source": c.source,
                 "sample": sample},
        "predictions": [{"model_version": model_version, "score": round(c.confidence, 6),
                         "result": result}],
    }


def csv_row(t: dict) -> dict:
    data = t["data"]
    return {name: ("" if data.get(name) is None else data.get(name)) if name in data else ""
            for name in CSV_FIELDS}


def config_path(tasks_path: Path) -> Path:
    """``tasks.json`` → ``tasks.label_config.xml`` beside it."""
    return tasks_path.with_name(f"{tasks_path.stem}.label_config.xml")


def write(tasks: list[dict], tasks_path: Path | None, csv_path: Path | None) -> list[Path]:
    written = []
    if tasks_path is not None:
        tasks_path.parent.mkdir(parents=True, exist_ok=True)
        tasks_path.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        config = config_path(tasks_path)
        config.write_text(label_config(), encoding="utf-8")
        written += [tasks_path, config]
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        # utf-8-sig: Excel reads a CSV as UTF-8 only when it starts with the byte-order mark.
        with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(csv_row(t) for t in tasks)
        written.append(csv_path)
    return written
