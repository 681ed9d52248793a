import io
import json

from stance.articles import Article, Skipped, parse_date, read_inputs


def _collect(paths, stdin=None, options=None):
    items = list(read_inputs([str(p) if p != "-" else p for p in paths], stdin=stdin, options=options))
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
    assert [a.id for a in articles] == ["ok", "d"]
    assert articles[1].published is None and "'last week'" in articles[1].warnings[0]
    reasons = {s.id.split("/")[-1]: s.reason for s in skipped}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["latin1.txt"].startswith("not valid UTF-8")
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["batch.jsonl:2"].startswith("malformed JSON")
    assert "field 'text'" in reasons["x"]
    assert "d" not in reasons  # an unreadable date leaves the article undated, with a warning
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
    assert parse_date("Tue, 11 Jul 2023 10:00:00 GMT") == "2023-07-11"
    assert parse_date("11/07/2023") == "2023-07-11"  # day first
    assert parse_date("07/25/2023") == "2023-07-25"  # unambiguous US order still reads
    assert parse_date("July 11, 2023") == "2023-07-11"
    assert parse_date(1689069600) == "2023-07-11"
    assert parse_date("1689069600000") == "2023-07-11"
    assert parse_date("March 2022") is None
    assert parse_date("last week") is None
    assert parse_date(True) is None
    assert parse_date(None) is None


def test_jsonl_dates_under_other_names_and_forms(tmp_path):
    rows = [{"id": "a", "text": "NATO met.", "publish_date": "Tue, 11 Jul 2023 10:00:00 GMT"},
            {"id": "b", "text": "NATO met.", "date": "11/07/2023"},
            {"id": "c", "text": "NATO met.", "published": 1689069600}]
    (tmp_path / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    articles, skipped = _collect([tmp_path / "feed.jsonl"])
    assert not skipped
    assert {a.id: a.published for a in articles} == dict.fromkeys("abc", "2023-07-11")


def test_unsupported_inputs_are_reported(tmp_path):
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "saved.txt").write_text("<!DOCTYPE html>\n<html><p>NATO met.</p></html>")
    (tmp_path / ".hidden.txt").write_text("Not an article.")
    articles, skipped = _collect([tmp_path, "ftp://www.example.com/news"])
    assert not articles
    reasons = {s.id.split("/")[-1]: s.reason for s in skipped}
    assert reasons["report.docx"].startswith("unsupported file type .docx")
    assert reasons["saved.txt"].startswith("HTML or XML, not plain text: name the file .html")
    assert reasons["news"] == "a URL that is not http or https"
    assert ".hidden.txt" not in reasons
    _, skipped = _collect([tmp_path / "report.docx"])
    assert skipped[0].reason.startswith("unsupported file type .docx")


def test_pages_feeds_and_tables_in_a_directory_are_read(tmp_path):
    from tests.loopback import WEB

    for name in ("comments.html", "feed.atom", "custom.csv"):
        (tmp_path / name).write_bytes((WEB / name).read_bytes())
    (tmp_path / "2023-07-20-undated.html").write_bytes((WEB / "copyright_only.html").read_bytes())
    articles, skipped = _collect([tmp_path])
    by_id = {a.id: a for a in articles}
    assert by_id["comments"].published == "2022-03-16" and by_id["comments"].path.endswith("comments.html")
    assert by_id["2023-07-20-undated"].published == "2023-07-20"
    assert by_id["2023-07-20-undated"].date_source == "file name"
    assert "urn:wire:2001" in by_id
    # custom.csv: its "body" column is found by name; "story" and "when" are not id or date names.
    assert by_id["custom.csv:2"].published is None and "Kremlin" in by_id["custom.csv:2"].text
    assert [(s.id.split("/")[-1], s.reason) for s in skipped] == [("custom.csv:4",
                                                                   "no text and no url in this row")]


