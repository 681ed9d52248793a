import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from stance import scoring
from stance import store as store_module
from stance.articles import Article, read_inputs
from stance.cli import main
from stance.incremental import model_version, score_store
from stance.store import StoreError, open_store, timeline
from stance.tracking import aggregate, track
from tests.conftest import ARTICLES, ROOT
from tests.test_cli import FakeClassifier


class VersionedFake(FakeClassifier):
    def __init__(self, version="fake-1", salt=""):
        super().__init__()
        self.version, self.salt = version, salt

    def predict_proba(self, texts, batch_size=64, **kwargs):
        return super().predict_proba([self.salt + t for t in texts], batch_size, **kwargs)


def _article(key, text, url=None, published="2023-07-11"):
    return Article(id=key, text=text, url=url, published=published)


@pytest.fixture
def db(tmp_path):
    with open_store(str(tmp_path / "corpus.duckdb")) as opened:
        yield opened


def test_the_same_url_or_text_is_a_duplicate_and_a_taken_key_is_renamed(db):
    first = list(db.ingest([_article("a", "Kyiv wants to join NATO.", "https://x.example/a"),
                            _article("b", "Kyiv  wants to join\nNATO.", None),  # same text, re-spaced
                            _article("c", "Moscow objects.", "https://x.example/a")]))
    assert [(r.key, r.status) for r in first] == [("a", "added"), ("b", "duplicate"), ("c", "duplicate")]
    assert first[1].reason == "same text as 'a'" and first[2].reason == "same url as 'a'"
    again = list(db.ingest([_article("a", "Kyiv wants to join NATO.", "https://x.example/a"),
                            _article("a", "A different article under the same name.")]))
    assert [(r.key, r.status) for r in again] == [("a", "duplicate"), ("a#2", "added")]
    assert db.counts()["articles"] == 2


def test_articles_keep_their_metadata_and_sentences_their_offsets(db):
    text = "Read also Kremlin says NATO summit declaration confirms its worst fears\nKyiv wants in."
    [result] = db.ingest([Article(id="p", text=text, title="T", source="Planet", url="https://p.example",
                                  published="2023-07-11", date_source="page metadata",
                                  text_source="page", fetched_at="2023-07-12T10:00:00+00:00")])
    row = db.db.execute("SELECT key, title, site, CAST(published AS VARCHAR), date_source, text_source, "
                        "sentences FROM articles").fetchone()
    assert row == ("p", "T", "Planet", "2023-07-11", "page metadata", "page", 2)
    sentences = db.db.execute("SELECT sentence_index, start_char, end_char, text, furniture "
                              "FROM sentences ORDER BY 1").fetchall()
    assert [(s[3], s[4]) for s in sentences] == [(text.splitlines()[0], True), ("Kyiv wants in.", False)]
    assert all(text[s[1]:s[2]] == s[3] for s in sentences)
    assert result.sentences == 2


def test_schema_is_versioned_and_migrations_run_once(tmp_path, monkeypatch):
    path = str(tmp_path / "s.duckdb")
    with open_store(path) as first:
        assert first.schema_version() == len(store_module.MIGRATIONS)
        list(first.ingest([_article("a", "Kyiv wants to join NATO.")]))
    monkeypatch.setattr(store_module, "MIGRATIONS",
                        [*store_module.MIGRATIONS, ["ALTER TABLE articles ADD COLUMN language VARCHAR"]])
    with open_store(path) as upgraded:
        assert upgraded.schema_version() == len(store_module.MIGRATIONS)
        assert upgraded.db.execute("SELECT key, language FROM articles").fetchall() == [("a", None)]
        assert upgraded.migrate() == []
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    with pytest.raises(StoreError, match="written by a newer stance"):
        open_store(path)


