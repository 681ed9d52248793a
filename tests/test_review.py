import csv
import json
from collections import Counter

import pytest

from stance.articles import Article
from stance.labels import ACTORS, LABELS, column
from stance.review import (
    RANDOM,
    UNCERTAIN,
    candidates,
    config_path,
    label_config,
    select,
    task,
    text_sha256,
    write,
)


def _row(article, start, text, probs, furniture=False):
    label = LABELS[max(range(4), key=probs.__getitem__)]
    return {"article_id": article, "sentence_index": start, "start": start, "end": start + len(text),
            "text": text, "label": label, "confidence": max(probs), "furniture": furniture,
            "uncertain": False, **{f"p_{column(lab)}": p for lab, p in zip(LABELS, probs, strict=True)}}


def _corpus():
    """Two outlets, two months, sentences from very sure to a coin toss."""
    rows, articles = [], {}
    for a in range(8):
        article_id = f"a{a}"
        articles[article_id] = Article(article_id, "", published=f"2022-0{1 + a % 2}-10",
                                       source=("Outlet A", "Outlet B")[a // 4])
        rows.append(_row(article_id, 0, "Related Articles", [0, 0, 0, 1], furniture=True))
        for s in range(10):
            sure = 0.3 + 0.07 * s
            probs = [sure, (1 - sure) * 0.9, (1 - sure) * 0.05, (1 - sure) * 0.05]
            if (a + s) % 3 == 0:
                probs = probs[::-1]
            rows.append(_row(article_id, 20 * (s + 1), f"Sentence {s} of article {a}.", probs))
    return rows, articles


def test_candidates_skip_furniture_and_read_context_date_and_outlet():
    rows, articles = _corpus()
    pool = candidates(rows, articles)
    assert len(pool) == 80 and not any(c.text == "Related Articles" for c in pool)
    first = next(c for c in pool if c.article_id == "a1" and c.start == 20)
    # The furniture line before it is not context; the next sentence reads the first.
    assert first.context == ""
    assert next(c for c in pool if c.article_id == "a1" and c.start == 40).context == first.text
    assert first.published == "2022-02-10" and first.source == "Outlet A" and first.month == "2022-02"
    assert first.margin == pytest.approx(0.7 * 0.9 - 0.3)  # the two most probable labels


def test_select_mixes_a_random_share_with_the_most_uncertain_of_every_stratum():
    rows, articles = _corpus()
    pool = candidates(rows, articles)
    chosen = select(pool, 24, random_share=0.25, seed=1)
    samples = Counter(s for _, s in chosen)
    assert samples == {UNCERTAIN: 18, RANDOM: 6}
    keys = [(c.article_id, c.start) for c, _ in chosen]
    assert len(set(keys)) == 24  # the uncertain part never repeats the random draw
    uncertain = [c for c, s in chosen if s == UNCERTAIN]
    strata = {(c.label, c.month, c.source) for c in pool}
    # Every stratum is represented before any gives a second sentence.
    assert {(c.label, c.month, c.source) for c in uncertain} == strata
    # Within a stratum the least sure go first.
    for stratum in strata:
        taken = [c for c in uncertain if (c.label, c.month, c.source) == stratum]
        rest = [c for c in pool if (c.label, c.month, c.source) == stratum and c not in taken
                and (c.article_id, c.start) not in keys]
        assert max(c.margin for c in taken) <= min((c.margin for c in rest), default=1.0)
    # The same seed gives the same sample; another seed another random share.
    assert [(c.article_id, c.start, s) for c, s in select(pool, 24, 0.25, seed=1)] == \
        [(c.article_id, c.start, s) for c, s in chosen]
    assert {(c.article_id, c.start) for c, s in select(pool, 24, 0.25, seed=2) if s == RANDOM} != \
        {(c.article_id, c.start) for c, s in chosen if s == RANDOM}


def test_select_by_confidence_and_bounds():
    rows, articles = _corpus()
    pool = candidates(rows, articles)
    assert len(select(pool, 500)) == len(pool)
    only_uncertain = select(pool, 5, random_share=0.0, by="confidence")
    assert all(s == UNCERTAIN for _, s in only_uncertain)
    assert min(c.confidence for c, _ in only_uncertain) == min(c.confidence for c in pool)
    with pytest.raises(ValueError, match="uncertainty"):
        select(pool, 5, by="entropy")


def test_tasks_carry_keys_hash_and_the_prediction_as_label_studio_choices(tmp_path):
    rows, articles = _corpus()
    pool = candidates(rows, articles)
    pool[0].actor = "russia"
    t = task(pool[0], RANDOM, "minilm-stance")
    data = t["data"]
    assert data["text_sha256"] == text_sha256(pool[0].text)
    assert {"text", "context", "article_id", "start", "end", "model_version", "published", "source",
            "sample"} <= set(data)
    result = t["predictions"][0]["result"]
    assert [r["from_name"] for r in result] == ["label", "actor"]
    assert result[0] == {"from_name": "label", "to_name": "text", "type": "choices",
                         "value": {"choices": [pool[0].label]}}
    assert t["predictions"][0]["model_version"] == "minilm-stance"
    out = tmp_path / "tasks.json"
    written = write([t], out, tmp_path / "tasks.csv")
    assert config_path(out) in written and config_path(out).name == "tasks.label_config.xml"
    assert json.loads(out.read_text())[0]["data"]["article_id"] == pool[0].article_id
    with (tmp_path / "tasks.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert table[0]["label"] == "" and table[0]["actor"] == ""
    assert table[0]["text_sha256"] == data["text_sha256"] and table[0]["start"] == str(pool[0].start)


def test_label_config_names_the_controls_the_import_reads():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(label_config())
    choices = {c.get("name"): [x.get("value") for x in c] for c in root.iter("Choices")}
    assert choices == {"label": list(LABELS), "actor": list(ACTORS)}
    assert {t.get("value") for t in root.iter("Text")} == {"$text", "$context"}


@pytest.mark.integration
def test_round_trip_score_export_label_import_rescore_retrain(tiny_model_dir, tmp_path, capsys):
    """The README's loop on a small corpus, answered by the authored articles' two annotators."""
    from stance.cli import main
    from stance.review_sim import annotate, write_authored_corpus
    from tests.conftest import SEEDS

    corpus = tmp_path / "corpus"
    gold = write_authored_corpus(SEEDS, "article_test", corpus, limit=6)
    model = ["--model", str(tiny_model_dir), "--device", "cpu"]
    scored, tasks, table = tmp_path / "scored.jsonl", tmp_path / "tasks.json", tmp_path / "tasks.csv"
    assert main(["score", str(corpus), *model, "-o", str(scored)]) == 0
    assert main(["review", "export", str(scored), "--articles", str(corpus), "-n", "40",
                 "-o", str(tasks), "--csv", str(table), "--model-version", "tiny"]) == 0
    exported = json.loads(tasks.read_text())
    assert len(exported) == 40 and (tmp_path / "tasks.label_config.xml").is_file()
    assert Counter(t["data"]["sample"] for t in exported) == {UNCERTAIN: 30, RANDOM: 10}
    assert all(t["data"]["published"] and t["data"]["source"] for t in exported)
    answers = annotate(exported, gold)
    answers[0]["annotations"][0]["result"][0]["value"]["choices"] = ["maybe"]
    answers[1]["data"] = {**answers[1]["data"], "text": answers[1]["data"]["text"] + " (edited)"}
    (tmp_path / "export.json").write_text(json.dumps(answers))
    labels, report = tmp_path / "labels.jsonl", tmp_path / "report.json"
    capsys.readouterr()
    assert main(["review", "import", str(tmp_path / "export.json"), "-o", str(labels),
                 "--tasks", str(tasks), "--articles", str(corpus), "--report", str(report)]) == 0
    captured = capsys.readouterr()
    assert "unknown label 'maybe'" in captured.err and "text hash mismatch" in captured.err
    assert "Krippendorff's alpha" in captured.out and "random share" in captured.out
    summary = json.loads(report.read_text())
    assert summary["annotators"] == ["first", "second"]
    assert summary["model_on_random_share"]["n"] <= 10
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    human = {(r["article_id"], r["start"], r["end"]): r["label"] for r in rows if r["label"]}
    assert len(human) >= 30
    assert all(r["text"] == gold[(r["article_id"], r["text"])]["text"].strip() for r in rows)

    # Rescoring with the labels: every reviewed sentence carries its human label.
    rescored = tmp_path / "rescored.jsonl"
    assert main(["score", str(corpus), *model, "--labels", str(labels), "-o", str(rescored)]) == 0
    out = [json.loads(line) for line in rescored.read_text().splitlines()]
    by_key = {(r["article_id"], r["start"], r["end"]): r for r in out}
    assert all(by_key[k]["label"] == v and by_key[k]["label_source"] == "human" for k, v in human.items())
    others = {r["label_source"] for r in out if (r["article_id"], r["start"], r["end"]) not in human}
    assert others == {"model"}
    assert f"{len(human)} applied" in capsys.readouterr().err
    sentences = tmp_path / "tracked.jsonl"
    assert main(["track", str(corpus), *model, "--labels", str(labels), "--sentences", str(sentences),
                 "-o", str(tmp_path / "table.csv")]) == 0
    tracked = [json.loads(line) for line in sentences.read_text().splitlines()]
    assert sum(r["label_source"] == "human" for r in tracked) == len(human)

    # Retraining on them: a model of its own, before/after on held-out reviewed articles.
    models = tmp_path / "models"
    assert main(["train", "--extra-labels", str(labels), "--epochs", "1", "--limit-per-label", "12",
                 "--device", "cpu", "--output-dir", str(models),
                 "--baseline-model", str(tiny_model_dir)]) == 0
    (new,) = [p for p in models.iterdir() if p.is_dir()]
    assert new.name.startswith("minilm-stance-user-") and not (models / "minilm-stance").exists()
    metrics = json.loads((new / "metrics.json").read_text())
    user = metrics["user_labels"]
    assert user["holdout_articles"] >= 1 and user["train_articles"] >= 1
    assert user["before_model"] == tiny_model_dir.name
    assert user["before"]["n"] == user["after"]["n"] == user["holdout_sentences"]
    assert "extra_labels" not in metrics["config"]  # a path of this machine
    card = (new / "README.md").read_text()
    assert "The user's reviewed sentences" in card and "before: tiny" in card
