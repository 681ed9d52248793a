"""A user's corpus with known answers, for studying the review loop without people.

The authored articles (``seeds/authored_articles``) were labelled by two annotators sentence by
sentence (``label``/``actor`` and ``second_label``/``second_actor``). Written out as plain-text
articles they are a corpus to score and review, and the two annotations answer the exported
tasks as two Label Studio annotators would — with their real disagreements. The benchmarks and
the round-trip test use this; nothing in scoring or training does.
"""

from __future__ import annotations

import json
from pathlib import Path

from stance.dataset import SeedPaths, _read_jsonl, article_text, assign_article_split
from stance.review import ACTOR_CONTROL, LABEL_CONTROL, TEXT_OBJECT

ANNOTATORS = ("first", "second")


def write_authored_corpus(seeds_dir: Path, split: str, out_dir: Path,
                          limit: int | None = None) -> dict[tuple[str, str], dict]:
    """Write the authored articles of ``split`` (``article_test``…), at most ``limit``, as
    ``.txt`` files with a ``metadata.jsonl`` (date, outlet); returns their labelled sentences by
    (article id, text)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gold, metadata = {}, []
    paths = SeedPaths(Path(seeds_dir))
    for path in sorted(paths.authored_articles.glob("*.jsonl")):
        for article in _read_jsonl(path):
            article_id = f"article-{article['id']}"
            if assign_article_split(article_id) != split or len(metadata) == limit:
                continue
            text, spans = article_text(article)
            (out_dir / f"{article_id}.txt").write_text(text, encoding="utf-8")
            metadata.append({"file": f"{article_id}.txt", "published": article.get("published"),
                             "source": article.get("source")})
            for sentence, _, _ in spans:
                gold[(article_id, sentence["text"].strip())] = sentence
    (out_dir / "metadata.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metadata),
                                            encoding="utf-8")
    return gold


def _result(label: str | None, actor: str | None) -> list[dict]:
    return [{"from_name": control, "to_name": TEXT_OBJECT, "type": "choices",
             "value": {"choices": [value]}}
            for control, value in ((LABEL_CONTROL, label), (ACTOR_CONTROL, actor)) if value]


def annotate(tasks: list[dict], gold: dict[tuple[str, str], dict]) -> list[dict]:
    """Tasks as Label Studio exports them once both annotators answered: each sentence the
    corpus has labels for gets the first and the second annotation; a sentence the segmenter cut
    differently from the authored one gets none (nobody could answer it as written)."""
    exported = []
    for number, task in enumerate(tasks, start=1):
        data = task["data"]
        sentence = gold.get((data["article_id"], data["text"]))
        annotations = []
        if sentence is not None:
            answers = ((sentence.get("label"), sentence.get("actor")),
                       (sentence.get("second_label", sentence.get("label")),
                        sentence.get("second_actor", sentence.get("actor"))))
            for who, (label, actor) in zip(ANNOTATORS, answers, strict=True):
                if label:
                    annotations.append({"id": len(exported) * 2 + len(annotations),
                                        "completed_by": {"email": who}, "was_cancelled": False,
                                        "ground_truth": False, "result": _result(label, actor)})
        exported.append({"id": number, "data": data, "annotations": annotations,
                         "predictions": task.get("predictions", [])})
    return exported
