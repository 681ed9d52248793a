import datetime as dt
import json
import zlib

import numpy as np
import pyarrow as pa
import pytest

from stance.batch import (
    SCORE_COLUMNS,
    SENTENCE_SCHEMA,
    BatchError,
    classify_table,
    read_article_bytes,
    score_table,
    segment_table,
    skipped,
)
from stance.cli import main
from stance.labels import LABELS
from stance.model import default_model_dir


class FakeClassifier:
    """Probabilities from a hash of each text and its context: deterministic, no model."""

    name, backend, version = "fake", "fake", "0123456789ab"

    def __init__(self):
        self.calls = []

    def predict_proba(self, texts, batch_size=64, contexts=None):
        self.calls.append((list(texts), list(contexts) if contexts is not None else None))
        contexts = contexts or [""] * len(texts)
        probs = np.array([[(zlib.crc32(f"{t}|{c}".encode()) >> (8 * i)) % 251 + 1 for i in range(len(LABELS))]
                          for t, c in zip(texts, contexts, strict=True)], dtype=float)
        return probs / probs.sum(axis=1, keepdims=True)


ARTICLES = [
    {"id": "a1", "published": "2023-07-11", "source": "Kyiv Post",
     "text": "NATO summit opens\nZelensky said Ukraine belongs in NATO. The Kremlin said it never will.\n"
             "Read also: Vilnius in pictures\nMinisters met on Tuesday."},
    {"id": "a2", "published": "Tue, 11 Jul 2023 10:00:00 GMT", "text": "Peskov spoke. He said no."},
    {"id": 7, "text": "Allies agreed that Ukraine's future is in NATO."},
]


