"""The HTTP service, tested as users reach it: a real `stance serve` on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import psutil
import pytest

from service.limits import (
    MAX_ARTICLE_CHARS,
    MAX_BODY_BYTES,
    MAX_LABEL_ROWS,
    MAX_TEXT_CHARS,
    MAX_TEXTS_PER_REQUEST,
    MAX_TRACK_ARTICLES,
    MAX_URL_CHARS,
)
from service.validation import (
    RequestRejected,
    article_id_of,
    article_query,
    article_request,
    classify_texts,
    labels_request,
    parse_json_body,
    post_article_request,
    timeline_query,
)
from stance.articles import article_from_record
from stance.cli import main
from stance.labels import LABELS, column
from tests.conftest import ARTICLES, ROOT, read_article
from tests.process import ServiceNotReady, ServiceProcess, free_port

START_TIMEOUT_S = 180
TOKEN = "s3cret-token"


# --- request checks, without a server -------------------------------------------------------

@pytest.mark.parametrize("payload, status, field", [
    ({}, 422, "texts"),
    ({"texts": "one"}, 422, "texts"),
    ({"texts": ["ok", 3]}, 422, "texts[1]"),
    ([], 422, None),
    ({"texts": ["x"] * (MAX_TEXTS_PER_REQUEST + 1)}, 413, "texts"),
    ({"texts": ["x" * (MAX_TEXT_CHARS + 1)]}, 413, "texts[0]"),
])
def test_classify_body_is_rejected_naming_the_field(payload, status, field):
    with pytest.raises(RequestRejected) as caught:
        classify_texts(payload)
    assert caught.value.status == status
    assert caught.value.field == field


def test_limits_are_named_in_the_message():
    with pytest.raises(RequestRejected, match=str(MAX_TEXTS_PER_REQUEST)):
        classify_texts({"texts": [""] * (MAX_TEXTS_PER_REQUEST + 1)})
    with pytest.raises(RequestRejected, match=str(MAX_ARTICLE_CHARS)):
        article_request({"text": "a" * (MAX_ARTICLE_CHARS + 1)})
    with pytest.raises(RequestRejected, match=str(MAX_BODY_BYTES)):
        parse_json_body(b" " * (MAX_BODY_BYTES + 1))


def test_article_body_is_checked_like_a_jsonl_record():
    record = {"text": "NATO met in Vilnius.", "id": "a1", "published": "2023-07-11T09:00:00Z"}
    assert article_request(record) == article_from_record(record, "body")
    with pytest.raises(RequestRejected) as caught:
        article_request({"text": "NATO met.", "published": "last week"})
    assert (caught.value.status, caught.value.field) == (422, "published")


def test_invalid_utf8_and_json_are_400():
    huge_integer = b'{"texts": [], "n": ' + b"9" * 5_000 + b"}"
    for body in (b'{"texts": ["\xff"]}', b'{"texts": [', b"[" * 100_000, huge_integer):
        with pytest.raises(RequestRejected) as caught:
            parse_json_body(body)
        assert caught.value.status == 400


@pytest.mark.parametrize("query, field", [
    ({"by": "decade"}, "by"), ({"by_actor": "yes"}, "by_actor"), ({"actor": "martians"}, "actor"),
    ({"since": "yesterday"}, "since"), ({"since": "2023-7-1"}, "since"),
    ({"min_confidence": "2"}, "min_confidence"), ({"min_confidence": "nan"}, "min_confidence"),
    ({"acter": "russia"}, "acter"),
])
def test_timeline_query_is_rejected_naming_the_parameter(query, field):
    with pytest.raises(RequestRejected) as caught:
        timeline_query(query)
    assert (caught.value.status, caught.value.field) == (422, field)


def test_timeline_and_article_queries():
    assert timeline_query({}) == {"by": "month", "by_actor": False, "actor": None, "since": None,
                                  "min_confidence": None, "model_version": None}
    assert timeline_query({"by": "year", "by_actor": "detail", "actor": "russia", "since": "2022-03-01",
                           "min_confidence": "0.5", "model_version": "abc"}) == {
        "by": "year", "by_actor": "detail", "actor": "russia", "since": "2022-03-01",
        "min_confidence": 0.5, "model_version": "abc"}
    assert timeline_query({"by_actor": "true"})["by_actor"] is True
    assert article_query({"min_confidence": "0.9"}) == {"model_version": None, "min_confidence": 0.9}
    with pytest.raises(RequestRejected):
        article_query({"by": "month"})
    assert [article_id_of(raw) for raw in ("12", "-3", "x", "1.5", "9" * 30, "١٢")] == \
        [12, -3, None, None, None, None]


def test_post_article_body_is_a_score_article_body_with_a_url():
    article = post_article_request({"text": "NATO met.", "url": "https://x.example/a", "id": 7})
    assert (article.id, article.url) == ("7", "https://x.example/a")
    for body, status, field in (({"text": "NATO met.", "url": 5}, 422, "url"),
                                ({"text": "NATO met.", "url": "h" * (MAX_URL_CHARS + 1)}, 413, "url"),
                                ({"url": "https://x.example"}, 422, "text")):
        with pytest.raises(RequestRejected) as caught:
            post_article_request(body)
        assert (caught.value.status, caught.value.field) == (status, field)


def test_a_labels_body_is_a_list_of_rows_within_the_limit():
    rows = [{"article_id": "a", "start": 0, "end": 3, "text_sha256": "0" * 64, "label": "neutral"}]
    assert labels_request({"labels": rows}) == rows
    for body, status, field in (({}, 422, "labels"), ({"labels": {"a": 1}}, 422, "labels"),
                                ({"labels": [], "label": []}, 422, "label"),
                                ({"labels": rows * (MAX_LABEL_ROWS + 1)}, 413, "labels")):
        with pytest.raises(RequestRejected) as caught:
            labels_request(body)
        assert (caught.value.status, caught.value.field) == (status, field)


def test_the_corpus_store_is_opened_on_first_use_and_unavailable_while_another_process_writes(tmp_path):
    from service.corpus import CorpusStore, StoreUnavailable

    path = tmp_path / "corpus.duckdb"
    corpus = CorpusStore(str(path))
    with corpus.reader() as store:
        assert store is None and not path.exists()  # reading creates nothing
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from stance.store import "
                               "open_store; s = open_store(sys.argv[1]); print('open', flush=True); "
                               "time.sleep(60)", str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreUnavailable, match="in use by another process"), corpus.writer():
            pass
    finally:
        holder.kill()
        holder.wait(30)
    with corpus.writer() as store:  # tried again on the next request
        list(store.ingest([article_from_record({"text": "Kyiv wants to join NATO."}, "t")]))
    with corpus.reader() as store:
        assert store.counts()["articles"] == 1
    corpus.close()


@pytest.mark.integration
def test_serve_refuses_a_model_for_other_labels(tiny_model_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in tiny_model_dir.iterdir():
        if f.is_file():
            (bad / f.name).write_bytes(f.read_bytes())
    (bad / "label_map.json").write_text(json.dumps({"labels": ["yes", "no"]}))
    assert main(["serve", "--model", str(bad), "--port", "1"]) == 3  # a model problem
    assert "trained for labels ['yes', 'no']" in capsys.readouterr().err
    # BentoML itself, started without the CLI, stops too instead of restarting the worker forever.
    env = {**os.environ, "STANCE_MODEL_DIR": str(bad), "BENTOML_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "bentoml", "serve", "service.service:StanceService",
                           "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=START_TIMEOUT_S, start_new_session=True)
    assert done.returncode != 0
    assert "trained for labels ['yes', 'no']" in done.stderr + done.stdout


# --- a real server ---------------------------------------------------------------------------

def _started(model_dir, home, token=None):
    yield from _wrapped(ServiceProcess(model_dir, home, token))


def _wrapped(server):
    try:
        server.wait_ready(START_TIMEOUT_S)
    except ServiceNotReady as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    yield from _started(tiny_model_dir, tmp_path_factory.mktemp("bentoml"))


@pytest.fixture(scope="module")
def token_server(tiny_model_dir, tmp_path_factory):
    yield from _started(tiny_model_dir, tmp_path_factory.mktemp("bentoml"), TOKEN)


@pytest.fixture(scope="module")
def local_classifier(tiny_model_dir):
    from stance.model import StanceClassifier

    return StanceClassifier.load(tiny_model_dir, device="cpu")


def _post(server, route, payload=None, **kwargs):
    if payload is not None:
        kwargs["json"] = payload
    kwargs.setdefault("timeout", 60)
    return httpx.post(f"{server.url}{route}", **kwargs)


@pytest.mark.integration
def test_classify_gives_label_confidence_and_every_probability(server, local_classifier):
    texts = ["Peskov said Ukraine must never join NATO.", "Kyiv's future lies in NATO, Stoltenberg said."]
    response = _post(server, "/classify", {"texts": texts})
    assert response.status_code == 200
    results = response.json()
    assert len(results) == 2
    expected = local_classifier.predict(texts)
    for result, local in zip(results, expected, strict=True):
        assert set(result["probabilities"]) == set(LABELS)
        assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-4)
        assert result["label"] == max(result["probabilities"], key=result["probabilities"].get)
        assert result["confidence"] == result["probabilities"][result["label"]]
        # The same library and model answer in-process and over HTTP.
        assert result["label"] == local.label
        assert result["confidence"] == pytest.approx(local.confidence, abs=1e-4)


@pytest.mark.integration
def test_classify_empty_list_is_an_empty_list(server):
    response = _post(server, "/classify", {"texts": []})
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.integration
def test_score_article_matches_the_cli_code_path(server, local_classifier):
    from stance.scoring import score_articles

    text = read_article("000")
    record = {"text": text, "id": "kyiv-1", "published": "2022-03-16", "title": "Seed article"}
    response = _post(server, "/score_article", record)
    assert response.status_code == 200
    body = response.json()
    local = next(score_articles(local_classifier, [article_from_record(record, "test")]))
    assert (body["id"], body["published"], body["title"]) == ("kyiv-1", "2022-03-16", "Seed article")
    assert [(s["start"], s["end"], s["label"]) for s in body["sentences"]] == \
        [(s.start, s.end, s.label) for s in local.sentences]
    for row in body["sentences"]:
        assert text[row["start"]:row["end"]] == row["text"]
    summary, expected = body["summary"], local.summary()
    assert summary["status"] == "scored" and summary["article_id"] == "kyiv-1"
    keys = (*map(column, LABELS), "sentences", "dominant_stance")
    assert {k: summary[k] for k in keys} == {k: expected[k] for k in keys}


@pytest.mark.integration
def test_min_confidence_marks_sentences_uncertain_and_leaves_them_out(server, local_classifier):
    text = read_article("000")
    everything = _post(server, "/score_article", {"text": text}).json()
    # Above every sentence's confidence: all are kept, all uncertain, none counted.
    strict = _post(server, "/score_article", {"text": text, "min_confidence": 1.0}).json()
    assert len(strict["sentences"]) == len(everything["sentences"])
    content = [s for s in strict["sentences"] if not s["furniture"]]
    assert content and all(s["uncertain"] for s in content)
    assert strict["summary"]["sentences"] == 0
    assert strict["summary"]["uncertain_sentences"] == len(content)
    assert not any(s["uncertain"] for s in everything["sentences"])
    rows = _post(server, "/track", {"articles": [{"text": text, "published": "2022-03-15"}],
                                    "min_confidence": 1.0}).json()
    assert rows == []


@pytest.mark.integration
def test_track_gives_the_cli_table_per_period_and_actor(server, local_classifier):
    from stance.articles import read_inputs
    from stance.tracking import track

    articles = list(read_inputs([str(ARTICLES)]))
    records = [{"id": a.id, "text": a.text, "published": a.published, "source": a.source}
               for a in articles]
    response = _post(server, "/track", {"articles": records, "by": "month", "by_actor": True})
    assert response.status_code == 200, response.text
    rows = response.json()
    assert {r["period"] for r in rows} == {"2022-03", "2024-12"}
    assert {"ukraine", "russia"} <= {r["actor"] for r in rows}
    expected = track(local_classifier, articles, "month").table(True)
    key = [(r["period"], r["actor"], r["sentences"], r["pro_membership"], r["conceding"]) for r in rows]
    assert key == [(r["period"], r["actor"], r["sentences"], r["pro_membership"], r["conceding"])
                   for r in expected]
    detail = _post(server, "/track", {"articles": records, "by": "month", "by_actor": "detail"}).json()
    assert ("ukraine", "UA") in {(r["actor"], r["actor_detail"]) for r in detail}
    undated = _post(server, "/track", {"articles": [{"text": "Kyiv wants to join NATO."}]}).json()
    assert [(r["period"], r["actor"], r["articles"]) for r in undated] == [("undated", "all", 1)]


def _get(server, route, **params):
    return httpx.get(f"{server.url}{route}", params=params, timeout=60)


@pytest.mark.integration
def test_post_articles_stores_and_scores_once_by_url_or_text(server, local_classifier):
    from stance.scoring import score_articles

    text = read_article("001")
    record = {"text": text, "id": "wire-1", "published": "2022-03-15", "title": "Seed",
              "url": "https://news.example/wire-1"}
    response = _post(server, "/articles", record)
    assert response.status_code == 200, response.text
    added = response.json()
    version = httpx.get(f"{server.url}/model", timeout=10).json()["version"]
    assert (added["status"], added["key"], added["url"], added["published"]) == \
        ("added", "wire-1", record["url"], "2022-03-15")
    assert added["model_version"] == version and added["scored"] and added["reason"] is None
    local = next(score_articles(local_classifier, [article_from_record(record, "test")]))
    assert [(s["start"], s["end"], s["label"]) for s in added["sentences"]] == \
        [(s.start, s.end, s.label) for s in local.sentences]

    again = _post(server, "/articles", record).json()
    assert (again["status"], again["id"], again["reason"]) == \
        ("duplicate", added["id"], "same url as 'wire-1'")
    moved = _post(server, "/articles", {**record, "url": "https://mirror.example/1"}).json()
    assert (moved["status"], moved["reason"]) == ("duplicate", "same text as 'wire-1'")
    stored = _get(server, f"/articles/{added['id']}").json()
    assert stored == {k: v for k, v in added.items() if k not in ("status", "reason")}
    strict = _get(server, f"/articles/{added['id']}", min_confidence=1.0).json()
    assert all(s["uncertain"] for s in strict["sentences"] if not s["furniture"])
    other = _get(server, f"/articles/{added['id']}", model_version="older").json()
    assert not other["scored"] and {s["label"] for s in other["sentences"]} == {None}
    for missing in ("999999", "-1", "abc", "9" * 40):
        response = _get(server, f"/articles/{missing}")
        assert response.status_code == 404 and "no article" in response.json()["error"], missing
    assert _get(server, f"/articles/{added['id']}", by="month").status_code == 422

    # The service holds the store: another process cannot write it meanwhile (one writer).
    done = subprocess.run([sys.executable, "-m", "stance.cli", "ingest", str(ARTICLES), "--db",
                           str(server.db)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "in use by another process" in done.stderr


@pytest.mark.integration
def test_timeline_reads_the_tracking_table_from_the_store(server, local_classifier):
    from stance.articles import read_inputs
    from stance.tracking import track

    articles = list(read_inputs([str(ARTICLES)]))
    for a in articles:
        body = {"id": a.id, "text": a.text, "published": a.published, "source": a.source}
        assert _post(server, "/articles", body).status_code == 200
    # The store may hold articles of other tests: compare the 2024 rows (one seed article alone).
    rows = _get(server, "/timeline", by="month", by_actor="true").json()
    expected = track(local_classifier, articles, "month").table(True)

    def key(table):
        return [(r["period"], r["actor"], r["sentences"], r["pro_membership"], r["opposing"])
                for r in table]
    assert {r["period"] for r in rows} >= {"2022-03", "2024-12"}
    late = _get(server, "/timeline", by="month", by_actor="true", since="2024-01-01").json()
    assert key(late) == key([r for r in expected if r["period"] >= "2024"])
    russia = _get(server, "/timeline", by="year", actor="russia", since="2024-01-01").json()
    assert [(r["period"], r["actor"]) for r in russia] == [("2024", "all")]
    assert russia[0]["sentences"] == sum(r["sentences"] for r in late if r["actor"] == "russia")
    assert _get(server, "/timeline", by="year", by_actor="detail").status_code == 200
    for params, status, field in (({"by": "decade"}, 422, "by"), ({"actor": "martians"}, 422, "actor"),
                                  ({"since": "last week"}, 422, "since"),
                                  ({"model_version": "nope"}, 404, "model_version"),
                                  ({"acter": "russia"}, 422, "acter")):
        response = _get(server, "/timeline", **params)
        assert (response.status_code, response.json()["field"]) == (status, field), params


@pytest.mark.integration
def test_reviewed_labels_are_stored_row_by_row_and_shown_by_the_store_routes(server):
    from stance.review import text_sha256

    text = ("Zelensky said Ukraine would join NATO after the war. Lavrov said Moscow would never "
            "accept it. Orban said Hungary could live with a neutral Ukraine. Stoltenberg said the "
            "door stays open.")
    record = {"text": text, "id": "reviewed-1", "published": "2019-06-03"}
    added = _post(server, "/articles", record).json()
    content = [s for s in added["sentences"] if not s["furniture"]]
    assert len(content) == 4 and {s["label_source"] for s in content} == {"model"}
    before = _get(server, "/timeline", by="year", by_actor="true", since="2019-01-01").json()

    def row(sentence, label, actor=None):
        return {"article_id": "reviewed-1", "start": sentence["start"], "end": sentence["end"],
                "text_sha256": text_sha256(sentence["text"]), "text": sentence["text"],
                "label": label, "actor": actor, "agreement": "unanimous",
                "annotators": [{"annotator": "a", "label": label, "actor": actor}]}
    # Labels the model did not give, so the timeline must move.
    other = [next(label for label in LABELS if label != s["label"] and label != "neutral")
             for s in content]
    good = [row(content[0], other[0], "ukraine"), row(content[1], other[1])]
    answer = _post(server, "/labels", {"labels": good})
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["rows"]] == ["added", "added"]
    again = _post(server, "/labels", {"labels": good}).json()
    assert (again["stored"], [r["status"] for r in again["rows"]]) == (2, ["unchanged", "unchanged"])

    stored = _get(server, f"/articles/{added['id']}").json()
    by_start = {s["start"]: s for s in stored["sentences"]}
    first = by_start[content[0]["start"]]
    assert (first["label"], first["label_source"], first["confidence"], first["actor"]) == \
        (other[0], "human", 1.0, "ukraine")
    assert by_start[content[2]["start"]]["label_source"] == "model"
    after = _get(server, "/timeline", by="year", by_actor="true", since="2019-01-01").json()
    assert after != before
    counted = {r["actor"]: r for r in after if r["period"] == "2019"}
    assert counted["ukraine"][column(other[0])] >= 1

    # Bad rows are answered one by one; the good row among them is stored.
    mixed = [row(content[2], other[2]),
             {**row(content[0], other[0]), "text_sha256": text_sha256("edited")},
             {**row(content[0], other[0]), "article_id": "no-such-article"}]
    conflict = _post(server, "/labels", {"labels": mixed})
    assert conflict.status_code == 409, conflict.text
    body = conflict.json()
    assert [r["status"] for r in body["rows"]] == ["added", "rejected", "rejected"]
    assert "text hash mismatch" in body["rows"][1]["reason"] and body["field"] == "labels[1]"
    assert "unknown article 'no-such-article'" in body["rows"][2]["reason"] and body["stored"] == 1
    invalid = _post(server, "/labels", {"labels": [row(content[3], "maybe"), row(content[3], "neutral",
                                                                                 "martians")]})
    assert invalid.status_code == 422 and "unknown label 'maybe'" in invalid.json()["error"]
    assert [r["status"] for r in invalid.json()["rows"]] == ["rejected", "rejected"]
    assert _get(server, f"/articles/{added['id']}").json()["sentences"][content[2]["sentence_index"]][
        "label_source"] == "human"
    for payload, status in (({"label": []}, 422), ({"labels": "x"}, 422), ([], 422)):
        assert _post(server, "/labels", payload).status_code == status


@pytest.mark.integration
def test_model_endpoint_describes_the_loaded_model(server, tiny_model_dir):
    response = httpx.get(f"{server.url}/model", timeout=10)
    assert response.status_code == 200
    info = response.json()
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    assert info["name"] == "tiny"
    assert info["labels"] == list(LABELS)
    assert info["trained_at"] == json.loads((tiny_model_dir / "run.json").read_text())["trained_at"]
    assert info["metrics"]["test"]["macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])
    assert re.fullmatch(r"[0-9a-f]{12}", info["version"])
    assert info["device"] in ("cpu", "cuda", "cuda:0")
    # The tiny model's int8 check decides, exactly as the CLI's `auto` does.
    expected = "onnx-int8" if metrics["fast"]["default_on_cpu"] and info["device"] == "cpu" else "torch"
    assert info["backend"] == expected
    assert info["backend_reason"]


@pytest.mark.integration
def test_health_metrics_and_docs_are_served(server):
    for path in ("/livez", "/readyz", "/metrics", "/", "/docs.json"):
        assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 200, path
    assert "# TYPE" in httpx.get(f"{server.url}/metrics", timeout=10).text
    paths = httpx.get(f"{server.url}/docs.json", timeout=10).json()["paths"]
    assert {"/classify", "/score_article"} <= set(paths)


BAD_REQUESTS = [
    # (route, body, status, a word the message must contain)
    ("/classify", {"text": ["typo for texts"]}, 422, "texts"),
    ("/classify", {"texts": "not a list"}, 422, "texts"),
    ("/classify", {"texts": ["fine", None]}, 422, "texts[1]"),
    ("/classify", ["texts"], 422, "JSON object"),
    ("/classify", {"texts": ["x"] * (MAX_TEXTS_PER_REQUEST + 1)}, 413, str(MAX_TEXTS_PER_REQUEST)),
    ("/classify", {"texts": ["x" * (MAX_TEXT_CHARS + 1)]}, 413, str(MAX_TEXT_CHARS)),
    ("/classify", b'{"texts": ["caf\xe9"]}', 400, "UTF-8"),
    ("/classify", b'{"texts": [', 400, "JSON"),
    ("/classify", b"[" * 100_000, 400, "nested"),
    ("/classify", b'{"texts": ["x"], "n": ' + b"9" * 5_000 + b"}", 400, "JSON"),
    ("/track", b'{"articles": [{"text": "NATO met.", "id": ' + b"1" * 5_000 + b"}]}", 400, "JSON"),
    ("/score_article", {"id": "no-text"}, 422, "text"),
    ("/score_article", {"text": 42}, 422, "text"),
    ("/score_article", {"text": "   "}, 422, "text"),
    ("/score_article", {"text": "NATO met.", "published": "someday"}, 422, "published"),
    ("/score_article", {"text": "NATO met.", "id": ["a"]}, 422, "id"),
    ("/score_article", {"text": "NATO met.", "title": 7}, 422, "title"),
    ("/score_article", {"text": "NATO met. " * (MAX_ARTICLE_CHARS // 10 + 1)}, 413, str(MAX_ARTICLE_CHARS)),
    ("/score_article", b"\xff\xfe", 400, "UTF-8"),
    ("/score_article", b"x" * (MAX_BODY_BYTES + 1), 413, str(MAX_BODY_BYTES)),
    ("/track", {"article": []}, 422, "articles"),
    ("/track", {"articles": [{"text": "NATO met."}], "by": "decade"}, 422, "by"),
    ("/track", {"articles": [{"text": "NATO met."}], "by_actor": "yes"}, 422, "by_actor"),
    ("/track", {"articles": [{"text": "NATO met."}], "min_confidence": 2}, 422, "min_confidence"),
    ("/score_article", {"text": "NATO met.", "min_confidence": "high"}, 422, "min_confidence"),
    ("/track", {"articles": [{"text": "NATO met."}, {"id": "b"}]}, 422, "articles[1]"),
    ("/track", {"articles": ["NATO met."]}, 422, "articles[0]"),
    ("/track", {"articles": [{"text": "x"}] * (MAX_TRACK_ARTICLES + 1)}, 413, str(MAX_TRACK_ARTICLES)),
    ("/articles", {"id": "no-text"}, 422, "text"),
    ("/articles", {"text": "   "}, 422, "text"),
    ("/articles", {"text": "NATO met.", "published": "someday"}, 422, "published"),
    ("/articles", {"text": "NATO met.", "url": 5}, 422, "url"),
    ("/articles", {"text": "NATO met.", "url": "h" * (MAX_URL_CHARS + 1)}, 413, str(MAX_URL_CHARS)),
    ("/articles", {"text": "NATO met.", "min_confidence": -1}, 422, "min_confidence"),
    ("/articles", {"text": "NATO met. " * (MAX_ARTICLE_CHARS // 10 + 1)}, 413, str(MAX_ARTICLE_CHARS)),
    ("/articles", b"x" * (MAX_BODY_BYTES + 1), 413, str(MAX_BODY_BYTES)),
]


@pytest.mark.integration
@pytest.mark.parametrize("route, body, status, word", BAD_REQUESTS,
                         ids=[f"{r}-{i}" for i, (r, *_) in enumerate(BAD_REQUESTS)])
def test_bad_input_is_a_4xx_that_says_why(server, route, body, status, word):
    if isinstance(body, bytes):
        response = _post(server, route, content=body, headers={"Content-Type": "application/json"})
    else:
        response = _post(server, route, body)
    assert response.status_code == status, response.text
    assert word in response.json()["error"]


@pytest.mark.integration
@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain",
                                          "multipart/form-data; boundary=x"])
def test_a_post_body_that_is_not_declared_json_is_415(server, content_type):
    # The types a browser sends cross-origin without a preflight (CSRF), and none at all.
    headers = {"Content-Type": content_type} if content_type else {}
    for route in ("/classify", "/score_article", "/track", "/articles"):
        response = _post(server, route, content=b'{"texts": ["NATO met."]}', headers=headers)
        assert response.status_code == 415, (route, response.text)
        assert "application/json" in response.json()["error"]
    response = _post(server, "/classify", content=b'{"texts": ["NATO met."]}',
                     headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 200


@pytest.mark.integration
def test_only_allowed_host_headers_are_answered(server):
    for host in ("evil.example", f"attacker.example:{server.port}", "127.0.0.2"):
        response = httpx.get(f"{server.url}/model", headers={"Host": host}, timeout=10)
        assert response.status_code == 400, host
        assert _post(server, "/classify", {"texts": ["NATO met."]}, headers={"Host": host}).status_code == 400
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "localhost"):
        assert httpx.get(f"{server.url}/model", headers={"Host": host}, timeout=10).status_code == 200, host


@pytest.mark.integration
def test_no_cross_origin_access_unless_configured(server, short_deadline_server):
    origin = {"Origin": "https://news.example"}
    preflight = {**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    assert "access-control-allow-origin" not in _post(server, "/classify", {"texts": ["x"]},
                                                      headers=origin).headers
    # short_deadline_server is started with STANCE_CORS_ORIGINS=https://news.example.
    response = httpx.options(f"{short_deadline_server.url}/classify", headers=preflight, timeout=10)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://news.example"
    other = httpx.options(f"{short_deadline_server.url}/classify",
                          headers={**preflight, "Origin": "https://evil.example"}, timeout=10)
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.integration
def test_server_keeps_serving_after_bad_input(server):
    for route, body, *_ in BAD_REQUESTS[:4]:
        _post(server, route, body)
    assert httpx.get(f"{server.url}/livez", timeout=10).status_code == 200
    assert _post(server, "/classify", {"texts": ["NATO met."]}).status_code == 200


def _batch_histogram(server) -> tuple[float, float]:
    """(model calls of /classify, calls that held a single text), from /metrics."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text

    def value(prefix: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))

    return value("stance_classify_batch_texts_count"), value('stance_classify_batch_texts_bucket{le="1.0"}')