def test_scoring_adds_only_what_the_model_has_not_scored_and_keeps_history(db):
    list(db.ingest([_article(f"a{i}", f"Kyiv wants to join NATO, article {i}.") for i in range(3)]))
    first = score_store(db, VersionedFake("fake-1"))
    assert (first.articles, first.sentences) == (3, 3)
    assert score_store(db, VersionedFake("fake-1")).articles == 0
    list(db.ingest([_article("a3", "Moscow objects to it.")]))
    assert score_store(db, VersionedFake("fake-1")).articles == 1
    assert score_store(db, VersionedFake("fake-2", salt="x")).articles == 4
    per_version = dict(db.db.execute("SELECT model_version, count(*) FROM predictions GROUP BY 1").fetchall())
    assert per_version == {"fake-1": 4, "fake-2": 4}
    assert db.latest_model() == "fake-2"


def test_store_predictions_equal_file_scoring(tmp_path):
    fake = FakeClassifier()
    with open_store(str(tmp_path / "c.duckdb")) as db:
        list(db.ingest(a for a in read_inputs([str(ARTICLES)]) if isinstance(a, Article)))
        score_store(db, fake)
        stored = db.db.execute("""SELECT a.key, p.sentence_index, p.label, p.confidence, p.actor
            FROM predictions p JOIN articles a ON a.id = p.article_id ORDER BY 1, 2""").fetchall()
    from_files = sorted((s.article_id, s.index, s.label, s.confidence, s.actor)
                        for s in track(fake, read_inputs([str(ARTICLES)])).sentences)
    content = [row for row in stored if (row[0], row[1]) in {(r[0], r[1]) for r in from_files}]
    assert content == from_files and len(stored) > len(content)  # furniture rows are stored too


@pytest.mark.parametrize("by, by_actor, min_confidence", [("month", False, None), ("week", True, None),
                                                          ("quarter", True, 0.3), ("day", False, None),
                                                          ("month", "detail", None)])
def test_timeline_in_sql_equals_the_tracking_table(tmp_path, by, by_actor, min_confidence):
    fake = FakeClassifier()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "undated.txt").write_text("Lavrov said Kyiv must never join NATO.\nStoltenberg disagreed.")
    (extra / "2021-01-03-new-year.txt").write_text("Zelensky said Ukraine belongs in NATO.")  # ISO 2020-W53
    inputs = [str(ARTICLES), str(extra)]
    with open_store(str(tmp_path / "c.duckdb")) as db:
        list(db.ingest(a for a in read_inputs(inputs) if isinstance(a, Article)))
        score_store(db, fake)
        from_sql = timeline(db, model_version(fake), by, by_actor, min_confidence)
    tracking = track(fake, read_inputs(inputs), by=by, min_confidence=min_confidence)
    assert from_sql == aggregate(tracking.sentences, by_actor)


def test_predictions_carry_the_actor_and_the_state_behind_it(db):
    text = "Hungarian Foreign Minister Peter Szijjarto said Budapest would veto it."
    list(db.ingest([_article("a", text)]))
    score_store(db, FakeClassifier())
    assert db.db.execute("SELECT actor, actor_detail FROM predictions").fetchall() == [("nato", "HU")]


def test_ingest_score_and_track_commands(tmp_path, monkeypatch, capsys):
    from stance import cli

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    monkeypatch.setenv("STANCE_DB", str(tmp_path / "env.duckdb"))
    report = tmp_path / "report.jsonl"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    assert main(["ingest", str(ARTICLES), str(tmp_path / "in"), "--report", str(report)]) == 0
    assert main(["ingest", str(ARTICLES)]) == 0
    err = capsys.readouterr().err
    assert "ingested 5 article(s)" in err and "1 skipped" in err and "5 duplicate(s)" in err
    statuses = [json.loads(line)["status"] for line in report.read_text().splitlines()]
    assert sorted(statuses) == ["added"] * 5 + ["skipped"]
    assert main(["score", "--db"]) == 0
    assert "scored 5 article(s)" in capsys.readouterr().err
    table = tmp_path / "t.csv"
    assert main(["track", "--db", "--by", "year", "-o", str(table)]) == 0
    assert table.read_text().splitlines()[0].startswith("period,actor,articles,sentences")
    assert main(["track", "--db", "--model-version", "nope"]) == 2
    assert main(["track", "--db", "--labels", str(report)]) == 2
    assert "--labels applies to inputs scored now" in capsys.readouterr().err
    assert main(["score", "--db", "-o", "x.jsonl"]) == 2
    assert "does not apply with --db" in capsys.readouterr().err
    assert main(["track", "--db", str(tmp_path / "missing.duckdb")]) == 2


