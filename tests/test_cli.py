import csv
import json
import os
import subprocess
import sys
import zlib
from importlib.metadata import version

import numpy as np
import pytest

from stance.cli import main
from stance.labels import LABELS, column
from tests.conftest import ARTICLES


@pytest.mark.integration
def test_score_seed_articles_end_to_end(tiny_model_dir, tmp_path, capsys):
    out, summary = tmp_path / "s.jsonl", tmp_path / "summary.csv"
    code = main(["score", str(ARTICLES), "--model", str(tiny_model_dir), "-o", str(out),
                 "--summary", str(summary)])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["article_id"][:3] for r in rows} == {"000", "001", "002", "003", "004"}
    expected = {"article_id", "sentence_index", "start", "end", "text", "label", "confidence",
                "furniture", "uncertain", *(f"p_{column(label)}" for label in LABELS)}
    assert set(rows[0]) == expected
    assert any(r["furniture"] and r["text"] == "Related Articles" for r in rows)
    for r in rows:
        assert r["label"] in LABELS
        assert sum(r[f"p_{column(label)}"] for label in LABELS) == pytest.approx(1, abs=1e-4)
    with summary.open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 5
    assert {"article_id", "published", "status", "dominant_stance", "dominant_share",
            "evidence", "pro_membership", "conceding", "opposing", "neutral"} <= set(table[0])
    assert {t["published"] for t in table} == {"2022-03-15", "2022-03-16", "2024-12-03"}