@pytest.mark.integration
def test_64_concurrent_requests_all_answered_and_batched(server):
    # BentoML's dispatcher sends its first requests one at a time while it learns the model's speed.
    for i in range(12):
        assert _post(server, "/classify", {"texts": [f"Warm-up sentence {i} about NATO."]}).status_code == 200
    batches_before, singles_before = _batch_histogram(server)

    async def burst():
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(
                client.post("/classify", json={"texts": [f"Request {i}: Kyiv wants to join NATO."]})
                for i in range(64)))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 64
    assert all(len(r.json()) == 1 and r.json()[0]["label"] in LABELS for r in responses)
    batches, singles = _batch_histogram(server)
    # Fewer model calls than requests: some calls carried several requests.
    assert batches - batches_before > 0
    assert (batches - batches_before) - (singles - singles_before) > 0


@pytest.mark.integration
def test_token_guards_everything_but_health_and_metrics(token_server):
    url = token_server.url
    good = {"Authorization": f"Bearer {TOKEN}"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}):
        response = httpx.post(f"{url}/classify", json={"texts": ["NATO met."]}, headers=headers, timeout=30)
        assert response.status_code == 401
        assert "Bearer" in response.json()["error"]
        assert httpx.get(f"{url}/model", headers=headers, timeout=10).status_code == 401
        assert httpx.post(f"{url}/score_article", json={"text": "NATO met."}, headers=headers,
                          timeout=30).status_code == 401
    assert httpx.post(f"{url}/classify", json={"texts": ["NATO met."]}, headers=good,
                      timeout=30).status_code == 200
    assert httpx.get(f"{url}/model", headers=good, timeout=10).status_code == 200
    for scheme in ("bearer", "BEARER", "BeArEr"):  # the scheme is case-insensitive (RFC 9110)
        assert httpx.get(f"{url}/model", headers={"Authorization": f"{scheme} {TOKEN}"},
                         timeout=10).status_code == 200, scheme
    for path in ("/livez", "/readyz", "/metrics"):
        assert httpx.get(f"{url}{path}", timeout=10).status_code == 200, path


