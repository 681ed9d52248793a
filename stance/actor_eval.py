"""Actor attribution accuracy, per actor and per rule, on held-out articles and sentence files.

Seed sentences and the held-out authored articles (``article_validation``, ``article_test``) are
attributed in their article (the segmenter's sentences, so context such as a quote's earlier
speaker is available) and matched to the gold rows by character offsets; rows of a sentence file
(``text``, ``actor``) are attributed one by one, each as a one-sentence article. The gold stance
labels are given to the learned layer, as the classifier's labels are when tracking. Every set is
measured twice: the rules alone and the rules with the learned decision (the default).

    python -m stance.actor_eval                        # all sets, rules vs learned
    python -m stance.actor_eval --data other.jsonl -v  # another sentence file; list the errors
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from stance.actor_data import labelled_articles
from stance.actors import ActorAttributor
from stance.labels import ACTORS, NEUTRAL
from stance.segment import segment

ROOT = Path(__file__).resolve().parent.parent
NONE_ACTOR = "none"
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
        article_gold = [r for r in gold if r["article"] == article_id]
        # The segmenter sentence covering most of each gold span.
        cover = [max(range(len(sentences)), key=lambda k: min(sentences[k].end, row["end"])
                     - max(sentences[k].start, row["start"])) for row in article_gold]
        labels = [NEUTRAL] * len(sentences)
        for row, best in zip(article_gold, cover, strict=True):
            labels[best] = row["label"]
        found = attributor.attribute([s.text for s in sentences], [s.furniture for s in sentences],
                                     labels, meta.get("published"))
        for row, best in zip(article_gold, cover, strict=True):
            rows.append({**row, "predicted": found[best].actor, "surface": found[best].surface,
                         "rule": found[best].rule})
    return rows


def article_predictions(splits: set[str], attributor: ActorAttributor | None = None,
                        seeds: Path = SEEDS) -> list[dict]:
    """Every labelled sentence of the authored articles in ``splits``, with ``predicted`` added."""
    attributor = attributor or ActorAttributor()
    rows = []
    for article in labelled_articles(splits, seeds):
        found = attributor.attribute(article.texts, article.furniture, article.labels(),
                                     article.published)
        for gold, holder in zip(article.gold, found, strict=True):
            if gold is not None:
                rows.append({"text": gold["text"], "label": gold["label"], "actor": gold["actor"],
                             "holder": gold.get("holder"), "article": article.article_id,
                             "predicted": holder.actor, "surface": holder.surface, "rule": holder.rule,
                             "detail": holder_code(gold.get("holder"), attributor.gazetteer),
                             "predicted_detail": holder.detail})
    return rows


def holder_code(holder: str | None, gazetteer) -> str | None:
    """The code of an annotated holder name ("germany", "usa", "nato") by the gazetteer's details."""
    if not holder or holder in ("none", "other"):
        return None
    for form in (holder.upper(), holder.title(), holder):
        if form in gazetteer.details:
            return gazetteer.details[form]
    return {"ukraine": "UA", "russia": "RU"}.get(holder)


def detail_table(rows: list[dict]) -> dict:
    """``actor_detail`` accuracy on sentences whose annotated holder is a named state, overall and
    for states other than Ukraine and Russia (the allies the coarse actor lumps together)."""
    states = [r for r in rows if r.get("detail") and len(r["detail"]) == 2]
    allies = [r for r in states if r["detail"] not in ("UA", "RU")]

    def accuracy(chosen):
        if not chosen:
            return None
        return round(sum(r["predicted_detail"] == r["detail"] for r in chosen) / len(chosen), 3)
    return {"state_sentences": len(states), "accuracy": accuracy(states),
            "other_state_sentences": len(allies), "other_state_accuracy": accuracy(allies),
            "per_state": {code: {"support": sum(r["detail"] == code for r in states),
                                 "correct": sum(r["detail"] == code == r["predicted_detail"] for r in states)}
                          for code in sorted({r["detail"] for r in states})}}


