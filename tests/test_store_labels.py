import json

import pytest

from stance.articles import Article, read_inputs
from stance.corrections import HumanLabels
from stance.incremental import model_version, score_store
from stance.labels import ACTORS, LABELS
from stance.review import text_sha256
from stance.store import open_store, timeline
from stance.store_labels import ADDED, REJECTED, REMOVED, REPLACED, UNCHANGED, import_labels
from stance.tracking import aggregate, track
from tests.conftest import ARTICLES
from tests.test_cli import FakeClassifier


def _inputs(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir(exist_ok=True)
    (extra / "undated.txt").write_text("Lavrov said Kyiv must never join NATO.\nStoltenberg disagreed.")
    (extra / "2021-01-03-new-year.txt").write_text("Zelensky said Ukraine belongs in NATO.")
    return [str(ARTICLES), str(extra)]


def _stored(tmp_path, inputs, name="c.duckdb"):
    db = open_store(str(tmp_path / name))
    list(db.ingest(a for a in read_inputs(inputs) if isinstance(a, Article)))
    score_store(db, FakeClassifier())
    return db


def _corrections(db, every=3) -> list[dict]:
    """Label rows for every ``every``-th content sentence: the label the model did not give
    (a stance where it said neutral, so counts, shares and dominant stances move), an actor on
    every other one (sometimes the one the rules named, sometimes another)."""
    sentences = db.db.execute(
        """SELECT a.key, s.start_char, s.end_char, s.text, p.label, p.actor FROM sentences s
           JOIN articles a ON a.id = s.article_id
           JOIN predictions p ON p.article_id = s.article_id AND p.sentence_index = s.sentence_index
           WHERE NOT s.furniture ORDER BY s.article_id, s.sentence_index""").fetchall()
    rows = []
    for n, (key, start, end, text, label, actor) in enumerate(sentences[::every]):
        human = LABELS[(LABELS.index(label) + 1 + n) % len(LABELS)]
        if human == label:
            human = LABELS[(LABELS.index(label) + 1) % len(LABELS)]
        row = {"article_id": key, "start": start, "end": end, "text_sha256": text_sha256(text),
               "text": text, "label": human, "actor": None, "agreement": "unanimous",
               "annotators": [{"annotator": "a", "label": human, "actor": None}]}
        if n % 2:
            row["actor"] = actor if n % 4 == 1 else ACTORS[(ACTORS.index(actor) + 1) % len(ACTORS)]
        rows.append(row)
    return rows


@pytest.mark.parametrize("by, by_actor, min_confidence", [("month", False, None), ("week", True, 0.3),
                                                          ("quarter", "detail", None)])
def test_the_timeline_with_human_labels_equals_track_with_labels_on_the_files(
        tmp_path, by, by_actor, min_confidence):
    inputs = _inputs(tmp_path)
    with _stored(tmp_path, inputs) as db:
        rows = _corrections(db)
        outcomes = import_labels(db, [(str(i), r) for i, r in enumerate(rows)])
        assert [o.status for o in outcomes] == [ADDED] * len(rows)
        from_sql = timeline(db, model_version(FakeClassifier()), by, by_actor, min_confidence)
    labels = HumanLabels(rows)
    tracking = track(FakeClassifier(), read_inputs(inputs), by=by, min_confidence=min_confidence,
                     labels=labels)
    assert len(labels.applied) == len(rows) and not labels.stale
    assert from_sql == aggregate(tracking.sentences, by_actor)
    # The corrections moved the table: it is not the model's any more.
    plain = aggregate(track(FakeClassifier(), read_inputs(inputs), by=by,
                            min_confidence=min_confidence).sentences, by_actor)
    assert from_sql != plain


def test_importing_again_changes_nothing_and_a_later_review_replaces_the_earlier(tmp_path):
    with _stored(tmp_path, _inputs(tmp_path)) as db:
        rows = _corrections(db, every=5)
        import_labels(db, [(str(i), r) for i, r in enumerate(rows)])
        stored = db.db.execute("SELECT * EXCLUDE (imported_at) FROM human_labels ORDER BY ALL").fetchall()
        again = import_labels(db, [(str(i), r) for i, r in enumerate(rows)])
        assert {o.status for o in again} == {UNCHANGED}
        assert db.db.execute("SELECT * EXCLUDE (imported_at) FROM human_labels "
                             "ORDER BY ALL").fetchall() == stored
        first = rows[0]
        other = next(label for label in LABELS if label != first["label"])
        tie = {**rows[1], "label": None, "agreement": "tie"}
        later = import_labels(db, [("later", {**first, "label": other}), ("tie", tie)])
        assert [o.status for o in later] == [REPLACED, REMOVED]
        assert db.human_label_count() == len(rows) - 1
        [(label,)] = db.db.execute("SELECT label FROM human_labels h JOIN articles a ON a.id = h.article_id "
                                   "WHERE a.key = ? AND h.start_char = ?",
                                   [first["article_id"], first["start"]]).fetchall()
        assert label == other


def test_rows_that_do_not_match_the_store_are_reported_and_the_good_ones_applied(tmp_path):
    with _stored(tmp_path, _inputs(tmp_path)) as db:
        good, second = _corrections(db, every=7)[:2]
        bad = {
            "hash": {**second, "text_sha256": text_sha256("something else")},
            "article": {**good, "article_id": "no-such-article"},
            "offsets": {**good, "start": good["start"] + 1},
            "label": {**good, "label": "maybe"},
            "actor": {**good, "actor": "martians"},
            "shape": ["not", "a", "row"],
        }
        outcomes = import_labels(db, [("good", good), *bad.items()])
        assert outcomes[0].status == ADDED and db.human_label_count() == 1
        reasons = {o.where: o.reason for o in outcomes[1:]}
        assert all(o.status == REJECTED for o in outcomes[1:])
        assert reasons["hash"].startswith("text hash mismatch")
        assert reasons["article"].startswith("unknown article 'no-such-article'")
        assert reasons["offsets"].startswith("unknown sentence")
        assert "unknown label 'maybe'" in reasons["label"] and "unknown actor 'martians'" in reasons["actor"]
        assert reasons["shape"].startswith("not a label row")


def test_a_model_scoring_after_the_import_counts_the_human_labels_too(tmp_path):
    from tests.test_store import VersionedFake

    inputs = _inputs(tmp_path)
    with _stored(tmp_path, inputs) as db:
        rows = _corrections(db)
        import_labels(db, [(str(i), r) for i, r in enumerate(rows)])
        later = VersionedFake("fake-2", salt="x")
        score_store(db, later)
        from_sql = timeline(db, "fake-2", "month", True)
    tracking = track(VersionedFake("fake-2", salt="x"), read_inputs(inputs), labels=HumanLabels(rows))
    assert from_sql == aggregate(tracking.sentences, True)


def _review_round(tmp_path, monkeypatch):
    """ingest → score --db → review export --db → (a filled-in CSV) → review import --db."""
    import csv

    from stance import cli
    from stance.cli import main

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    inputs = _inputs(tmp_path)
    db = str(tmp_path / "c.duckdb")
    assert main(["ingest", *inputs, "--db", db]) == 0
    assert main(["score", "--db", db]) == 0
    tasks = tmp_path / "tasks.csv"
    assert main(["review", "export", "--db", db, "-n", "12", "--csv", str(tasks)]) == 0
    with tasks.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for n, row in enumerate(rows):
        row["label"] = LABELS[(LABELS.index(row["model_label"]) + 1 + n % 3) % len(LABELS)]
        row["annotator"] = "ann"
    filled = tmp_path / "filled.csv"
    with filled.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    labels = tmp_path / "labels.jsonl"
    assert main(["review", "import", str(filled), "--db", db, "-o", str(labels)]) == 0
    return inputs, db, rows, labels


def test_the_review_round_trip_through_the_store_shows_in_track_export_and_network(
        tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    from stance.cli import main

    inputs, db, rows, labels = _review_round(tmp_path, monkeypatch)
    assert {r["model_version"] for r in rows} == {"fake:fake"}
    err = capsys.readouterr().err
    assert f"human labels in {db}: 12 added" in err
    assert main(["review", "import", str(tmp_path / "filled.csv"), "--db", db]) == 0
    assert "12 unchanged" in capsys.readouterr().err
    options = ["--by", "month", "--by-actor"]
    for name, source in (("files", [*inputs, "--labels", str(labels)]), ("store", ["--db", db])):
        out = tmp_path / name
        assert main(["track", *source, *options, "-o", str(out / "t.csv"),
                     "--html", str(out / "p.html"), "--sentences", str(out / "s.jsonl")]) == 0
        assert main(["network", *source, "--by", "month", "--edges", str(out / "e.csv")]) == 0
    for name in ("t.csv", "p.html", "s.jsonl", "e.csv"):
        assert (tmp_path / "store" / name).read_bytes() == (tmp_path / "files" / name).read_bytes(), name
    sentences = [json.loads(line) for line in (tmp_path / "store" / "s.jsonl").read_text().splitlines()]
    assert sum(s["label_source"] == "human" for s in sentences) == 12
    # A second export leaves out what has been reviewed.
    again = tmp_path / "again.csv"
    assert main(["review", "export", "--db", db, "-n", "500", "--csv", str(again)]) == 0
    reviewed = {(r["article_id"], r["start"]) for r in rows}
    import csv
    with again.open(encoding="utf-8-sig", newline="") as handle:
        assert not reviewed & {(r["article_id"], r["start"]) for r in csv.DictReader(handle)}
    assert main(["export", "--db", db, "--format", "parquet", "-o", str(tmp_path / "pq")]) == 0
    table = pq.read_table(tmp_path / "pq" / "sentences").to_pylist()
    human = [r for r in table if r["label_source"] == "human"]
    assert len(human) == 12 and all(r["confidence"] == 1.0 for r in human)
    by_key = {(r["article_key"], r["start"]): r["label"] for r in human}
    assert by_key == {(r["article_id"], int(r["start"])): r["label"] for r in rows}


def test_label_files_go_into_the_store_and_bad_rows_are_named(tmp_path, monkeypatch, capsys):
    from stance.cli import main

    inputs, db, rows, labels = _review_round(tmp_path, monkeypatch)
    other = tmp_path / "other.duckdb"
    assert main(["ingest", *inputs, "--db", str(other)]) == 0
    assert main(["score", "--db", str(other)]) == 0
    changed = [json.loads(line) for line in labels.read_text().splitlines()]
    changed[0]["text_sha256"] = text_sha256("edited")
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in changed))
    capsys.readouterr()
    assert main(["review", "store", str(edited), "--db", str(other)]) == 0
    err = capsys.readouterr().err
    assert "not applied" in err and "text hash mismatch" in err and "11 added, 1 rejected" in err
    assert main(["track", "--db", str(other), "--labels", str(labels)]) == 2
    assert "stance review import … --db" in capsys.readouterr().err
    assert main(["score", "--db", str(other), "--labels", str(labels)]) == 2
    assert "stance review store LABELS.jsonl --db" in capsys.readouterr().err
    assert main(["review", "import", str(tmp_path / "filled.csv")]) == 2  # neither -o nor --db


def test_an_older_store_reads_as_before_and_takes_labels_once_migrated(tmp_path):
    from stance import store as store_module

    path = str(tmp_path / "old.duckdb")
    with _stored(tmp_path, _inputs(tmp_path), "old.duckdb") as db:
        before = timeline(db, "fake:fake")
        # What the previous release left: schema 1, without the human-label tables.
        db.db.execute("DROP TABLE human_labels; DROP TABLE human_attributions; "
                      "UPDATE schema_info SET version = 1")
    with open_store(path, read_only=True) as db:  # read-only: read as it is, no human label
        assert timeline(db, "fake:fake") == before and db.human_label_count() == 0
    with open_store(path) as db:
        assert db.schema_version() == len(store_module.MIGRATIONS)
        assert timeline(db, "fake:fake") == before
        rows = _corrections(db)
        assert {o.status for o in import_labels(db, [(str(i), r) for i, r in enumerate(rows)])} == {ADDED}
        assert timeline(db, "fake:fake") != before
