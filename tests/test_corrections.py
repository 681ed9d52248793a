import csv
import json

import pytest

from stance.articles import Article
from stance.corrections import (
    TIE,
    CorrectionsError,
    HumanLabels,
    agreement_report,
    read_answers,
    read_labels,
    read_tasks,
    resolve,
)
from stance.review import CSV_FIELDS, csv_row, text_sha256

ARTICLE = Article("a1", "Kyiv wants in. Moscow objects. Rain fell.", published="2022-03-01",
                  source="Daily")
SPANS = [(0, 14), (15, 30), (31, 41)]


def _tasks():
    tasks = []
    for i, (start, end) in enumerate(SPANS):
        text = ARTICLE.text[start:end]
        tasks.append({"data": {"text": text, "context": "", "article_id": "a1", "start": start,
                               "end": end, "text_sha256": text_sha256(text),
                               "model_version": "m", "model_label": "neutral",
                               "model_actor": "none", "published": ARTICLE.published,
                               "source": ARTICLE.source, "sample": "random" if i else "uncertain"},
                      "predictions": []})
    return tasks


def _annotation(who, label, actor=None, truth=False, cancelled=False):
    result = [{"from_name": "label", "to_name": "text", "type": "choices",
               "value": {"choices": [label]}}]
    if actor:
        result.append({"from_name": "actor", "to_name": "text", "type": "choices",
                       "value": {"choices": [actor]}})
    return {"id": 7, "completed_by": {"id": who, "email": f"{who}@lab"}, "result": result,
            "ground_truth": truth, "was_cancelled": cancelled}


def _export(tmp_path, annotations_per_task, tasks=None):
    tasks = tasks or _tasks()
    items = [{"id": i + 1, "data": t["data"], "annotations": anns}
             for i, (t, anns) in enumerate(zip(tasks, annotations_per_task, strict=True))]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(items))
    tasks_path = tmp_path / "tasks.json"
    tasks_path.write_text(json.dumps(_tasks()))
    return path, tasks_path


def test_majority_adjudication_and_ties(tmp_path):
    path, tasks_path = _export(tmp_path, [
        [_annotation("ann", "pro-membership", "ukraine"), _annotation("bob", "pro-membership", "ukraine"),
         _annotation("cyd", "neutral", "none")],
        [_annotation("ann", "opposing", "russia"), _annotation("bob", "neutral", "russia")],
        [_annotation("ann", "neutral"), _annotation("bob", "opposing", truth=True),
         _annotation("cyd", "neutral", cancelled=True)],
    ])
    imported = read_answers([str(path)], read_tasks(str(tasks_path)), {"a1": ARTICLE})
    assert not imported.rejected
    rows, _ = resolve(imported.votes)
    by_start = {r["start"]: r for r in rows}
    assert (by_start[0]["label"], by_start[0]["agreement"], by_start[0]["actor"]) == \
        ("pro-membership", "majority", "ukraine")
    # A tie is not guessed: no label, kept for adjudication; the actor both agree on still counts.
    assert (by_start[15]["label"], by_start[15]["agreement"], by_start[15]["actor"]) == \
        (None, TIE, "russia")
    # Label Studio's ground truth decides; the cancelled annotation is not a vote.
    assert (by_start[31]["label"], by_start[31]["agreement"]) == ("opposing", "adjudicated")
    assert [a["annotator"] for a in by_start[31]["annotators"]] == ["ann@lab", "bob@lab"]
    assert by_start[0]["text_sha256"] == text_sha256(ARTICLE.text[0:14])
    # --adjudicator does what ground truth does.
    adjudicated, _ = resolve(read_answers([str(path)], adjudicator="ann@lab").votes)
    assert {r["start"]: r["label"] for r in adjudicated}[15] == "opposing"