_KILLABLE = textwrap.dedent("""
    import sys, time
    from stance import cli, scoring
    from tests.test_cli import FakeClassifier

    class Announcing(FakeClassifier):
        def predict_proba(self, texts, batch_size=64, **kwargs):
            print(f"batch {self.calls + 1}", flush=True)
            if "--slow" in sys.argv:
                time.sleep(0.5)  # the parent kills the run while a batch is in flight
            return super().predict_proba(texts, batch_size, **kwargs)

    cli._load_classifier = lambda args: Announcing()
    scoring.PREDICT_CHUNK = 4
    sys.exit(cli.main(["score", "--db", sys.argv[1]]))
""")


def _score_process(db_path, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", _KILLABLE, str(db_path), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows(path):
    with open_store(str(path), read_only=True) as db:
        return db.db.execute("SELECT * FROM predictions ORDER BY article_id, sentence_index").fetchall()


def test_a_run_killed_mid_batch_loses_at_most_that_batch_and_resumes_to_the_same_rows(tmp_path):
    articles = [_article(f"a{i}", f"Zelensky said Ukraine belongs in NATO, article {i}. The Kremlin "
                                  f"said it never will. Ministers met on day {i}.") for i in range(12)]
    for name in ("killed", "whole"):
        with open_store(str(tmp_path / f"{name}.duckdb")) as db:
            list(db.ingest(articles))
    whole = _score_process(tmp_path / "whole.duckdb")
    assert whole.wait(timeout=120) == 0, whole.stderr.read()

    killed = _score_process(tmp_path / "killed.duckdb", "--slow")
    for line in killed.stdout:
        if line.strip() == "batch 4":  # batches 1-3 committed, the fourth in flight
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    with open_store(str(tmp_path / "killed.duckdb"), read_only=True) as db:
        scored = db.db.execute("SELECT count(*) FROM scored_articles").fetchone()[0]
        rows = db.db.execute("SELECT count(*) FROM predictions").fetchone()[0]
    # PREDICT_CHUNK 4 and 3 sentences an article: one article a batch; three batches committed.
    assert scored == 3 and rows == 9

    resumed = _score_process(tmp_path / "killed.duckdb")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert "scored 9 article(s)" in resumed.stderr.read()
    assert _rows(tmp_path / "killed.duckdb") == _rows(tmp_path / "whole.duckdb")


def test_a_second_writer_gets_a_clear_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    code = ("import sys; from stance.store import open_store, StoreError\n"
            "try:\n    open_store(sys.argv[1])\nexcept StoreError as e:\n    print(e); sys.exit(3)\n")
    with open_store(str(path)):
        other = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert other.returncode == 3 and "in use by another process" in other.stdout


def test_scoring_batches_are_prediction_chunks_of_whole_articles(db, monkeypatch):
    monkeypatch.setattr(scoring, "PREDICT_CHUNK", 5)
    list(db.ingest([_article(f"a{i}", f"One {i}. Two. Three.") if i % 2 else
                    _article(f"a{i}", f"Article {i} has a single sentence.") for i in range(6)]))
    fake = FakeClassifier()
    run = score_store(db, fake)
    assert (run.articles, run.batches) == (6, fake.calls) and run.batches == 3


class Interrupting(VersionedFake):
    """Ctrl-C during prediction call ``stop`` (none when 0)."""

    def __init__(self, version, salt="", stop=0):
        super().__init__(version, salt)
        self.stop = stop

    def predict_proba(self, texts, batch_size=64, **kwargs):
        if self.calls + 1 == self.stop:
            raise KeyboardInterrupt
        return super().predict_proba(texts, batch_size, **kwargs)


def _predictions(path, version):
    with open_store(str(path), read_only=True) as db:
        return db.db.execute("SELECT * FROM predictions WHERE model_version = ? "
                             "ORDER BY article_id, sentence_index", [version]).fetchall()


def test_rescore_adds_a_version_beside_the_old_one_and_resumes_after_ctrl_c(tmp_path, monkeypatch,
                                                                               capsys):
    from stance import cli

    monkeypatch.setattr(scoring, "PREDICT_CHUNK", 3)  # one article a batch
    articles = [_article(f"a{i}", f"Zelensky said Ukraine belongs in NATO, article {i}. The Kremlin "
                                  f"said it never will. Ministers met on day {i}.") for i in range(4)]
    models = {"old": VersionedFake("fake-1")}
    monkeypatch.setattr(cli, "_load_classifier", lambda args: models[args.model or "old"])
    for name in ("whole", "killed"):
        path = tmp_path / f"{name}.duckdb"
        with open_store(str(path)) as db:
            list(db.ingest(articles))
        assert main(["score", "--db", str(path)]) == 0
    assert main(["rescore", "--db", str(tmp_path / "whole.duckdb")]) == 2
    assert "rescore needs --model DIR" in capsys.readouterr().err

    models["new"] = Interrupting("fake-2", salt="x")
    assert main(["rescore", "--db", str(tmp_path / "whole.duckdb"), "--model", "new"]) == 0
    err = capsys.readouterr().err
    assert "rescored 4 article(s), 12 sentences with fake-2" in err
    assert "compared with fake-1: " in err and " of 12 content sentence(s) changed label" in err

    models["new"] = Interrupting("fake-2", salt="x", stop=3)  # batches 1 and 2 committed
    assert main(["rescore", "--db", str(tmp_path / "killed.duckdb"), "--model", "new"]) == 130
    assert len(_predictions(tmp_path / "killed.duckdb", "fake-2")) == 6
    models["new"] = Interrupting("fake-2", salt="x")
    assert main(["rescore", "--db", str(tmp_path / "killed.duckdb"), "--model", "new"]) == 0
    err = capsys.readouterr().err
    assert "fake-2 has scored 2 of 4 article(s) already: scoring the other 2" in err
    assert "rescored 2 article(s)" in err
    for version in ("fake-1", "fake-2"):  # prediction rows carry no time: they compare whole
        assert _predictions(tmp_path / "killed.duckdb", version) == \
            _predictions(tmp_path / "whole.duckdb", version)
    assert main(["rescore", "--db", str(tmp_path / "killed.duckdb"), "--model", "new"]) == 0
    assert "nothing left to do" in capsys.readouterr().err


def test_rescore_with_a_trained_model_directory(tmp_path, monkeypatch, capsys, tiny_model_dir):
    from stance import cli

    real = cli._load_classifier
    monkeypatch.setattr(cli, "_load_classifier",
                        lambda args: real(args) if args.model else FakeClassifier())
    path = str(tmp_path / "c.duckdb")
    assert main(["ingest", str(ARTICLES), "--db", path]) == 0
    assert main(["score", "--db", path]) == 0
    assert main(["rescore", "--db", path, "--model", str(tiny_model_dir), "--device", "cpu",
                 "--backend", "torch"]) == 0
    with open_store(path, read_only=True) as db:
        versions = db.model_versions()
        per_version = dict(db.db.execute("SELECT model_version, count(*) FROM predictions "
                                         "GROUP BY 1").fetchall())
        sentences = db.counts()["sentences"]
    assert versions[0] == "fake:fake" and re.fullmatch("[0-9a-f]{12}", versions[1])  # the weights' digest
    assert per_version == {versions[0]: sentences, versions[1]: sentences}
    assert "compared with fake:fake" in capsys.readouterr().err


@pytest.mark.parametrize("options", [[], ["--by", "month"], ["--by", "year", "--period", "2022"],
                                     ["--detail", "--include-neutral", "--by", "week"],
                                     ["--by", "month", "--period", "undated"]])
def test_network_from_the_store_equals_the_network_from_files(tmp_path, monkeypatch, options):
    inputs, db = _scored_by_the_command(tmp_path, monkeypatch)
    for name, source in (("files", inputs), ("store", ["--db", db])):
        assert main(["network", *source, *options, "--graphml", str(tmp_path / f"{name}.graphml"),
                     "--edges", str(tmp_path / f"{name}.csv")]) == 0
    assert len((tmp_path / "files.csv").read_text().splitlines()) > 2
    for suffix in ("graphml", "csv"):
        assert (tmp_path / f"store.{suffix}").read_bytes() == (tmp_path / f"files.{suffix}").read_bytes()


def test_network_from_the_store_names_its_model_version(tmp_path, monkeypatch, capsys):
    from stance import cli

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    db = str(tmp_path / "c.duckdb")
    edges = str(tmp_path / "e.csv")
    assert main(["network", "--db", db, "--edges", edges]) == 2  # no store yet
    assert "no such store" in capsys.readouterr().err
    assert main(["ingest", str(ARTICLES), "--db", db]) == 0
    assert main(["network", "--db", db, "--edges", edges]) == 1
    assert "nothing scored in the store" in capsys.readouterr().err
    assert main(["score", "--db", db]) == 0
    assert main(["network", "--db", db, "--model-version", "nope", "--edges", edges]) == 2
    assert "no predictions by 'nope'; the store has: fake:fake" in capsys.readouterr().err
    assert main(["network", str(ARTICLES), "--db", db, "--edges", edges]) == 2
    assert main(["network", str(ARTICLES), "--model-version", "fake:fake", "--edges", edges]) == 2
    assert main(["network", "--edges", edges]) == 2
    assert "network needs inputs" in capsys.readouterr().err
    with open_store(db) as store:
        list(store.ingest([_article("late", "Zelensky said Ukraine belongs in NATO.")]))
    assert main(["network", "--db", db, "--edges", edges]) == 0
    assert "fake:fake has not scored 1 stored article(s) yet" in capsys.readouterr().err


def test_a_duplicate_names_the_stored_article_and_score_ids_scores_only_those_asked(db):
    [first] = db.ingest([_article("a", "Kyiv wants to join NATO.", "https://x.example/a")])
    [again] = db.ingest([_article("b", "Other words.", "https://x.example/a")])
    assert (again.status, again.article_id, again.reason) == ("duplicate", first.article_id,
                                                             "same url as 'a'")
    list(db.ingest([_article("c", "Moscow objects to it. Budapest agreed.")]))
    from stance.incremental import score_ids

    fake = VersionedFake("fake-1")
    assert score_ids(db, fake, [first.article_id]).articles == 1
    assert score_ids(db, fake, [first.article_id]).articles == 0  # already scored
    assert db.count_unscored("fake-1") == 1
    assert score_ids(db, fake, []).articles == 0


def test_a_stored_article_with_the_predictions_of_one_version(db):
    [added] = db.ingest([Article(id="p", text="Share on Facebook\nKyiv wants in. Moscow objects.",
                                 url="https://p.example", title="T", published="2023-07-11",
                                 fetched_at="2023-07-12T10:00:00+00:00")])
    before = db.article(added.article_id, "fake-1")
    assert (before["key"], before["url"], before["published"], before["scored"]) == \
        ("p", "https://p.example", "2023-07-11", False)
    assert before["fetched_at"].startswith("2023-07-12T10:00:00")
    assert [(s["text"], s["furniture"], s["label"]) for s in before["sentences"]] == [
        ("Share on Facebook", True, None), ("Kyiv wants in.", False, None), ("Moscow objects.", False, None)]
    score_store(db, VersionedFake("fake-1"))
    after = db.article(added.article_id, "fake-1")
    assert after["scored"] and all(s["label"] is not None and s["actor"] for s in after["sentences"])
    stored = db.db.execute("SELECT label, confidence FROM predictions ORDER BY sentence_index").fetchall()
    assert [(s["label"], s["confidence"]) for s in after["sentences"]] == stored
    assert set(after["sentences"][1]) >= {"start", "end", "p_pro_membership", "actor_detail"}
    assert db.article(added.article_id + 1, "fake-1") is None and db.article(2 ** 70, None) is None


def _scored_by_the_command(tmp_path, monkeypatch) -> tuple[list[str], str]:
    """The seed articles plus an undated one, scored into a new store by `stance score --db`
    (fake classifier): the inputs and the store's path."""
    from stance import cli

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "undated.txt").write_text("Lavrov said Kyiv must never join NATO.\nStoltenberg disagreed.")
    inputs = [str(ARTICLES), str(extra)]
    db = str(tmp_path / "c.duckdb")
    assert main(["score", "--db", db, *inputs]) == 0
    return inputs, db