def test_urls_are_fetched_and_what_cannot_be_read_is_skipped_with_the_reason():
    from stance.articles import ReadOptions
    from tests.loopback import LoopbackServer, Route, page, site_routes

    routes = {**site_routes(), "/feed": Route(page("feed.atom"), content_type="application/atom+xml"),
              "/note.txt": Route(b"Kyiv wants to join NATO.", content_type="text/plain"),
              "/logo.png": Route(b"\x89PNG", content_type="image/png")}
    with LoopbackServer(routes) as server:
        urls = [server.url(p) for p in ("/eastern/lavrov", "/feed", "/note.txt", "/logo.png", "/nope")]
        articles, skipped = _collect(urls)
        _, offline = _collect([urls[0]], options=ReadOptions(fetch=False))
    assert [a.id for a in articles] == [urls[0], "urn:wire:2001", urls[2]]
    assert articles[0].published == "2022-03-16" and articles[0].fetched_at
    assert articles[2].text == "Kyiv wants to join NATO."
    assert {s.id: s.reason for s in skipped} == {
        urls[3]: "content type 'image/png' is not a web page, feed or text",
        urls[4]: "HTTP 404 Not Found"}
    assert offline[0].reason == "a URL, and fetching is off (--no-fetch)"


def test_stdin_may_hold_an_html_page():
    from tests.loopback import page

    articles, _ = _collect(["-"], stdin=io.BytesIO(page("dateline.html")))
    assert articles[0].id == "stdin" and articles[0].published == "2023-06-29"


def test_labelled_sentence_files_in_a_directory_are_not_articles(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps({"text": "Kyiv wants in.", "label": "neutral"}) + "\n")
    (tmp_path / "kyiv.txt").write_text("Kyiv wants to join NATO.")
    articles, skipped = _collect([tmp_path])
    assert [a.id for a in articles] == ["kyiv"]
    assert [s.reason.split(" (")[0] for s in skipped] == ["labelled sentences"]


def test_duplicate_ids_are_renamed_with_a_warning(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.txt").write_text("NATO met.")
    (tmp_path / "x.md").write_text("NATO met.")
    (tmp_path / "feed.jsonl").write_text('{"id": "x", "text": "One."}\n{"id": "x", "text": "Two."}\n')
    articles, _ = _collect([tmp_path])
    assert sorted(a.id for a in articles) == ["x", "x#2", "x#3", "x#4", "x#5"]
    renamed = [a for a in articles if a.id != "x"]
    assert all("duplicate article id 'x'" in a.warnings[0] for a in renamed)
    assert len({a.path for a in articles}) == 5


def test_bad_metadata_lines_are_reported_and_the_articles_still_read(tmp_path):
    (tmp_path / "metadata.jsonl").write_text(
        '{"file": "a.txt", "published": "2023-07-11"}\n{oops\n{"published": "2023-07-12"}\n',
        encoding="utf-8")
    (tmp_path / "a.txt").write_text("NATO met.")
    (tmp_path / "b.txt").write_text("NATO met again.")
    articles, skipped = _collect([tmp_path])
    assert {a.id: a.published for a in articles} == {"a": "2023-07-11", "b": None}
    assert [s.id.split("/")[-1] for s in skipped] == ["metadata.jsonl:2", "metadata.jsonl:3"]
    (tmp_path / "metadata.jsonl").write_bytes(b'{"file": "a.txt", "title": "Caf\xe9"}\n')
    articles, skipped = _collect([tmp_path])
    assert len(articles) == 2 and skipped[0].reason.startswith("metadata not read: not valid UTF-8")


def test_a_5000_digit_integer_skips_one_line(tmp_path):
    (tmp_path / "feed.jsonl").write_text('{"id": "big", "text": "x", "n": ' + "9" * 5000 + '}\n'
                                         '{"id": "ok", "text": "NATO met."}\n')
    articles, skipped = _collect([tmp_path / "feed.jsonl"])
    assert [a.id for a in articles] == ["ok"]
    assert skipped[0].reason.startswith("malformed JSON")


def test_dangling_symlinks_and_loops_are_reported(tmp_path):
    (tmp_path / "a.txt").write_text("NATO met.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)
    articles, skipped = _collect([tmp_path])
    assert [a.id for a in articles] == ["a"]
    reasons = {s.id.split("/")[-1]: s.reason for s in skipped}
    assert reasons["gone.txt"] == "dangling symbolic link"
    assert reasons["self.txt"] == "symbolic link loop"
    assert reasons["up"].startswith("symbolic link loop")
    _, skipped = _collect([tmp_path / "gone.txt"])
    assert skipped[0].reason == "dangling symbolic link"


def test_utf16_text_is_decoded(tmp_path):
    text = "Zelensky said Ukraine belongs in NATO. The Kremlin disagreed."
    (tmp_path / "bom.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "nobom.txt").write_bytes(text.encode("utf-16-le"))
    articles, skipped = _collect([tmp_path])
    assert not skipped
    assert [a.text for a in articles] == [text, text]