@pytest.mark.integration
def test_score_reports_bad_inputs_and_keeps_the_rest(tiny_model_dir, tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Peskov said Kyiv must never join NATO.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    # A JPEG header: NUL bytes without a UTF-16 mark (FF FE would make it valid UTF-16 text).
    (tmp_path / "bad.txt").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01")
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


@pytest.mark.integration
def test_score_exits_non_zero_when_nothing_could_be_scored(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "empty.txt").write_bytes(b"")
    assert main(["score", str(tmp_path / "empty.txt"), "--model", str(tiny_model_dir)]) == 1
    assert "empty file" in capsys.readouterr().err


@pytest.mark.integration
def test_score_parquet_output(tiny_model_dir, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    assert main(["score", str(next(ARTICLES.glob("004*.txt"))), "--model", str(tiny_model_dir),
                 "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 16 and "p_opposing" in table.column_names


@pytest.mark.integration
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


@pytest.mark.integration
def test_eval_rejects_unknown_labels(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "eval.jsonl"
    data.write_text(json.dumps({"text": "x", "label": "favour"}) + "\n")
    assert main(["eval", "--data", str(data), "--model", str(tiny_model_dir)]) == 2
    assert "favour" in capsys.readouterr().err


# --- without a model: a fake classifier stands in, so these test the command, not the model ---

class FakeClassifier:
    """Probabilities from a hash of each text: deterministic, different per sentence, no model."""

    name, backend = "fake", "fake"

    def __init__(self, on_call=None, info=None):
        self.calls = 0
        self.on_call = on_call
        self.info = info or {}

    def predict_proba(self, texts, batch_size=64, **_):
        self.calls += 1
        if self.on_call:
            self.on_call(self.calls)
        probs = np.array([[(zlib.crc32(t.encode()) >> (8 * i)) % 251 + 1 for i in range(len(LABELS))]
                          for t in texts], dtype=float)
        return probs / probs.sum(axis=1, keepdims=True)


@pytest.fixture
def fake_model(monkeypatch):
    """Install a FakeClassifier for the CLI; score one article per prediction, as a big run would."""
    from stance import cli, scoring

    fake = FakeClassifier()
    monkeypatch.setattr(cli, "_load_classifier", lambda args: fake)
    monkeypatch.setattr(scoring, "PREDICT_CHUNK", 1)
    return fake


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(6):
        (root / f"2023-07-{i + 10:02d}-a{i}.txt").write_text(
            f"Zelensky said Ukraine belongs in NATO, article {i}. The Kremlin said it never will. "
            f"Ministers met in Vilnius on day {i}.", encoding="utf-8")
    (root / "2023-07-13-a3b.txt").write_bytes(b"")  # skipped: its summary row sits among the others
    return root


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_output_directories_are_created(fake_model, corpus, tmp_path):
    out, summary = tmp_path / "new" / "dir" / "x.csv", tmp_path / "other" / "s.jsonl"
    assert main(["score", str(corpus), "-o", str(out), "--summary", str(summary)]) == 0
    assert _lines(out)[0].startswith("article_id,sentence_index") and len(_lines(summary)) == 7


def test_output_that_cannot_be_written_is_a_usage_error_before_scoring(monkeypatch, corpus, capsys):
    from stance import cli

    def no_model(args):
        raise AssertionError("the model was loaded before the usage error")

    monkeypatch.setattr(cli, "_load_classifier", no_model)
    assert main(["score", str(corpus), "--format", "parquet"]) == 2
    assert "parquet output needs a file" in capsys.readouterr().err
    assert main(["score", str(corpus), "-o", "out.xlsx"]) == 2
    assert "cannot write .xlsx" in capsys.readouterr().err
    assert main(["score", str(corpus), "--resume"]) == 2
    assert main(["track", str(corpus), "-o", "table.xlsx"]) == 2


def test_format_json_means_jsonl(fake_model, corpus, capsys):
    assert main(["score", str(corpus), "--format", "json"]) == 0
    assert all(json.loads(line)["label"] in LABELS for line in capsys.readouterr().out.splitlines())


def test_rows_are_written_as_each_article_is_scored(monkeypatch, corpus, tmp_path):
    from stance import cli, scoring

    out = tmp_path / "rows.jsonl"
    seen = []
    fake = FakeClassifier(on_call=lambda n: seen.append(len(_lines(out)) if out.exists() else 0))
    monkeypatch.setattr(cli, "_load_classifier", lambda args: fake)
    monkeypatch.setattr(scoring, "PREDICT_CHUNK", 1)
    assert main(["score", str(corpus), "-o", str(out)]) == 0
    assert seen == [0, 3, 6, 9, 12, 15]  # before each article, every earlier article's rows


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_ctrl_c_leaves_complete_rows_and_resume_finishes_the_run(monkeypatch, fake_model, corpus,
                                                                 tmp_path, capsys, ext):
    from stance import cli

    full, full_summary = tmp_path / f"full.{ext}", tmp_path / f"full_summary.{ext}"
    assert main(["score", str(corpus), "-o", str(full), "--summary", str(full_summary)]) == 0

    def interrupt(n):
        if n == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier(on_call=interrupt))
    out, summary = tmp_path / f"part.{ext}", tmp_path / f"part_summary.{ext}"
    args = ["score", str(corpus), "-o", str(out), "--summary", str(summary)]
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert out.read_text().endswith("\n") and 0 < len(_lines(out)) < len(_lines(full))
    if ext == "jsonl":
        assert all(isinstance(json.loads(line), dict) for line in _lines(out))
    monkeypatch.setattr(cli, "_load_classifier", lambda args: FakeClassifier())
    assert main([*args, "--resume"]) == 0
    assert out.read_bytes() == full.read_bytes()
    assert summary.read_bytes() == full_summary.read_bytes()


def test_resume_after_a_kill_at_any_byte(fake_model, corpus, tmp_path):
    full, full_summary = tmp_path / "full.jsonl", tmp_path / "full_summary.csv"
    assert main(["score", str(corpus), "-o", str(full), "--summary", str(full_summary)]) == 0
    rows, summaries = full.read_bytes(), full_summary.read_bytes()
    # A kill leaves a prefix of each file; the summary never runs ahead of the rows it describes.
    for cut in (0, 1, 57, len(rows) // 3, len(rows) // 2, len(rows) - 5, len(rows)):
        done = {json.loads(line)["article_id"] for line in rows[:cut].decode().splitlines()[:-1]}
        summary_cut = 0
        for line in summaries.splitlines(keepends=True):
            if b"scored" in line and line.split(b",")[0].decode() not in done:
                break
            summary_cut += len(line)
        for s_cut in {0, summary_cut // 2, summary_cut}:
            out, summary = tmp_path / "x.jsonl", tmp_path / "x_summary.csv"
            out.write_bytes(rows[:cut])
            summary.write_bytes(summaries[:s_cut])
            assert main(["score", str(corpus), "-o", str(out), "--summary", str(summary),
                         "--resume"]) == 0, (cut, s_cut)
            assert out.read_bytes() == rows, (cut, s_cut)
            assert summary.read_bytes() == summaries, (cut, s_cut)


def test_duplicate_ids_get_distinct_rows_and_a_path(fake_model, tmp_path, capsys):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.txt").write_text("NATO met in Vilnius.")
    summary = tmp_path / "s.jsonl"
    assert main(["score", str(tmp_path / "a"), str(tmp_path / "b"), "--summary", str(summary)]) == 0
    rows = [json.loads(line) for line in _lines(summary)]
    assert [(r["article_id"], r["path"]) for r in rows] == [("x", str(tmp_path / "a" / "x.txt")),
                                                           ("x#2", str(tmp_path / "b" / "x.txt"))]
    assert "duplicate article id 'x'" in capsys.readouterr().err


def test_parquet_summaries_are_typed_and_concatenate(fake_model, corpus, tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "2023-07-11-a.txt").write_text("Zelensky said Ukraine belongs in NATO.")
    assert main(["score", str(clean), "--summary", str(tmp_path / "a.parquet"),
                 "-o", str(tmp_path / "rows.parquet")]) == 0
    assert main(["score", str(corpus), "--summary", str(tmp_path / "b.parquet")]) == 0
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert a.schema == b.schema
    both = pa.concat_tables([a, b])
    assert both.schema.field("published").type == pa.date32()
    assert both.schema.field("reason").type == pa.string()
    assert pa.types.is_list(both.schema.field("evidence").type)
    assert both.column("published")[0].as_py() == dt.date(2023, 7, 11)
    names = pq.read_table(tmp_path / "rows.parquet").column_names
    assert "p_pro_membership" in names and all("-" not in name for name in names + both.column_names)


def test_model_problems_exit_3_with_a_way_out(tmp_path, monkeypatch, capsys):
    card_only = tmp_path / "minilm-stance"
    card_only.mkdir()
    (card_only / "README.md").write_text("# model card")
    assert main(["score", str(ARTICLES), "--model", str(card_only)]) == 3
    err = capsys.readouterr().err
    assert "no trained model" in err and "make model" in err
    monkeypatch.setenv("STANCE_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert main(["track", str(ARTICLES)]) == 3
    assert str(tmp_path / "elsewhere") in capsys.readouterr().err


def test_usage_mistakes_get_one_line_and_exit_2(tmp_path, capsys):
    assert main(["eval", "--data", str(tmp_path / "nope.jsonl")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.jsonl'}: no such file"
    assert main(["train", "--config", str(tmp_path / "nope.json")]) == 2
    assert "no such configuration file" in capsys.readouterr().err
    assert main(["network", str(ARTICLES), "--by", "month", "--period", "2022-3",
                 "--edges", str(tmp_path / "e.csv")]) == 2
    assert "write it as 2022-03" in capsys.readouterr().err


def test_network_lists_the_periods_when_the_window_is_empty(fake_model, corpus, tmp_path, capsys):
    assert main(["network", str(corpus), "--by", "month", "--period", "2024-01",
                 "--edges", str(tmp_path / "e.csv")]) == 0
    assert "the periods found are: 2023-07" in capsys.readouterr().err


def test_verbose_after_the_subcommand_and_version(capsys):
    from stance.cli import build_parser

    assert build_parser().parse_args(["score", "x", "-v"]).verbose is True
    assert build_parser().parse_args(["-v", "score", "x"]).verbose is True
    assert build_parser().parse_args(["score", "x"]).verbose is False
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"stance {version('stance')}"


def test_python_dash_m_and_shell_completion(tmp_path):
    done = subprocess.run([sys.executable, "-m", "stance", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("stance ")
    completions = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": "stance sc", "COMP_POINT": "9",
           "_ARGCOMPLETE_STDOUT_FILENAME": str(completions), "_ARGCOMPLETE_IFS": "\n"}
    subprocess.run([sys.executable, "-m", "stance"], env=env, capture_output=True, check=False)
    assert completions.read_text().split() == ["score"]


def test_eval_warns_about_sentences_the_model_trained_on(monkeypatch, tmp_path, capsys):
    from stance import cli

    seeds = tmp_path / "seeds"
    (seeds / "dataset").mkdir(parents=True)
    (seeds / "dataset" / "train.jsonl").write_text(json.dumps({"text": "Kyiv must join NATO."}) + "\n")
    (seeds / "dataset" / "article_validation.jsonl").write_text(json.dumps({"text": "NATO met."}) + "\n")
    fake = FakeClassifier(info={"seeds_dir": str(seeds)})  # as run.json records it
    monkeypatch.setattr(cli, "_load_classifier", lambda args: fake)
    data = tmp_path / "eval.jsonl"
    data.write_text(json.dumps({"text": "Kyiv  must join NATO.", "label": "pro-membership"}) + "\n"
                    + json.dumps({"text": "NATO met.", "label": "neutral"}) + "\n")
    assert main(["eval", "--data", str(data), "--json"]) == 0
    captured = capsys.readouterr()
    assert "1 of 2 rows are training sentences" in captured.err
    seen = json.loads(captured.out)["seen_by_model"]
    assert seen["train"] == 1
    # Held-out articles the model was selected and calibrated on count as seen too.
    assert seen["article_validation"] == 1