@pytest.mark.integration
def test_bentoml_client_call_from_the_readme_works(token_server):
    import bentoml

    with bentoml.SyncHTTPClient(token_server.url, token=TOKEN) as client:
        results = client.classify(texts=["Peskov said Ukraine must never join NATO."])
        article = client.score_article(text="NATO met in Vilnius. Kyiv asked to join.",
                                       published="2023-07-11")
    assert results[0]["label"] in LABELS
    assert article["summary"]["status"] == "scored"
    assert [s["sentence_index"] for s in article["sentences"]] == [0, 1]


# --- isolation: article work never starves /classify, and stops at its deadline ------------------

WORST_ARTICLE = ("Mr. U.S. Sen. Dr. No. " * 10_000)[:MAX_ARTICLE_CHARS - 1_000]


def _in_background(fn):
    done = {}
    thread = threading.Thread(target=lambda: done.setdefault("result", fn()), daemon=True)
    thread.start()
    return thread, done


@pytest.mark.integration
def test_classify_stays_fast_while_a_worst_case_article_is_scored(server):
    article, _ = _in_background(lambda: _post(server, "/score_article", {"text": WORST_ARTICLE}, timeout=180))
    time.sleep(1.5)  # segmentation has started
    latencies = []
    for i in range(50):
        started = time.perf_counter()
        response = _post(server, "/classify", {"texts": [f"Sentence {i}: Kyiv wants to join NATO."]})
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert article.is_alive(), "the article finished first: nothing was measured under load"
    p99 = sorted(latencies)[int(0.99 * len(latencies))]
    print(f"/classify p99 with a worst-case article in flight: {p99 * 1000:.0f} ms")
    assert p99 < 1.0
    article.join(180)


