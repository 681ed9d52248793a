"""What actor attribution adds to scoring: `stance track` against `stance score` on one corpus.

The corpus is the authored articles (``seeds/authored_articles``) laid out as text and repeated
under new ids up to ``--articles`` articles, so every article has real paragraphs, quotes and
names. In one process, with the default model as loaded by the CLI: ``score`` runs
``stance.scoring.score_articles`` (segmentation, context, the classifier), ``track`` runs
``stance.tracking.track`` (the same scoring, then the rules and the learned actor decision per
article). They take turns, best of ``--rounds``, so load from other jobs falls on both. The rules
alone and the rules plus the learned layer are also timed on the scored sentences, without the
model. Writes the ``attribution`` section of BENCHMARKS.md (``--no-write``: print only).

    .venv/bin/python benchmarks/attribution.py [--articles 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from report_section import authored_corpus, machine, publish  # noqa: E402

from stance.actors import ActorAttributor  # noqa: E402
from stance.articles import article_from_record  # noqa: E402
from stance.model import StanceClassifier  # noqa: E402
from stance.scoring import score_articles  # noqa: E402
from stance.tracking import track  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    articles = [article_from_record(record, f"corpus[{k}]")
                for k, record in enumerate(authored_corpus(args.articles))]
    classifier = StanceClassifier.load(args.model)
    scored = list(score_articles(classifier, articles))
    sentences = sum(len(r.sentences) for r in scored)
    learned, rules = ActorAttributor(), ActorAttributor(model=None)

    def attribute(attributor):
        for r in scored:
            attributor.attribute([s.text for s in r.sentences], [s.furniture for s in r.sentences],
                                 [s.label for s in r.sentences], r.article.published)

    best = {"score": float("inf"), "track": float("inf"), "rules": float("inf"), "learned": float("inf")}
    for _ in range(args.rounds):
        best["score"] = min(best["score"], timed(lambda: list(score_articles(classifier, articles))))
        best["track"] = min(best["track"], timed(lambda: track(classifier, articles, by="month")))
        best["rules"] = min(best["rules"], timed(lambda: attribute(rules)))
        best["learned"] = min(best["learned"], timed(lambda: attribute(learned)))
    added = best["track"] / best["score"] - 1
    text = "\n".join([
        "## Actor attribution's cost (`benchmarks/attribution.py`)", "",
        f"{dt.date.today().isoformat()}, {machine()}; backend `{classifier.backend}`. "
        f"{args.articles} authored articles ({sentences:,} sentences), best of {args.rounds} rounds "
        "taken in turns.", "",
        "| path | seconds | sentences/s |", "|---|---:|---:|",
        f"| `score_articles` (what `stance score` runs) | {best['score']:.1f} | "
        f"{sentences / best['score']:,.0f} |",
        f"| `track` (scoring + attribution) | {best['track']:.1f} | {sentences / best['track']:,.0f} |",
        f"| attribution alone, rules | {best['rules']:.1f} | {sentences / best['rules']:,.0f} |",
        f"| attribution alone, rules + learned decision | {best['learned']:.1f} | "
        f"{sentences / best['learned']:,.0f} |", "",
        f"`track` takes **{added:+.0%}** over `score_articles` (goal: at most +20%); the learned layer "
        f"costs {best['learned'] / best['rules'] - 1:+.0%} over the rules alone.",
    ])
    publish("attribution", text, write=not args.no_write,
            report={**best, "sentences": sentences, "articles": args.articles, "added": added})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
