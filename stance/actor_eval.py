"""Actor attribution accuracy, per actor, on the seed articles and on labelled sentence files.

Seed sentences are attributed in their article (the segmenter's sentences, so context such as a
quote's earlier speaker is available) and matched to the gold rows by character offsets; rows of
a sentence file (``text``, ``actor``) are attributed one by one, each as a one-sentence article.

    python -m stance.actor_eval                        # seeds + seeds/actor_test.jsonl
    python -m stance.actor_eval --data other.jsonl -v  # also list the errors
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from stance.actors import ActorAttributor
from stance.labels import ACTORS
from stance.segment import segment

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_predictions(seeds: Path = SEEDS, attributor: ActorAttributor | None = None) -> list[dict]:
    """Gold seed rows with ``predicted`` and ``surface`` added."""
    attributor = attributor or ActorAttributor()
    gold = _read_jsonl(seeds / "labels.jsonl")
    metadata = {json.loads(line)["file"]: json.loads(line)
                for line in (seeds / "articles" / "metadata.jsonl").read_text().splitlines() if line}
    rows = []
    for file, meta in metadata.items():
        article_id = Path(file).stem
        text = (seeds / "articles" / file).read_text(encoding="utf-8")
        source = None if meta.get("source") in (None, "unknown") else meta["source"]
        sentences = segment(text, masthead=source)
        found = attributor.attribute([s.text for s in sentences], [s.furniture for s in sentences])
        for row in (r for r in gold if r["article"] == article_id):
            # The segmenter sentence covering most of the gold span.
            best = max(range(len(sentences)), key=lambda k: min(sentences[k].end, row["end"])
                       - max(sentences[k].start, row["start"]))
            rows.append({**row, "predicted": found[best].actor, "surface": found[best].surface,
                         "rule": found[best].rule})
    return rows


def file_predictions(path: Path, attributor: ActorAttributor | None = None) -> list[dict]:
    attributor = attributor or ActorAttributor()
    rows = []
    for row in _read_jsonl(path):
        found = attributor.attribute([row["text"]])[0]
        rows.append({**row, "predicted": found.actor, "surface_predicted": found.surface,
                     "rule": found.rule})
    return rows


def accuracy_table(rows: list[dict]) -> dict:
    """Overall accuracy and, per gold actor, support / correct / recall, plus precision."""
    per_actor = {}
    predicted_counts = Counter(r["predicted"] for r in rows)
    for actor in ACTORS:
        gold = [r for r in rows if r["actor"] == actor]
        correct = sum(r["predicted"] == actor for r in gold)
        per_actor[actor] = {
            "support": len(gold), "correct": correct,
            "recall": round(correct / len(gold), 3) if gold else None,
            "precision": round(correct / predicted_counts[actor], 3) if predicted_counts[actor] else None,
        }
    correct = sum(r["predicted"] == r["actor"] for r in rows)
    return {"sentences": len(rows), "correct": correct,
            "accuracy": round(correct / len(rows), 3) if rows else None, "per_actor": per_actor}


def format_table(title: str, table: dict) -> str:
    lines = [f"### {title}: accuracy {table['accuracy']} ({table['correct']}/{table['sentences']})",
             "", "| actor | sentences | correct | recall | precision |", "|---|---:|---:|---:|---:|"]
    for actor, row in table["per_actor"].items():
        lines.append(f"| {actor} | {row['support']} | {row['correct']} | {row['recall']} | "
                     f"{row['precision']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stance.actor_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", default=None,
                        help="JSONL sentences with text and actor (default seeds/actor_test.jsonl)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    args = parser.parse_args(argv)
    attributor = ActorAttributor()
    sets = [("seed sentences", seed_predictions(attributor=attributor))]
    for data in args.data or [str(SEEDS / "actor_test.jsonl")]:
        sets.append((data, file_predictions(Path(data), attributor)))
    for title, rows in sets:
        print(format_table(title, accuracy_table(rows)))
        print()
        if args.verbose:
            for r in rows:
                if r["predicted"] != r["actor"]:
                    print(f"  gold {r['actor']:8} got {r['predicted']:8} ({r['rule']}) {r['text'][:150]}")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
