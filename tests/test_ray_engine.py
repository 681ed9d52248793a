import json
import os
import subprocess
import sys
import textwrap

import pytest

from stance.cli import main
from stance.dataset import SEEDS_DIR, article_text
from stance.ray_engine import RayEngineError, RayOptions, _local_cpus, check_output, init_ray, list_inputs
from tests.conftest import ROOT


def _authored(n: int) -> list[dict]:
    records = []
    for path in sorted((SEEDS_DIR / "authored_articles").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            article = json.loads(line)
            records.append({"id": article["id"], "text": article_text(article)[0],
                            "published": article["published"], "source": article["source"]})
    return records[:n]


def test_inputs_are_listed_and_every_unusable_one_is_named(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.parquet").write_bytes(b"")
    (tmp_path / "sub" / "c.CSV").write_text("id,text\n")
    (tmp_path / "notes.txt").write_text("NATO met.")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jsonl").write_text("{}\n")
    files, skipped = list_inputs([str(tmp_path), str(tmp_path / "missing.jsonl"), "nosuch://bucket/x"])
    assert {kind: [p.rsplit("/", 1)[-1] for p in paths] for kind, paths in files.items()} == {
        "jsonl": ["a.jsonl"], "csv": ["c.CSV"], "parquet": ["b.parquet"]}
    reasons = {item.id.rsplit("/", 1)[-1]: item.reason for item in skipped}
    assert reasons["notes.txt"].startswith("unsupported file type .txt")
    assert reasons["missing.jsonl"] == "no such file or directory"
    assert reasons["x"].startswith("cannot list it")
    files, _ = list_inputs([f"file://{tmp_path}/a.jsonl"])
    assert files["jsonl"] == [f"{tmp_path}/a.jsonl"]


def test_the_output_must_be_a_new_or_empty_directory(tmp_path):
    check_output(str(tmp_path / "new"))
    check_output(str(tmp_path))
    (tmp_path / "old.parquet").write_bytes(b"x")
    with pytest.raises(RayEngineError, match="not empty"):
        check_output(str(tmp_path))
    with pytest.raises(RayEngineError, match="is a file"):
        check_output(str(tmp_path / "old.parquet"))


def test_a_local_cluster_keeps_a_cpu_spare_for_reading():
    # Two 1-CPU actors on two cores starved Ray's file listing: there is always one CPU more.
    assert _local_cpus(RayOptions(actors=64)) == 65
    assert _local_cpus(RayOptions(actors=3, cpus_per_actor=2.5)) == max(9, len(os.sched_getaffinity(0)))
    assert RayOptions(cpus_per_actor=2.5).threads == 2
    assert RayOptions(gpus_per_actor=1).actor_device == "cuda"
    assert RayOptions().actor_device == "cpu"


def test_ray_options_that_cannot_work_are_refused_before_ray_starts(tmp_path, capsys):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": "NATO met."}) + "\n")
    for extra, message in ((["--summary", str(tmp_path / "s.csv"), "-o", str(tmp_path / "o")], "--summary"),
                           ([], "needs -o DIR"),
                           (["-o", str(tmp_path / "o"), "--format", "csv"], "Parquet only"),
                           (["-o", str(tmp_path / "o"), "--actors", "0"], "at least 1")):
        with pytest.raises(SystemExit) if "--actors" in extra else _no_raise():
            assert main(["score", str(corpus), "--engine", "ray", *extra]) == 2
        assert message in capsys.readouterr().err


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(RayEngineError, match=r"pip install 'stance\[ray\]'"):
        init_ray(RayOptions())


@pytest.mark.integration
def test_ray_rows_equal_stance_score_on_a_local_cluster(tmp_path, tiny_model_dir):
    # The tiny model, so that CI (which trains no default model) runs the Ray path too.
    pytest.importorskip("ray")
    import pyarrow.dataset as ds

    records = _authored(20)
    records.append({"id": "empty", "text": ""})
    corpus = tmp_path / "corpus.jsonl"  # one file: the engine splits it for the two actors
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    local = tmp_path / "local.jsonl"
    assert main(["score", str(corpus), "-o", str(local), "--model", str(tiny_model_dir)]) == 0
    expected = [json.loads(line) for line in local.read_text(encoding="utf-8").splitlines()]
    out = tmp_path / "ray-out"
    # A process of its own, with a time limit: Ray's workers and a hang cannot outlive the test.
    script = textwrap.dedent(f"""
        import sys, ray
        from stance.cli import main
        code = main(["score", {str(corpus)!r}, "--engine", "ray", "--actors", "2", "-o", {str(out)!r},
                     "--model", {str(tiny_model_dir)!r}])
        print("NODE_IP", ray.util.get_node_ip_address(), ray.get_runtime_context().gcs_address)
        sys.exit(code)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped empty: corpus.jsonl:21: field 'text' is empty" in done.stderr
    assert "scored 20 article(s)" in done.stderr
    node_ip, gcs = done.stdout.split("NODE_IP ", 1)[1].split()
    assert node_ip == "127.0.0.1" and gcs.startswith("127.0.0.1:")
    table = ds.dataset(str(out), format="parquet").to_table()
    rows = [r for r in table.to_pylist() if r["reason"] is None]
    rows.sort(key=lambda r: (r["article_id"], r["sentence_index"]))
    expected.sort(key=lambda r: (r["article_id"], r["sentence_index"]))
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert {k: got[k] for k in ("article_id", "sentence_index", "start", "end", "text", "label",
                                    "furniture", "uncertain")} == \
            {k: want[k] for k in ("article_id", "sentence_index", "start", "end", "text", "label",
                                  "furniture", "uncertain")}
        assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-5)
    by_id = {r["id"]: r for r in records}
    assert {(r["article_id"], str(r["published"]), r["source"]) for r in rows} == {
        (i, by_id[i]["published"], by_id[i]["source"]) for i in by_id if i != "empty"}
    assert len(set(table.column("model_version").to_pylist())) == 1
