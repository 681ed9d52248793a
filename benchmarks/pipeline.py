"""Where `stance score` and `stance track` spend their time, stage by stage, on one corpus.

The corpus is the authored articles (``seeds/authored_articles``) laid out as text, repeated under
new ids up to ``--articles`` and written as one JSONL file, as a user would pass it. In one process,
with the default model as the CLI loads it, each stage is timed on its own — reading the file,
segmentation, building each sentence's context, the classifier alone (``predict_proba`` on all
sentences at once), actor attribution, writing the rows — and then the whole commands, in-process:
``stance score FILE -o rows.jsonl`` and ``stance track FILE --sentences rows.jsonl``. The headline
ratio is end-to-end sentences/s over the classifier's own sentences/s. Best of ``--rounds``.
Writes the ``pipeline`` section of BENCHMARKS.md (``--no-write``: print only).

    .venv/bin/python benchmarks/pipeline.py [--articles 500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from report_section import authored_corpus, machine, publish, write_jsonl  # noqa: E402

from stance.actors import ActorAttributor  # noqa: E402
from stance.articles import read_inputs  # noqa: E402
from stance.cli import main as cli  # noqa: E402
from stance.context import previous_sentences  # noqa: E402
from stance.model import StanceClassifier  # noqa: E402
from stance.output import write_rows  # noqa: E402
from stance.scoring import score_articles  # noqa: E402
from stance.segment import segment  # noqa: E402


def best_of(rounds: int, fn) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="stance-pipeline-"))
    corpus = work / "corpus.jsonl"
    write_jsonl(authored_corpus(args.articles), corpus)
    classifier = StanceClassifier.load(args.model)
    model_args = ["--model", str(classifier.path)] if classifier.path else []

    articles = list(read_inputs([str(corpus)]))
    segmented = [segment(a.text, masthead=a.source) for a in articles]
    texts, contexts = [], []
    for sentences in segmented:
        before = previous_sentences([s.text for s in sentences], [s.furniture for s in sentences])
        for s, context in zip(sentences, before, strict=True):
            if not s.furniture:
                texts.append(s.text)
                contexts.append(context)
    sentences = sum(len(s) for s in segmented)
    scored = list(score_articles(classifier, articles))
    rows = [s.to_row() for r in scored for s in r.sentences]
    attributor = ActorAttributor()

    stages = {
        "read the JSONL file": lambda: list(read_inputs([str(corpus)])),
        "segment": lambda: [segment(a.text, masthead=a.source) for a in articles],
        "context": lambda: [previous_sentences([s.text for s in ss], [s.furniture for s in ss])
                            for ss in segmented],
        "classify (predict_proba, all sentences)": lambda: classifier.predict_proba(texts, contexts=contexts),
        "attribute actors": lambda: [attributor.attribute([s.text for s in r.sentences],
                                                         [s.furniture for s in r.sentences],
                                                         [s.label for s in r.sentences], r.article.published)
                                     for r in scored],
        "write rows (JSONL)": lambda: write_rows(rows, str(work / "rows-w.jsonl"), "jsonl"),
    }
    whole = {
        "`stance score FILE -o rows.jsonl`": lambda: cli(["score", str(corpus), "-o", str(work / "s.jsonl"),
                                                          *model_args]),
        "`stance track FILE --sentences rows.jsonl`": lambda: cli(
            ["track", str(corpus), "-o", str(work / "t.csv"), "--sentences", str(work / "t.jsonl"),
             *model_args]),
    }
    timings = {name: best_of(args.rounds, fn) for name, fn in {**stages, **whole}.items()}
    classify = timings["classify (predict_proba, all sentences)"]
    lines = ["## End to end (`benchmarks/pipeline.py`)", "",
             f"{dt.date.today().isoformat()}, {machine()}; backend `{classifier.backend}`, context "
             f"`{classifier.context}`. {args.articles} authored articles ({sentences:,} sentences, "
             f"{len(texts):,} classified), best of {args.rounds}.", "",
             "| stage | seconds | ms per sentence | share of `stance score` |", "|---|---:|---:|---:|"]
    score = timings["`stance score FILE -o rows.jsonl`"]
    for name, seconds in timings.items():
        lines.append(f"| {name} | {seconds:.2f} | {1000 * seconds / sentences:.3f} | {seconds / score:.0%} |")
    tracked = timings["`stance track FILE --sentences rows.jsonl`"]
    lines += ["", f"`stance score` runs at **{sentences / score:,.0f} sentences/s**, "
              f"{classify / score:.0%} of the classifier's own {sentences / classify:,.0f}/s (goal ≥ 80%); "
              f"`stance track` at {sentences / tracked:,.0f}/s ({tracked / score - 1:+.0%} over `score`)."]
    publish("pipeline", "\n".join(lines), write=not args.no_write, report=timings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
