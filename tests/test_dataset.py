import json
import shutil
from collections import Counter

import pytest

from stance import dataset
from stance.labels import ACTORS, LABELS
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def splits():
    return dataset.build(SEEDS)


def test_every_seed_sentence_is_labelled(splits):
    seed = splits["seed"]
    assert {r["article_id"][:3] for r in seed} == {"000", "001", "002", "003", "004"}
    assert all(r["label"] in LABELS and r["actor"] in ACTORS for r in seed)
    # The seeds' shift: Ukraine concedes in March 2022 and asks to join in December 2024.
    ukraine = Counter((r["published"][:7], r["label"]) for r in seed if r["actor"] == "ukraine")
    assert ukraine[("2022-03", "conceding")] >= 10
    assert ukraine[("2024-12", "pro-membership")] >= 5


def test_row_schema(splits):
    for name in dataset.SPLITS:
        for row in splits[name]:
            assert set(dataset.FIELDS) <= set(row)
            expected = "seed" if name == "seed" else "article" if name.startswith("article_") else "authored"
            assert row["source"] == expected
            assert row["end"] - row["start"] == len(row["text"])


def test_class_coverage_and_test_split_size(splits):
    authored = splits["train"] + splits["validation"] + splits["test"]
    counts = Counter(r["label"] for r in authored)
    assert len(authored) >= 600
    assert all(counts[label] >= 120 for label in LABELS), counts
    assert len(splits["test"]) >= 150
    assert all(Counter(r["label"] for r in splits["test"])[label] >= 30 for label in LABELS)


def test_splits_do_not_overlap(splits):
    seen = {}
    for name in dataset.SPLITS:
        # Page furniture ("Related:", bylines) may stand in many articles; nothing else may repeat.
        for row in dataset.content_rows(splits[name]):
            assert row["text"] not in seen, (row["text"], seen.get(row["text"]), name)
            seen[row["text"]] = name


def test_no_near_duplicates(splits):
    texts = [r["text"] for r in dataset.content_rows(r for name in dataset.SPLITS for r in splits[name])]
    pairs = dataset.near_duplicates(texts)
    assert not pairs, [(texts[i], texts[j], round(s, 2)) for i, j, s in pairs[:5]]


def test_near_duplicate_check_catches_renamed_copies():
    texts = ["Lavrov said Moscow will never accept Ukraine in NATO, calling it a red line.",
             "Peskov said Moscow will never accept Ukraine in NATO, calling it a red line.",
             "Stoltenberg announced that defence ministers will meet in Brussels on Wednesday."]
    assert [(i, j) for i, j, _ in dataset.near_duplicates(texts)] == [(0, 1)]


def test_rebuild_is_deterministic_and_matches_committed_files(tmp_path, splits):
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    dataset.write(splits, out_a)
    dataset.write(dataset.build(SEEDS), out_b)
    for name in dataset.SPLITS:
        a = (out_a / f"{name}.jsonl").read_bytes()
        assert a == (out_b / f"{name}.jsonl").read_bytes()
        committed = SEEDS / "dataset" / f"{name}.jsonl"
        assert a == committed.read_bytes(), f"{committed} is stale: run `stance dataset build`"
    import datasets

    loaded = datasets.load_from_disk(str(out_a / "hf"))
    assert loaded["test"].num_rows == len(splits["test"])
    assert loaded["train"].features["label"].names == list(LABELS)


def test_label_offsets_must_match_the_articles(tmp_path):
    root = tmp_path / "seeds"
    shutil.copytree(SEEDS, root, ignore=shutil.ignore_patterns("dataset"))
    rows = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines()]
    rows[0]["end"] += 1
    (root / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(dataset.DatasetError, match="no label for"):
        dataset.build(root)


def test_split_assignment_is_stable_when_sentences_are_added(splits):
    authored = splits["train"] + splits["validation"] + splits["test"]
    extra = [dict(authored[0], text=f"Extra sentence number {i} about the alliance.")
             for i in range(20)]
    after = dataset.split_authored(authored + extra)
    for name in ("train", "validation", "test"):
        assert {r["text"] for r in splits[name]} <= {r["text"] for r in after[name]}


def test_articles_are_split_by_article_and_read_in_context(splits):
    where = {}
    for name in dataset.ARTICLE_SPLITS:
        for row in splits[name]:
            assert where.setdefault(row["article_id"], name) == name, row["article_id"]
    articles = {name: {r["article_id"] for r in splits[name]} for name in dataset.ARTICLE_SPLITS}
    assert len(articles["article_test"]) >= 20 and len(articles["article_validation"]) >= 10
    # Real news is about half off-topic: the article splits must be too.
    rows = [r for name in dataset.ARTICLE_SPLITS for r in splits[name]]
    assert 0.4 <= Counter(r["label"] for r in rows)["neutral"] / len(rows) <= 0.7
    assert all(r["context"] for r in rows if r["form"] != "headline")


def test_article_layout_gives_offsets_into_the_text():
    article = {"id": "x",
               "headline": {"text": "Kyiv asks again", "label": "pro-membership", "actor": "ukraine"},
               "paragraphs": [[{"text": "Sirens sounded.", "label": "neutral", "actor": "none"},
                               {"text": "He said Ukraine belongs in NATO.", "label": "pro-membership",
                                "actor": "ukraine"}]]}
    text, spans = dataset.article_text(article)
    assert text == "Kyiv asks again\nSirens sounded. He said Ukraine belongs in NATO.\n"
    assert [text[start:end] for _, start, end in spans] == [
        "Kyiv asks again", "Sirens sounded.", "He said Ukraine belongs in NATO."]


def test_a_disputed_sentence_is_context_but_not_a_row(tmp_path):
    root = tmp_path / "seeds"
    shutil.copytree(SEEDS, root, ignore=shutil.ignore_patterns("dataset", "authored_articles"))
    (root / "authored_articles").mkdir()
    article = {"id": "t-1", "published": "2023-07-11", "source": "Test Wire",
               "headline": {"text": "Allies meet in Vilnius", "label": "neutral", "actor": "nato"},
               "paragraphs": [[{"text": "A disputed sentence about the bid.", "label": None, "actor": "none"},
                               {"text": "He said the door stays open.", "label": "pro-membership",
                                "actor": "nato", "form": "reported"}]]}
    (root / "authored_articles" / "t.jsonl").write_text(json.dumps(article) + "\n")
    rows = [r for name in dataset.ARTICLE_SPLITS for r in dataset.build(root)[name]]
    assert [r["text"] for r in rows] == ["Allies meet in Vilnius", "He said the door stays open."]
    assert rows[1]["context"] == "A disputed sentence about the bid."
    assert rows[1]["start"] == len("Allies meet in Vilnius\nA disputed sentence about the bid. ")