@pytest.fixture(scope="module")
def short_deadline_server(tiny_model_dir, tmp_path_factory):
    server = ServiceProcess(tiny_model_dir, tmp_path_factory.mktemp("bentoml"),
                            extra_env={"STANCE_ARTICLE_DEADLINE_S": "3", "STANCE_HEADER_TIMEOUT_S": "2",
                                       "STANCE_BODY_TIMEOUT_S": "2",
                                       "STANCE_CORS_ORIGINS": "https://news.example"})
    yield from _wrapped(server)


def _server_cpu_seconds(server) -> float:
    root = psutil.Process(server.process.pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


@pytest.mark.integration
def test_an_article_past_its_deadline_gets_504_and_stops_using_cpu(short_deadline_server):
    server = short_deadline_server
    started = time.perf_counter()
    response = _post(server, "/score_article", {"text": WORST_ARTICLE}, timeout=60)
    assert response.status_code == 504, response.text
    assert "deadline" in response.json()["error"]
    assert time.perf_counter() - started < 10
    time.sleep(1)  # the work stops at its next check
    before = _server_cpu_seconds(server)
    time.sleep(2)
    assert _server_cpu_seconds(server) - before < 0.5
    assert _post(server, "/classify", {"texts": ["NATO met."]}).status_code == 200


@pytest.mark.integration
def test_random_paths_leave_metrics_small_and_are_counted_after_routing(token_server):
    # Unauthenticated requests to paths that do not exist: each once a new label value.
    async def scan():
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=token_server.url, timeout=60, limits=limits) as client:
            semaphore = asyncio.Semaphore(32)

            async def one(i):
                async with semaphore:
                    return (await client.get(f"/probe-{i}-{os.urandom(4).hex()}")).status_code

            return await asyncio.gather(*(one(i) for i in range(10_000)))

    statuses = asyncio.run(scan())
    assert set(statuses) == {401}
    text = httpx.get(f"{token_server.url}/metrics", timeout=30).text
    print(f"/metrics after 10,000 random paths: {len(text.encode())} bytes")
    assert len(text.encode()) < 200_000
    assert "probe-" not in text
    unmatched = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                    if line.startswith("stance_http_requests_total{") and 'route="unmatched"' in line)
    assert unmatched >= 10_000
    rejected = [line for line in text.splitlines()
                if line.startswith('stance_requests_rejected_total{reason="unauthorized"}')]
    assert rejected and float(rejected[0].rsplit(" ", 1)[1]) >= 10_000


