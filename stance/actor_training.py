"""Train the learned actor decision on the labelled authored articles.

    python -m stance.actor_training          # writes stance/data/actor_model.json

Training uses the ``article_train`` articles and the ``train`` split of the isolated authored
sentences (``seeds/authored``: one-sentence articles, where analysts, other states and sentences
with no holder at all are common, unlike in the articles). The regularisation strength is chosen
on the validation halves of both (mean accuracy on stance-bearing sentences, the ones tracking
counts); ``article_test``, the authored ``test`` split, ``seeds/actor_test.jsonl`` and the seed
articles stay for :mod:`stance.actor_eval`. Features read the gold stance labels here and the
classifier's labels when tracking.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from stance.actor_data import labelled_articles
from stance.actor_features import article_features
from stance.actor_model import DEFAULT_RESOURCE, ActorModel, fit
from stance.actors import _VERB, ActorAttributor
from stance.dataset import SEEDS_DIR, SeedPaths, assign_split, authored_rows
from stance.labels import NEUTRAL

C_GRID = (0.3, 1.0, 3.0)


Examples = tuple[list[dict], list[str], list[str]]  # feature dicts, gold actors, gold labels


def article_examples(split: str, seeds: Path = SEEDS_DIR) -> Examples:
    """Every labelled sentence of the authored articles of an ``article_*`` split."""
    rules = ActorAttributor(model=None)
    rows, actors, labels = [], [], []
    for article in labelled_articles({split}, seeds):
        prepared, found = rules.rule_pass(article.texts, article.furniture, article.published)
        features = article_features(prepared, found, article.furniture, article.labels(), _VERB)
        for row, gold in zip(features, article.gold, strict=True):
            if gold is not None and row is not None:
                rows.append(row)
                actors.append(gold["actor"])
                labels.append(gold["label"])
    return rows, actors, labels


def sentence_examples(split: str, seeds: Path = SEEDS_DIR) -> Examples:
    """The isolated authored sentences of a ``train``/``validation``/``test`` split."""
    rules = ActorAttributor(model=None)
    rows, actors, labels = [], [], []
    for record in authored_rows(SeedPaths(seeds)):
        if assign_split(record["text"]) != split:
            continue
        prepared, found = rules.rule_pass([record["text"]], [False], record.get("published"))
        rows += article_features(prepared, found, [False], [record["label"]], _VERB)
        actors.append(record["actor"])
        labels.append(record["label"])
    return rows, actors, labels


def _joined(*parts: Examples) -> Examples:
    return tuple(sum((list(p[k]) for p in parts), []) for k in range(3))  # type: ignore[return-value]


def stance_accuracy(model: ActorModel, rows, actors, labels) -> float:
    picked = [k for k, label in enumerate(labels) if label != NEUTRAL]
    predicted = model.predict([rows[k] for k in picked])
    return sum(p == actors[k] for (p, _), k in zip(predicted, picked, strict=True)) / len(picked)


def train(seeds: Path = SEEDS_DIR) -> ActorModel:
    train_rows, train_actors, _ = _joined(article_examples("article_train", seeds),
                                          sentence_examples("train", seeds))
    validation = (article_examples("article_validation", seeds), sentence_examples("validation", seeds))
    scored = []
    for c in C_GRID:
        model = fit(train_rows, train_actors, c)
        accuracy = sum(stance_accuracy(model, *part) for part in validation) / len(validation)
        scored.append((accuracy, -c, model))
    accuracy, _, best = max(scored, key=lambda t: t[:2])  # ties: the stronger regularisation
    best.info.update({"trained_on": "article_train articles + train authored sentences",
                      "sentences": len(train_rows),
                      "selected_on": "mean stance-sentence accuracy on article_validation and "
                                     "the validation authored sentences",
                      "validation_accuracy": round(accuracy, 4),
                      "grid": {str(-negc): round(a, 4) for a, negc, _ in scored}})
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stance.actor_training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=SEEDS_DIR)
    parser.add_argument("--output", type=Path, default=None,
                        help=f"where to write the model (default the package's {DEFAULT_RESOURCE})")
    args = parser.parse_args(argv)
    model = train(args.seeds)
    output = args.output or Path(str(resources.files("stance").joinpath(DEFAULT_RESOURCE)))
    model.save(output)
    print(f"wrote {output}: {len(model.features)} features, C={model.info['C']}, "
          f"validation accuracy {model.info['validation_accuracy']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
