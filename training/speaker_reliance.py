"""How much each model's labels change when the people its sentences name are swapped.

    python training/speaker_reliance.py models/minilm-stance [MODEL_DIR ...] [--backend torch]

LABELLING.md rule 13: who speaks never decides the label. For every held-out article sentence
and seed sentence that names a person of Ukraine, Russia or NATO, the people are replaced by
people of another side (`stance.augment.swap_speakers`, three draws) and the model predicts
again; the share of labels that change is its reliance on the speaker (`stance.augment.
speaker_reliance`). Prints one JSON line per model and split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stance import dataset
from stance.augment import speaker_reliance
from stance.labels import labels_of
from stance.model import StanceClassifier

SPLITS = ("article_validation", "seed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--seeds-dir", type=Path, default=dataset.SEEDS_DIR)
    args = parser.parse_args()
    splits = dataset.build(args.seeds_dir)
    for path in args.models:
        classifier = StanceClassifier.load(path, backend=args.backend)

        def predict(texts, contexts, classifier=classifier):
            return labels_of(classifier.predict_proba(texts, contexts=contexts))

        for split in SPLITS:
            result = speaker_reliance(predict, splits[split])
            print(json.dumps({"model": path.name, "backend": classifier.backend, "split": split,
                              **{k: round(v, 4) if isinstance(v, float) else v
                                 for k, v in result.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