def _stored_and_tracked(tmp_path, by="month", min_confidence=None):
    """The seed articles plus an undated one and one in ISO week 2020-W53: scored into a store,
    and tracked from the files."""
    fake = FakeClassifier()
    extra = tmp_path / "extra"
    extra.mkdir(exist_ok=True)
    (extra / "undated.txt").write_text("Lavrov said Kyiv must never join NATO.\nStoltenberg disagreed.")
    (extra / "2021-01-03-new-year.txt").write_text("Zelensky said Ukraine belongs in NATO.")
    inputs = [str(ARTICLES), str(extra)]
    db = open_store(str(tmp_path / "c.duckdb"))
    list(db.ingest(a for a in read_inputs(inputs) if isinstance(a, Article)))
    score_store(db, fake)
    return db, model_version(fake), track(fake, read_inputs(inputs), by=by, min_confidence=min_confidence)


@pytest.mark.parametrize("by, facet, min_confidence, max_periods", [
    ("month", "actor", None, 320), ("day", "actor", 0.3, 320),  # by day: the chart steps up to weeks
    ("week", "actor_detail", None, 320), ("month", "actor_detail", 0.4, 5)])
def test_chart_counts_in_sql_equal_those_of_the_sentences(tmp_path, by, facet, min_confidence,
                                                          max_periods):
    from stance.store_report import chart_counts
    from stance.timeline import counts_of

    db, version, tracking = _stored_and_tracked(tmp_path, by, min_confidence)
    with db:
        from_sql = chart_counts(db, version, by, facet, min_confidence, max_periods)
    expected = counts_of(tracking, facet, max_periods)
    assert from_sql == expected and expected.cells
    assert expected.undated_sentences or min_confidence  # the undated sentences count, off the axis
    assert (expected.uncertain_sentences > 0) == (min_confidence is not None)


