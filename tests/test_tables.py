import pytest

from stance.tables import ColumnsError, parse_columns
from tests import loopback
from tests.loopback import WEB, linked_fixture

_read = loopback.read_split


def test_media_cloud_export_rows_are_read_from_their_urls(site, tmp_path):
    articles, skipped = _read(linked_fixture("mediacloud.csv", site, tmp_path))
    assert set(articles) == {"9001", "9002"}
    first = articles["9001"]
    assert first.published == "2023-07-11" and first.date_source == "column 'publish_date'"
    assert first.title == "Zelensky presses allies for NATO timeline" and first.source == "Daily Planet"
    assert "belongs in NATO" in first.text and first.path.endswith("mediacloud.csv:2")
    assert articles["9002"].published == "2022-03-16" and "Lavrov" in articles["9002"].text
    assert skipped == {"9003": "no text in this row and its url was not read: HTTP 404 Not Found"}


def test_gdelt_dateadded_is_used_only_when_the_page_has_no_date(site, tmp_path):
    articles, skipped = _read(linked_fixture("gdelt.tsv", site, tmp_path))
    assert not skipped
    undated_page = articles["1100001"]
    assert undated_page.published == "2023-07-12"
    assert undated_page.date_source == "column 'DATEADDED' (when GDELT added it, not the publication date)"
    dated_page = articles["1100002"]
    assert dated_page.published == "2023-07-11" and dated_page.date_source == "page metadata"


def test_columns_can_be_named_and_bad_rows_are_reported():
    columns = parse_columns("id=story,published=when,text=body,title=headline")
    articles, skipped = _read(WEB / "custom.csv", columns=columns)
    assert articles["a1"].published == "2023-07-11" and articles["a1"].title == "Vilnius"
    assert articles["a1"].date_source == "column 'when'"
    assert articles["a2"].published is None and "'not a date'" in articles["a2"].warnings[0]
    assert skipped == {"a3": "no text and no url in this row"}


def test_without_fetching_rows_without_text_are_skipped(site, tmp_path):
    _, skipped = _read(linked_fixture("mediacloud.csv", site, tmp_path), fetch=False)
    assert len(skipped) == 3 and all("fetching is off" in r for r in skipped.values())
    assert not site.requests


def test_unusable_tables_are_skipped_with_reasons(tmp_path):
    (tmp_path / "nothing.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ragged.csv").write_text("id,text\nr1,NATO met.\nr2,one,two\n")
    (tmp_path / "latin1.csv").write_bytes("id,text\nx,Kyiv’s bid\n".encode("cp1252"))
    articles, skipped = _read(tmp_path)
    reasons = {k.split("/")[-1]: v for k, v in skipped.items()}
    assert reasons["nothing.csv"].startswith("no text or url column (columns: a, b)")
    assert reasons["empty.csv"] == "empty file"
    assert reasons["ragged.csv:3"] == "3 cells in a row under a 2-column header"
    assert reasons["latin1.csv:1"].startswith("not valid UTF-8")
    assert list(articles) == ["r1"]
    _, skipped = _read(WEB / "custom.csv", columns={"text": "missing"})
    assert list(skipped.values())[0].startswith("no column 'missing' (--columns text=…)")


def test_column_specs_are_checked():
    assert parse_columns("text=body, url = link") == {"text": "body", "url": "link"}
    with pytest.raises(ColumnsError, match="unknown field 'body'"):
        parse_columns("body=text")
    with pytest.raises(ColumnsError, match="not FIELD=COLUMN"):
        parse_columns("text")


def test_score_reports_once_which_column_dated_a_file(monkeypatch, site, tmp_path, capsys):
    from stance import cli
    from tests.test_cli import FakeClassifier

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    export = linked_fixture("gdelt.tsv", site, tmp_path)
    summary = tmp_path / "summary.jsonl"
    assert cli.main(["score", str(export), "-o", str(tmp_path / "rows.jsonl"), "--summary",
                     str(summary)]) == 0
    err = capsys.readouterr().err
    assert err.count("publication dates from column 'DATEADDED' (when GDELT added it, not the "
                     "publication date)") == 1
    assert len(summary.read_text().splitlines()) == 2
    assert cli.main(["score", str(export), "--columns", "txt=body"]) == 2
    assert "unknown field 'txt'" in capsys.readouterr().err
