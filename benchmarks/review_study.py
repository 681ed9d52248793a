"""The review loop's simulated study: does retraining on reviewed sentences help, and does the
export's uncertainty sampling beat random sampling of the same size?

The "user's corpus" is the authored article *test* split (never trained on or selected with by
the default model), written out as plain-text articles. Its articles are split in two by a hash of
the id: the **pool**, scored by the model and sampled for review, and the **rest**, on which
every model is measured. For each budget (100, 200, 400 labels) and each sampler — the export's
(``stance review export``: 25% random, the rest the smallest margins round-robin over label ×
month × outlet) and a plain random draw of the same size — the sampled sentences are answered by
the articles' two annotators (:mod:`stance.review_sim`), imported through
:mod:`stance.corrections` (ties left out), and a model is fine-tuned with the default recipe plus
those labels (``TrainingConfig.extra_labels``). Macro-F1 on the rest, with its bootstrap 95%
interval, is reported against the model before retraining.

Six fine-tunes of the default recipe: about 8 min each at the default 3 epochs on 2 quiet cores.
``--epochs 1 --baseline`` gives a quicker, weaker version of the same curves, measured against a
seventh fine-tune of that shorter recipe without the user's labels (the default model is trained
for 3 epochs, so it is no baseline for 1-epoch models).

    python benchmarks/review_study.py --epochs 3 --out docs/review_study.json
    python benchmarks/review_study.py --epochs 1 --baseline --out docs/review_study.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stance import corrections, dataset, locate, review  # noqa: E402
from stance.articles import Article, read_inputs  # noqa: E402
from stance.review_sim import annotate, write_authored_corpus  # noqa: E402
from stance.scoring import score_articles  # noqa: E402

SPLIT = "article_test"
BUDGETS = (100, 200, 400)
SAMPLERS = {"uncertainty (export)": 0.25, "random": 1.0}


def _in_pool(article_id: str) -> bool:
    return int(hashlib.sha256(("study:" + article_id).encode()).hexdigest()[:8], 16) % 2 == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="the model before retraining (default model)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default="out/review_study.json")
    parser.add_argument("--baseline", action="store_true",
                        help="also fine-tune the same recipe without the user's labels (needed when "
                             "--epochs differs from the default model's)")
    parser.add_argument("--no-train", action="store_true",
                        help="sample, annotate and report agreement only (no fine-tuning: seconds)")
    args = parser.parse_args(argv)

    from stance.model import StanceClassifier
    from stance.train import TrainingConfig, evaluate_classifier, train

    base_dir = locate.model_dir(args.model)
    base = StanceClassifier.load(base_dir, device=args.device)
    work = Path(tempfile.mkdtemp(prefix="review-study-"))
    gold = write_authored_corpus(locate.seeds_dir(), SPLIT, work / "corpus")
    articles = {a.id: a for a in read_inputs([str(work / "corpus")]) if isinstance(a, Article)}
    pool_articles = [a for i, a in articles.items() if _in_pool(i)]
    rest = [r for r in dataset.build(locate.seeds_dir())[SPLIT] if not _in_pool(r["article_id"])]
    rows = [s.to_row() for result in score_articles(base, pool_articles) for s in result.sentences]
    pool = review.candidates(rows, articles)
    report = {"model_before": base_dir.name, "epochs": args.epochs, "corpus_split": SPLIT,
              "pool_articles": len(pool_articles), "pool_sentences": len(pool),
              "rest_articles": len({r["article_id"] for r in rest}), "rest_sentences": len(rest),
              "before": evaluate_classifier(base, rest, 1000), "runs": []}
    print(f"before: macro-F1 {report['before']['macro_f1']:.3f} on {len(rest)} sentences", file=sys.stderr)
    if args.baseline and not args.no_train:
        # The same recipe without the user's labels: what the labels add, whatever the epochs.
        config = TrainingConfig(name="study-baseline", output_dir=str(work / "models"),
                                epochs=args.epochs, device=args.device, bootstrap=0)
        train(config)
        baseline = StanceClassifier.load(work / "models" / config.name, device=args.device)
        report["baseline"] = evaluate_classifier(baseline, rest, 1000)
        print(f"baseline (no user labels, {args.epochs} epochs): macro-F1 "
              f"{report['baseline']['macro_f1']:.3f}", file=sys.stderr)
    for budget in args.budgets:
        for sampler, random_share in SAMPLERS.items():
            chosen = review.select(pool, budget, random_share, seed=args.seed)
            tasks = [review.task(c, sample, base_dir.name) for c, sample in chosen]
            answers = work / f"export-{budget}-{random_share}.json"
            answers.write_text(json.dumps(annotate(tasks, gold)), encoding="utf-8")
            imported = corrections.read_answers([str(answers)])
            labelled, _ = corrections.resolve(imported.votes)
            agreement = corrections.agreement_report(labelled)
            labels = work / f"labels-{budget}-{random_share}.jsonl"
            corrections.write_labels([r for r in labelled if r["label"]], str(labels))
            run = {"budget": budget, "sampler": sampler,
                   "labelled": sum(r["label"] is not None for r in labelled),
                   "label_alpha": agreement["label_agreement"]["krippendorff_alpha"],
                   "model_before_on_random_share": agreement["model_on_random_share"],
                   "model_before_on_sample": agreement["model_on_all_reviewed"]}
            report["runs"].append(run)
            if args.no_train:
                print(f"{budget} {sampler}: {run['labelled']} labelled, alpha "
                      f"{run['label_alpha']:.3f}", file=sys.stderr)
                continue
            config = TrainingConfig(name=f"study-{budget}-{random_share}", output_dir=str(work / "models"),
                                    epochs=args.epochs, device=args.device, extra_labels=[str(labels)],
                                    extra_holdout=0.0, bootstrap=0)
            train(config)
            after = StanceClassifier.load(work / "models" / config.name, device=args.device)
            result = evaluate_classifier(after, rest, 1000)
            run.update(macro_f1=result["macro_f1"], macro_f1_ci95=result["macro_f1_ci95"],
                       accuracy=result["accuracy"])
            print(f"{budget} {sampler}: macro-F1 {run['macro_f1']:.3f}", file=sys.stderr)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"before": report["before"]["macro_f1"],
                      "runs": [(r["budget"], r["sampler"], r["labelled"], r.get("macro_f1"))
                               for r in report["runs"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