def _jsonl(tmp_path, records, name="articles.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _cli_rows(monkeypatch, fake, path, tmp_path, *extra):
    from stance import cli

    monkeypatch.setattr(cli, "_load_classifier", lambda args: fake)
    out = tmp_path / "cli.jsonl"
    assert main(["score", str(path), "-o", str(out), *extra]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _sentences(table: pa.Table) -> list[dict]:
    return [{k: row[k] for k in SCORE_COLUMNS} for row in table.to_pylist() if row["reason"] is None]


def test_score_table_gives_the_rows_of_stance_score(monkeypatch, tmp_path):
    path = _jsonl(tmp_path, ARTICLES)
    fake = FakeClassifier()
    cli_rows = _cli_rows(monkeypatch, fake, path, tmp_path, "--min-confidence", "0.4")
    table = score_table(fake, read_article_bytes(path.read_bytes(), str(path)), min_confidence=0.4)
    assert table.schema == SENTENCE_SCHEMA
    assert _sentences(table) == cli_rows
    assert any(row["furniture"] for row in cli_rows) and any(row["uncertain"] for row in cli_rows)
    rows = table.to_pylist()
    assert {r["article_id"]: r["published"] for r in rows} == {
        "a1": dt.date(2023, 7, 11), "a2": dt.date(2023, 7, 11), "7": None}
    assert {r["source"] for r in rows if r["article_id"] == "a1"} == {"Kyiv Post"}
    assert {(r["model"], r["model_version"]) for r in rows} == {("fake", "0123456789ab")}


def test_segmenting_and_classifying_apart_gives_the_same_rows():
    fake = FakeClassifier()
    articles = pa.Table.from_pylist([{k: str(v) for k, v in a.items()} for a in ARTICLES])
    whole = score_table(fake, articles)
    sentences = segment_table(articles)
    # An engine cuts the sentences into batches anywhere, even inside an article: the context
    # travels with each sentence.
    parts = [classify_table(fake, sentences.slice(start, 3)) for start in range(0, sentences.num_rows, 3)]
    assert pa.concat_tables(parts).to_pylist() == whole.to_pylist()
    texts, contexts = fake.calls[0]
    assert contexts[:3] == ["", "NATO summit opens", "Zelensky said Ukraine belongs in NATO."]
    assert "Read also: Vilnius in pictures" not in texts  # furniture never reaches the model


def test_every_article_comes_out_as_sentences_or_a_reason():
    table = pa.table({"id": ["ok", "empty", None, "blank"],
                      "text": ["NATO met.", "", "An article without an id.", "   \n  "]})
    result = score_table(FakeClassifier(), table, origin="batch-3")
    assert dict(skipped(result)) == {"empty": "batch-3:2: field 'text' is empty",
                                     "batch-3:3": "no id: every row of an articles table needs one",
                                     "blank": "batch-3:4: field 'text' is empty"}
    assert [r["text"] for r in result.to_pylist() if r["reason"] is None] == ["NATO met."]


def test_typed_date_columns_keep_the_date_written():
    zone = dt.timezone(dt.timedelta(hours=-5))
    table = pa.table({"id": ["a", "b"], "text": ["NATO met.", "NATO met again."],
                      "published": pa.array([dt.datetime(2023, 7, 11, 23, 30, tzinfo=zone), None],
                                            pa.timestamp("s", tz="-05:00")),
                      "date": pa.array([None, dt.date(2022, 3, 1)], pa.date32())})
    rows = segment_table(table).to_pylist()
    assert [r["published"] for r in rows] == [dt.date(2023, 7, 11), dt.date(2022, 3, 1)]


def test_a_table_without_text_or_id_is_refused():
    with pytest.raises(BatchError, match="lacks text"):
        segment_table(pa.table({"id": ["a"], "body": ["NATO met."]}))
    with pytest.raises(BatchError, match="needs"):
        classify_table(FakeClassifier(), pa.table({"text": ["NATO met."]}))


def test_csv_and_jsonl_files_are_read_as_the_cli_reads_jsonl(tmp_path):
    csv_bytes = (b'id,published,text\nc1,11/07/2023,"Headline\nNATO met in Vilnius."\nc2,,\n')
    table = read_article_bytes(csv_bytes, "s3://bucket/news/part-0.csv")
    assert table.to_pylist()[0] == {"id": "c1", "text": "Headline\nNATO met in Vilnius.",
                                    "published": "2023-07-11", "title": None, "source": None, "reason": None}
    # The line a row ends on, as a text editor counts (the quoted cell above spans two).
    second = table.to_pylist()[1]
    assert (second["id"], second["reason"]) == (
        "c2", "s3://bucket/news/part-0.csv:4: field 'text' must be a string")
    lines = b'{"id": "j1", "text": "NATO met."}\nnot json\n'
    rows = read_article_bytes(lines, "gs://b/x.jsonl").to_pylist()
    assert rows[1]["id"] == "x.jsonl:2" and rows[1]["reason"].startswith("malformed JSON")
    assert read_article_bytes(b"\xff\xfe\x00", "a.csv").to_pylist()[0]["reason"]
    assert read_article_bytes(b"text\n", "a.csv").num_rows == 0
    assert "without a 'text' column" in read_article_bytes(b"body\nx\n", "a.csv").to_pylist()[0]["reason"]


@pytest.mark.integration
@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").exists(), reason="no trained model")
def test_default_model_rows_equal_stance_score(tmp_path):
    from stance.model import StanceClassifier

    records = [{"id": p.stem, "text": p.read_text(encoding="utf-8")}
               for p in sorted((default_model_dir().parents[1] / "seeds" / "articles").glob("*.txt"))[:4]]
    path = _jsonl(tmp_path, records)
    out = tmp_path / "cli.jsonl"
    assert main(["score", str(path), "-o", str(out)]) == 0
    cli_rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    classifier = StanceClassifier.load(threads=1)
    table = score_table(classifier, read_article_bytes(path.read_bytes(), str(path)))
    assert _sentences(table) == cli_rows
    assert set(table.column("model_version").to_pylist()) == {classifier.version}