def test_bad_answers_are_rejected_with_their_reason(tmp_path):
    tasks = _tasks()
    tasks[1]["data"] = {**tasks[1]["data"], "text": "Moscow welcomes it."}  # edited in the tool
    stranger = {**tasks[0]["data"], "start": 100, "end": 114}
    path, tasks_path = _export(tmp_path, [
        [_annotation("ann", "favour"), _annotation("bob", "neutral", "martians")],
        [_annotation("ann", "neutral")],
        [_annotation("ann", "neutral")],
    ], tasks)
    items = json.loads(path.read_text())
    items.append({"id": 9, "data": stranger, "annotations": [_annotation("ann", "neutral")]})
    items.append({"id": 10, "data": {"text": "no keys"}, "annotations": [_annotation("ann", "neutral")]})
    path.write_text(json.dumps(items))
    changed = Article("a1", ARTICLE.text.replace("Rain fell.", "Snow fell."))
    imported = read_answers([str(path)], read_tasks(str(tasks_path)), {"a1": changed})
    reasons = [r.reason for r in imported.rejected]
    assert any(r.startswith("unknown label 'favour'") for r in reasons)
    assert any(r.startswith("unknown actor 'martians'") for r in reasons)
    assert any("text hash mismatch: the task's text was edited" in r for r in reasons)
    assert any("article a1 changed since export" in r for r in reasons)
    assert any(r.startswith("unknown task") for r in reasons)
    assert any(r.startswith("missing task") for r in reasons)
    assert all("task" in r.where for r in imported.rejected)
    assert imported.votes == []  # nothing of it applies


def test_filled_csv_from_two_annotators_and_the_agreement_report(tmp_path):
    tasks = _tasks()
    for who, labels in (("ann", ["pro-membership", "opposing", "neutral"]),
                        ("bob", ["pro-membership", "opposing", "opposing"])):
        with (tmp_path / f"{who}.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for t, label in zip(tasks, labels, strict=True):
                writer.writerow({**csv_row(t), "label": label})
            writer.writerow({**csv_row(tasks[0]), "start": "", "label": ""})  # never filled in
    imported = read_answers([str(tmp_path / "ann.csv"), str(tmp_path / "bob.csv")])
    assert imported.unlabelled == 2 and not imported.rejected
    rows, _ = resolve(imported.votes)
    report = agreement_report(rows)
    assert report["annotators"] == ["ann", "bob"]
    assert report["label_agreement"]["items_with_two_or_more"] == 3
    assert report["label_agreement"]["cohen_kappa"] == pytest.approx(0.5)
    assert report["ties"] == 1
    # The model said neutral everywhere: on the random share (two sentences, one tie) it is wrong once.
    random_share = report["model_on_random_share"]
    assert random_share["n"] == 1 and random_share["accuracy"] == 0.0
    low, high = random_share["accuracy_ci95"]
    assert low == 0.0 and 0.5 < high < 1.0  # Wilson: wide, never a point


def test_human_labels_apply_only_while_the_text_is_unchanged(tmp_path):
    text = ARTICLE.text[0:14]
    rows = [{"article_id": "a1", "start": 0, "end": 14, "text_sha256": text_sha256(text), "text": text,
             "label": "pro-membership", "actor": "ukraine"},
            {"article_id": "a1", "start": 15, "end": 30, "text_sha256": "0" * 64, "text": "x",
             "label": None}]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = HumanLabels.from_files([str(path)])
    assert len(labels) == 1  # the tie is not a label
    assert labels.get("a1", 0, 14, text)["label"] == "pro-membership"
    assert labels.get("a1", 0, 14, "Kyiv wants out.") is None
    assert labels.stale and "changed since it was labelled" in labels.stale[0]
    path.write_text('{"article_id": "a1", "start": 0, "end": 3, "text_sha256": "x", "text": "K", '
                    '"label": "maybe"}\n')
    with pytest.raises(CorrectionsError, match="unknown label 'maybe'"):
        read_labels([str(path)])
