import csv
import json

import pytest

from stance.cli import main
from stance.labels import LABELS
from tests.conftest import ARTICLES

pytestmark = pytest.mark.integration


def test_score_seed_articles_end_to_end(tiny_model_dir, tmp_path, capsys):
    out, summary = tmp_path / "s.jsonl", tmp_path / "summary.csv"
    code = main(["score", str(ARTICLES), "--model", str(tiny_model_dir), "-o", str(out),
                 "--summary", str(summary)])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["article_id"][:3] for r in rows} == {"000", "001", "002", "003", "004"}
    expected = {"article_id", "sentence_index", "start", "end", "text", "label", "confidence",
                "furniture", *(f"p_{label}" for label in LABELS)}
    assert set(rows[0]) == expected
    assert any(r["furniture"] and r["text"] == "Related Articles" for r in rows)
    for r in rows:
        assert r["label"] in LABELS
        assert sum(r[f"p_{label}"] for label in LABELS) == pytest.approx(1, abs=1e-4)
    with summary.open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 5
    assert {"article_id", "published", "status", "dominant_stance", "dominant_share",
            "evidence", *LABELS} <= set(table[0])
    assert {t["published"] for t in table} == {"2022-03-15", "2022-03-16", "2024-12-03"}


def test_score_reports_bad_inputs_and_keeps_the_rest(tiny_model_dir, tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Peskov said Kyiv must never join NATO.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00\x01")
    (tmp_path / "a.jsonl").write_text('{"id": "j1", "text": "NATO met."}\n{oops\n')
    summary = tmp_path / "summary.jsonl"
    code = main(["score", str(tmp_path), "--model", str(tiny_model_dir), "--format", "csv",
                 "--summary", str(summary)])
    assert code == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "empty file" in captured.err
    assert "malformed JSON" in captured.err
    statuses = {r["article_id"].split("/")[-1]: r for r in map(json.loads, summary.read_text().splitlines())}
    assert statuses["good"]["status"] == "scored" and statuses["j1"]["status"] == "scored"
    assert statuses["empty.txt"]["reason"] == "empty file"
    assert statuses["bad.txt"]["status"] == "skipped"
    assert statuses["a.jsonl:2"]["reason"].startswith("malformed JSON")
    assert "article_id,sentence_index" in captured.out  # CSV rows went to stdout


def test_score_exits_non_zero_when_nothing_could_be_scored(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    assert main(["score", str(tmp_path / "empty.txt"), "--model", str(tiny_model_dir)]) == 1
    assert "empty file" in capsys.readouterr().err


def test_score_parquet_output(tiny_model_dir, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    assert main(["score", str(next(ARTICLES.glob("004*.txt"))), "--model", str(tiny_model_dir),
                 "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 16 and "p_opposing" in table.column_names


def test_eval_json(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "eval.jsonl"
    rows = [{"text": "Kyiv will never give up its NATO bid.", "label": "pro-membership"},
            {"text": "The Kremlin called membership a red line.", "label": "opposing"},
            {"text": "Ministers meet on Wednesday.", "label": "neutral"}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["eval", "--data", str(data), "--model", str(tiny_model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 3
    assert {"macro_f1", "per_class", "confusion", "ece", "mean_confidence"} <= set(result)
    assert 0.0 <= result["ece"] <= 1.0
    assert sum(map(sum, result["confusion"])) == 3


def test_eval_rejects_unknown_labels(tiny_model_dir, tmp_path):
    data = tmp_path / "eval.jsonl"
    data.write_text(json.dumps({"text": "x", "label": "favour"}) + "\n")
    with pytest.raises(SystemExit, match="favour"):
        main(["eval", "--data", str(data), "--model", str(tiny_model_dir)])


def test_missing_model_is_a_clear_error(tmp_path, capsys):
    code = main(["score", str(ARTICLES), "--model", str(tmp_path / "nope")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