@pytest.mark.integration
def test_metrics_count_sentences_per_label_and_model_latency(server):
    assert _post(server, "/classify", {"texts": ["NATO met.", "Kyiv wants to join."]}).status_code == 200
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    classified = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                     if line.startswith("stance_sentences_classified_total{")
                     and 'endpoint="classify"' in line)
    assert classified >= 2
    assert re.search(r'^stance_model_seconds_count\{endpoint="classify"\} [1-9]', text, re.MULTILINE)
    assert "stance_article_queue_depth 0.0" in text


# --- integrity: a tampered model never serves wrong results ----------------------------------------

def _tampered(tiny_model_dir, tmp_path, name):
    target = tmp_path / name
    shutil.copytree(tiny_model_dir, target)
    return target


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _permute_int8_logits(model_dir):
    """An int8 file that runs but answers with its labels permuted, its checksum recorded as good."""
    import onnx
    from onnx import helper, numpy_helper

    from stance.model_dir import INT8_FILE, file_digest

    path = model_dir / INT8_FILE
    model = onnx.load(str(path))
    last = next(n for n in model.graph.node if "logits" in n.output)
    last.output[list(last.output).index("logits")] = "logits_in_order"
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 2, 3, 0], dtype=np.int64), "perm"))
    model.graph.node.append(helper.make_node("Gather", ["logits_in_order", "perm"], ["logits"], axis=1))
    onnx.save(model, str(path))
    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["fast"]["sha256"] = file_digest(path)
    metrics_path.write_text(json.dumps(metrics))