@pytest.mark.parametrize("by, by_actor, min_confidence", [("month", False, None), ("day", True, 0.3),
                                                          ("quarter", "detail", None)])
def test_the_page_from_the_store_equals_the_page_from_files(tmp_path, by, by_actor, min_confidence):
    from stance import report, store_report

    db, version, tracking = _stored_and_tracked(tmp_path, by, min_confidence)
    facet = "actor_detail" if by_actor == "detail" else "actor"
    with db:
        shown = store_report.page(db, version, by, by_actor, facet, min_confidence)
    expected = report.page_of(tracking, by_actor, facet)
    assert shown.series == expected.series and shown.articles == expected.articles
    assert shown.undated == expected.undated == ["undated"] and shown.table == expected.table
    assert report.render_html(shown) == report.render_html(tracking, by_actor, facet=facet)


@pytest.mark.parametrize("options", [["--by", "week", "--by-actor"],
                                     ["--by", "month", "--by-actor", "detail", "--min-confidence", "0.3"]])
def test_track_db_writes_the_pictures_page_and_sentences_of_track_on_files(tmp_path, monkeypatch,
                                                                           options):
    from stance import store_report

    monkeypatch.setattr(store_report, "SENTENCE_BATCH", 7)  # rows stream out in several batches
    inputs, db = _scored_by_the_command(tmp_path, monkeypatch)
    events = tmp_path / "events.csv"
    events.write_text("date,label\n2022-03-16,summit\n")
    for name, source in (("files", inputs), ("store", ["--db", db])):
        out = tmp_path / name
        assert main(["track", *source, *options, "-o", str(out / "t.csv"), "--plot", str(out / "p.png"),
                     "--html", str(out / "p.html"), "--events", str(events),
                     "--sentences", str(out / "s.jsonl")]) == 0
        assert main(["track", *source, *options, "-o", str(out / "t2.csv"),
                     "--sentences", str(out / "s.csv")]) == 0
    assert len((tmp_path / "files" / "s.jsonl").read_text().splitlines()) > 20
    for name in ("t.csv", "p.png", "p.html", "s.jsonl", "s.csv"):
        assert (tmp_path / "store" / name).read_bytes() == (tmp_path / "files" / name).read_bytes(), name