def file_predictions(path: Path, attributor: ActorAttributor | None = None) -> list[dict]:
    attributor = attributor or ActorAttributor()
    rows = []
    for row in _read_jsonl(path):
        found = attributor.attribute([row["text"]], None, [row["label"]] if "label" in row else None)[0]
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
    per_rule = {}
    for rule in sorted({r["rule"] for r in rows}):
        chosen = [r for r in rows if r["rule"] == rule]
        right = sum(r["predicted"] == r["actor"] for r in chosen)
        per_rule[rule] = {"support": len(chosen), "correct": right,
                          "accuracy": round(right / len(chosen), 3)}
    correct = sum(r["predicted"] == r["actor"] for r in rows)
    none_share = predicted_counts[NONE_ACTOR] / len(rows) if rows else None
    return {"sentences": len(rows), "correct": correct,
            "accuracy": round(correct / len(rows), 3) if rows else None,
            "none_share": round(none_share, 3) if rows else None,
            "per_actor": per_actor, "per_rule": per_rule}


def stance_rows(rows: list[dict]) -> list[dict]:
    """The stance-bearing sentences: the ones tracking counts per actor."""
    return [r for r in rows if r.get("label") != NEUTRAL]


def _cell(value) -> str:
    return "–" if value is None else str(value)


def format_table(title: str, table: dict, rules: dict | None = None) -> str:
    """Markdown for one set; with ``rules`` (the same set, rules alone) a before/after table."""
    head = f"### {title}: accuracy {table['accuracy']} ({table['correct']}/{table['sentences']})"
    if rules is None:
        lines = [head, "", "| actor | sentences | correct | recall | precision |",
                 "|---|---:|---:|---:|---:|"]
        for actor, row in table["per_actor"].items():
            lines.append(f"| {actor} | {row['support']} | {row['correct']} | {_cell(row['recall'])} | "
                         f"{_cell(row['precision'])} |")
    else:
        lines = [head + f" (rules alone {rules['accuracy']}); `none` answers "
                 f"{rules['none_share']} → {table['none_share']}", "",
                 "| actor | sentences | recall, rules | recall, learned | precision, rules | "
                 "precision, learned |", "|---|---:|---:|---:|---:|---:|"]
        for actor, row in table["per_actor"].items():
            before = rules["per_actor"][actor]
            lines.append(f"| {actor} | {row['support']} | {_cell(before['recall'])} | "
                         f"{_cell(row['recall'])} | {_cell(before['precision'])} | "
                         f"{_cell(row['precision'])} |")
    lines += ["", "| rule | sentences | accuracy |", "|---|---:|---:|"]
    for rule, row in table["per_rule"].items():
        lines.append(f"| {rule} | {row['support']} | {row['accuracy']} |")
    return "\n".join(lines)


def format_details(table: dict, rules: dict) -> str:
    lines = [f"`actor_detail` on the {table['state_sentences']} sentences whose holder is a named state: "
             f"**{table['accuracy']}** (rules alone {rules['accuracy']}); states other than Ukraine and "
             f"Russia ({table['other_state_sentences']}): {table['other_state_accuracy']} "
             f"(rules alone {rules['other_state_accuracy']}).", "",
             "| state | sentences | correct |", "|---|---:|---:|"]
    for code, row in table["per_state"].items():
        lines.append(f"| {code} | {row['support']} | {row['correct']} |")
    return "\n".join(lines)


def evaluation_sets(data: list[str] | None, attributor: ActorAttributor) -> list[tuple[str, list[dict]]]:
    sets = [("seed sentences", seed_predictions(attributor=attributor)),
            ("held-out authored articles (article_test), stance sentences",
             stance_rows(article_predictions({"article_test"}, attributor)))]
    for path in data or [str(SEEDS / "actor_test.jsonl")]:
        sets.append((path, file_predictions(Path(path), attributor)))
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stance.actor_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", default=None,
                        help="JSONL sentences with text and actor (default seeds/actor_test.jsonl)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    args = parser.parse_args(argv)
    learned = evaluation_sets(args.data, ActorAttributor())
    rules = evaluation_sets(args.data, ActorAttributor(model=None))
    for (title, rows), (_, rule_rows) in zip(learned, rules, strict=True):
        print(format_table(title, accuracy_table(rows), accuracy_table(rule_rows)))
        print()
        if rows and "predicted_detail" in rows[0]:
            print(format_details(detail_table(rows), detail_table(rule_rows)))
            print()
        if args.verbose:
            for r in rows:
                if r["predicted"] != r["actor"]:
                    print(f"  gold {r['actor']:8} got {r['predicted']:8} ({r['rule']}) {r['text'][:150]}")
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
