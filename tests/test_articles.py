import io
import json

from stance.articles import Article, Skipped, parse_date, read_inputs


def _collect(paths, stdin=None):
    items = list(read_inputs([str(p) if p != "-" else p for p in paths], stdin=stdin))
    return ([i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Skipped)])


def test_seed_directory_reads_metadata_dates():
    from tests.conftest import ARTICLES

    articles, skipped = _collect([ARTICLES])
    assert not skipped
    dates = {a.id[:3]: a.published for a in articles}
    assert dates == {"000": "2022-03-15", "001": "2022-03-15", "002": "2022-03-15",
                     "003": "2022-03-16", "004": "2024-12-03"}
    assert {a.id[:3]: a.source for a in articles}["002"] == "Global WindowNews"


def test_date_from_file_name(tmp_path):
    (tmp_path / "2023-07-11-vilnius.md").write_text("NATO leaders met in Vilnius.", encoding="utf-8")
    (tmp_path / "undated.txt").write_text("NATO leaders met.", encoding="utf-8")
    articles, _ = _collect([tmp_path])
    assert {a.id: a.published for a in articles} == {"2023-07-11-vilnius": "2023-07-11",
                                                     "undated": None}


def test_bad_inputs_are_reported_with_reasons(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("Kyiv’s bid".encode("cp1252"))
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    lines = [json.dumps({"id": "ok", "text": "NATO met."}), "{not json", json.dumps({"id": "x"}),
             json.dumps({"id": "d", "text": "t", "published": "last week"}), json.dumps([1])]
    (tmp_path / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    articles, skipped = _collect([tmp_path, tmp_path / "missing.txt"])
    assert [a.id for a in articles] == ["ok"]
    reasons = {s.id.split("/")[-1]: s.reason for s in skipped}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["latin1.txt"].startswith("not valid UTF-8")
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["batch.jsonl:2"].startswith("malformed JSON")
    assert "field 'text'" in reasons["x"]
    assert "not an ISO date" in reasons["d"]
    assert "expected a JSON object" in reasons["batch.jsonl:5"]
    assert reasons["missing.txt"] == "no such file or directory"


def test_stdin_plain_text_and_jsonl():
    articles, _ = _collect(["-"], stdin=io.BytesIO(b"Kyiv wants to join NATO."))
    assert [(a.id, a.text) for a in articles] == [("stdin", "Kyiv wants to join NATO.")]
    data = b'{"id": "s1", "text": "One."}\n{"id": "s2", "text": "Two."}\n'
    articles, _ = _collect(["-"], stdin=io.BytesIO(data))
    assert [a.id for a in articles] == ["s1", "s2"]


def test_parse_date_forms():
    assert parse_date("2022-03-15") == "2022-03-15"
    assert parse_date("2022-03-15T10:00:00Z") == "2022-03-15"
    assert parse_date("March 2022") is None
    assert parse_date(None) is None