TAMPERED = {
    "truncated-tokenizer": lambda d: _truncate(d / "tokenizer.json"),
    "invalid-metrics": lambda d: (d / "metrics.json").write_text("{not json"),
    "truncated-weights-and-int8": lambda d: (_truncate(d / "model.safetensors"),
                                             _truncate(d / "model.int8.onnx")),
    "permuted-int8-logits": _permute_int8_logits,
    "no-probe-record": lambda d: (d / "probe.json").unlink(),
}


@pytest.mark.integration
@pytest.mark.parametrize("variant", list(TAMPERED))
def test_a_tampered_model_stops_start_up_with_one_line(tiny_model_dir, tmp_path, variant):
    model = _tampered(tiny_model_dir, tmp_path, variant)
    TAMPERED[variant](model)
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "home")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "stance.cli", "serve", "--model", str(model),
                           "--port", str(free_port())], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, start_new_session=True)
    elapsed = time.perf_counter() - started
    assert done.returncode != 0
    assert elapsed < 30
    errors = [line for line in (done.stderr + done.stdout).splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr


def _model_info(model_dir, tmp_path):
    (tmp_path / "home").mkdir()
    with ServiceProcess(model_dir, tmp_path / "home") as server:
        info = httpx.get(f"{server.url}/model", timeout=10).json()
        response = _post(server, "/classify", {"texts": ["Peskov said Ukraine must never join NATO."]})
        assert response.status_code == 200
        log = server.log.read_text()
    return info, response.json()[0], log


@pytest.mark.integration
def test_a_corrupted_int8_file_falls_back_to_fp32_with_a_warning(tiny_model_dir, tmp_path, local_classifier):
    model = _tampered(tiny_model_dir, tmp_path, "corrupted-int8")
    data = bytearray((model / "model.int8.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (model / "model.int8.onnx").write_bytes(bytes(data))
    info, result, log = _model_info(model, tmp_path)
    assert (info["backend"], info["served_file"]) == ("torch", "model.safetensors")
    assert "model.int8.onnx" in info["backend_reason"]
    assert "serving the fp32 (torch) model instead of model.int8.onnx" in log
    torch_digest = json.loads((model / "probe.json").read_text())["backends"]["torch"]["sha256"]
    assert info["version"] == torch_digest[:12]


@pytest.mark.integration
def test_the_version_is_the_digest_of_the_served_int8_file(tiny_model_dir, tmp_path):
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())
    if not metrics["fast"]["default_on_cpu"]:
        pytest.skip("the tiny model's int8 file did not pass its quality check")
    model = _tampered(tiny_model_dir, tmp_path, "truncated-weights")
    _truncate(model / "model.safetensors")  # never read by the int8 path
    info, _, _ = _model_info(model, tmp_path)
    assert (info["backend"], info["served_file"]) == ("onnx-int8", "model.int8.onnx")
    assert info["version"] == metrics["fast"]["sha256"][:12]


# --- process hygiene -----------------------------------------------------------------------------

def _files_only_model(path):
    """A model directory that passes the file and label checks (enough for the CLI's own checks)."""
    path.mkdir()
    for name in ("model.safetensors", "tokenizer.json"):
        (path / name).write_text("{}")
    (path / "label_map.json").write_text(json.dumps({"labels": list(LABELS)}))
    (path / "config.json").write_text(json.dumps({"id2label": dict(enumerate(LABELS))}))
    return path


def test_a_busy_port_is_one_line_and_a_non_zero_exit(tmp_path, capsys):
    import socket

    model = _files_only_model(tmp_path / "model")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(model), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert len([line for line in err if line.startswith("error:")]) == 1


def _tree(server):
    root = psutil.Process(server.process.pid)
    return [root, *root.children(recursive=True)]


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.integration
def test_the_worker_dies_with_its_supervisor_on_sigkill(tiny_model_dir, tmp_path):
    with ServiceProcess(tiny_model_dir, tmp_path) as server:
        tree = _tree(server)
        assert len(tree) >= 2  # the supervisor and at least one worker in a session of its own
        assert any(os.getsid(p.pid) != os.getsid(server.process.pid) for p in tree)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == []
        assert _port_is_free(server.port)


@pytest.mark.integration
def test_stop_leaves_no_process_behind(tiny_model_dir, tmp_path):
    with ServiceProcess(tiny_model_dir, tmp_path) as server:
        tree = _tree(server)
    assert [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert _port_is_free(server.port)


@pytest.mark.integration
def test_slow_headers_and_bodies_are_cut_off(short_deadline_server):
    import socket

    # short_deadline_server: 2 s for a request head, 2 s for a body.
    with socket.create_connection(("127.0.0.1", short_deadline_server.port), timeout=15) as silent:
        started = time.perf_counter()
        assert silent.recv(1024) == b""  # sent nothing: closed by the server
        assert time.perf_counter() - started < 8
    with socket.create_connection(("127.0.0.1", short_deadline_server.port), timeout=15) as slow:
        slow.sendall(b"POST /classify HTTP/1.1\r\nHost: localhost\r\nContent-")
        started = time.perf_counter()
        assert slow.recv(1024) == b""  # closed by the server
        assert time.perf_counter() - started < 8
    with socket.create_connection(("127.0.0.1", short_deadline_server.port), timeout=15) as slow:
        slow.sendall(b"POST /classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"texts\": ")
        started = time.perf_counter()
        answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.perf_counter() - started < 8


# --- several workers, and replicas without a store ----------------------------------------------

@pytest.mark.integration
def test_serve_refuses_several_workers_with_a_store(tiny_model_dir, tmp_path, capsys):
    assert main(["serve", "--model", str(tiny_model_dir), "--workers", "2",
                 "--db", str(tmp_path / "c.duckdb"), "--port", "1"]) == 2
    assert "one writing process" in capsys.readouterr().err
    assert main(["serve", "--model", str(tiny_model_dir), "--workers", "0", "--port", "1"]) == 2


@pytest.mark.integration
def test_two_workers_share_the_cores_answer_alike_and_serve_no_store(tiny_model_dir, tmp_path,
                                                                     local_classifier):
    from stance.backends import batching

    env = {"STANCE_WORKERS": "2"}
    env.pop(batching.THREADS_ENV, None)
    server = ServiceProcess(tiny_model_dir, tmp_path, extra_env=env)
    for _ in _wrapped(server):
        info = httpx.get(f"{server.url}/model", timeout=10).json()
        assert info["workers"] == 2
        assert info["threads"] == max(1, batching.cpu_threads() // 2)
        texts = ["Peskov said Ukraine must never join NATO.", "Kyiv's future lies in NATO, he said."]
        expected = local_classifier.predict(texts)
        # Enough requests that both workers answer some: every answer is the in-process one.
        with httpx.Client(timeout=30) as client:
            for _ in range(20):
                results = client.post(f"{server.url}/classify", json={"texts": texts}).json()
                assert [r["label"] for r in results] == [e.label for e in expected]
                assert [r["confidence"] for r in results] == pytest.approx(
                    [e.confidence for e in expected], abs=1e-4)
            refused = client.get(f"{server.url}/timeline")
        assert refused.status_code == 503 and "one writer" in refused.json()["error"]
        assert "retry-after" not in refused.headers  # trying again will not help
        assert not server.db.exists()


@pytest.mark.integration
def test_a_replica_with_the_store_off_says_where_store_requests_go(tiny_model_dir, tmp_path):
    server = ServiceProcess(tiny_model_dir, tmp_path, extra_env={"STANCE_STORE": "off"})
    for _ in _wrapped(server):
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        added = httpx.post(f"{server.url}/articles", json={"text": "Kyiv wants to join NATO."},
                           timeout=30)
        assert added.status_code == 503 and "STANCE_STORE=off" in added.json()["error"]
        assert httpx.get(f"{server.url}/articles/1", timeout=10).status_code == 503
        assert not server.db.exists()
