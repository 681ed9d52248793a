"""`stance export --db … --format parquet`: Parquet by year, an explicit schema, one model version."""

import pyarrow.parquet as pq
import pytest

from stance.cli import main
from stance.records import Article
from stance.store import open_store
from stance.store_export import ARTICLE_SCHEMA, SENTENCE_SCHEMA
from tests.conftest import ARTICLES
from tests.test_store import VersionedFake

duckdb = pytest.importorskip("duckdb")
pd = pytest.importorskip("pandas")


@pytest.fixture
def scored_store(tmp_path, monkeypatch):
    """The seed articles (2022, 2024), one undated article and one fetched page, scored by two
    model versions (fake-1, then fake-2)."""
    from stance import cli

    path = str(tmp_path / "c.duckdb")
    with open_store(path) as db:
        list(db.ingest([Article(id="undated", text="Lavrov said Kyiv must never join NATO."),
                        Article(id="page", text="Zelensky said Ukraine belongs in NATO.",
                                url="https://news.example/a", title="A page", source="News",
                                published="2023-07-11", fetched_at="2023-07-12T10:00:00+00:00")]))
    models = {"one": VersionedFake("fake-1"), "two": VersionedFake("fake-2", salt="x")}
    monkeypatch.setattr(cli, "_load_classifier", lambda args: models[args.model or "one"])
    assert main(["score", "--db", path, str(ARTICLES)]) == 0
    assert main(["rescore", "--db", path, "--model", "two"]) == 0
    return path


def _store_rows(path, version):
    with open_store(path, read_only=True) as db:
        return db.db.execute(
            """SELECT p.article_id, p.sentence_index, s.text, p.label, p.confidence, p.actor,
                      a.published FROM predictions p JOIN sentences s USING (article_id, sentence_index)
               JOIN articles a ON a.id = p.article_id WHERE p.model_version = ? ORDER BY 1, 2""",
            [version]).fetchall()


def test_export_writes_years_with_the_explicit_schema_readable_by_pandas_and_duckdb(scored_store,
                                                                                    tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "--db", scored_store, "--format", "parquet", "-o", str(out)]) == 0
    assert "with fake-2" in capsys.readouterr().err  # the newest version by default
    assert sorted(p.name for p in (out / "sentences").iterdir()) == \
        ["year=2022", "year=2023", "year=2024", "year=undated"]
    for part, schema in (("sentences", SENTENCE_SCHEMA), ("articles", ARTICLE_SCHEMA)):
        for file in (out / part).glob("year=*/*.parquet"):
            assert pq.read_schema(file).remove_metadata() == schema, file  # nullability too
    assert str(SENTENCE_SCHEMA.field("published").type) == "date32[day]"

    stored = _store_rows(scored_store, "fake-2")
    frame = pd.read_parquet(out / "sentences").sort_values(["article_id", "sentence_index"])
    assert len(frame) == len(stored) and set(frame["model_version"]) == {"fake-2"}
    assert list(zip(frame["article_id"], frame["sentence_index"], frame["text"], frame["label"],
                    frame["confidence"], frame["actor"], strict=True)) == [row[:6] for row in stored]
    assert set(frame["year"].astype(str)) == {"2022", "2023", "2024", "undated"}
    assert frame.loc[frame["year"] == "undated", "published"].isna().all()

    sentences = f"read_parquet('{out}/sentences/*/*.parquet', hive_partitioning = true)"
    from_duckdb = duckdb.sql(f"""SELECT article_id, sentence_index, text, label, confidence, actor,
                                        published FROM {sentences} ORDER BY 1, 2""").fetchall()
    assert from_duckdb == stored  # dates come back as dates
    articles = duckdb.sql(f"""SELECT key, url, title, site, published, fetched_at, scored, year
        FROM read_parquet('{out}/articles/*/*.parquet', hive_partitioning = true)
        WHERE key IN ('page', 'undated') ORDER BY key""").fetchall()
    assert [(a[0], a[1], a[2], a[3], str(a[4]), a[6], a[7]) for a in articles] == [
        ("page", "https://news.example/a", "A page", "News", "2023-07-11", True, "2023"),
        ("undated", None, None, None, "None", True, "undated")]
    assert articles[0][5].isoformat().startswith("2023-07-12T10:00:00")


def test_export_of_an_older_version_and_usage_errors(scored_store, tmp_path, capsys):
    out = tmp_path / "old"
    assert main(["export", "--db", scored_store, "-o", str(out), "--model-version", "fake-1"]) == 0
    frame = pd.read_parquet(out / "sentences")
    assert set(frame["model_version"]) == {"fake-1"}
    assert len(frame) == len(_store_rows(scored_store, "fake-1"))
    assert main(["export", "--db", scored_store, "-o", str(out)]) == 2
    assert "already holds an export" in capsys.readouterr().err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no work directory left
    assert main(["export", "--db", scored_store, "-o", str(tmp_path / "x"), "--model-version", "no"]) == 2
    assert main(["export", "--db", str(tmp_path / "none.duckdb"), "-o", str(tmp_path / "y")]) == 2
    with pytest.raises(SystemExit) as exit_:  # argparse: only parquet is a choice
        main(["export", "--db", scored_store, "--format", "csv", "-o", str(tmp_path / "z")])
    assert exit_.value.code == 2


def test_export_reads_in_polars_when_installed(scored_store, tmp_path):
    pl = pytest.importorskip("polars")
    out = tmp_path / "export"
    assert main(["export", "--db", scored_store, "-o", str(out)]) == 0
    frame = pl.read_parquet(out / "sentences" / "**" / "*.parquet", hive_partitioning=True)
    assert frame.height == len(_store_rows(scored_store, "fake-2"))
    assert frame.schema["published"] == pl.Date
