import csv
import json
import re

import networkx as nx
import numpy as np
import pytest

from stance.articles import ArticleError, article_from_record, read_inputs
from stance.cli import main
from stance.labels import LABELS
from stance.model import default_model_dir
from stance.network import edge_rows, stance_graph, write_edges_csv, write_graphml
from stance.report import write_html, write_png
from stance.scoring import score_articles
from stance.sentence_rows import SCORE_COLUMNS, TRACK_COLUMNS
from stance.tracking import (
    UNDATED,
    TrackedSentence,
    aggregate,
    net_stance,
    period_of,
    track,
    track_records,
)
from tests.conftest import ARTICLES, ROOT, SEEDS


class GoldClassifier:
    """Answers with the seed gold label of each sentence: tracking tests need no model."""

    def __init__(self):
        rows = [json.loads(line) for line in (SEEDS / "labels.jsonl").read_text().splitlines()]
        self.gold = {r["text"]: r["label"] for r in rows}

    def predict_proba(self, texts, batch_size=64, contexts=None):
        probs = np.full((len(texts), len(LABELS)), 0.02)
        for i, text in enumerate(texts):
            probs[i, LABELS.index(self.gold.get(text, "neutral"))] = 0.94
        return probs


def sentence(period="2022-03", actor="ukraine", label="conceding", article="a", confidence=0.9,
             detail=None):
    return TrackedSentence(article, None if period == UNDATED else "2022-03-15", period, 0,
                           f"{actor} {label}", label, confidence, actor, actor.title(), "test",
                           actor_detail=detail)


@pytest.mark.parametrize("by, expected", [
    ("day", "2022-03-16"), ("week", "2022-W11"), ("month", "2022-03"), ("quarter", "2022-Q1"),
    ("year", "2022"),
])
def test_periods_are_iso(by, expected):
    assert period_of("2022-03-16", by) == expected


def test_iso_weeks_cross_year_boundaries_and_missing_dates_are_undated():
    assert period_of("2021-01-03", "week") == "2020-W53"
    assert period_of("2024-12-30", "week") == "2025-W01"
    assert period_of("2024-12-03", "quarter") == "2024-Q4"
    assert period_of(None, "month") == UNDATED
    with pytest.raises(ValueError, match="unknown period"):
        period_of("2022-03-16", "fortnight")


def test_date_resolution_rules(tmp_path):
    (tmp_path / "feed.jsonl").write_text(
        '{"id": "j", "text": "NATO met.", "published": "2023-07-11T09:00:00Z"}\n'
        '{"id": "k", "text": "NATO met."}\n')
    (tmp_path / "2022-03-16-kyiv.txt").write_text("Kyiv spoke.\n")
    (tmp_path / "plain.txt").write_text("Nobody spoke.\n")
    (tmp_path / "listed.txt").write_text("Moscow spoke.\n")
    (tmp_path / "2020-01-01-override.txt").write_text("Moscow spoke.\n")
    (tmp_path / "metadata.jsonl").write_text(
        '{"file": "listed.txt", "published": "2024-12-03"}\n'
        '{"file": "2020-01-01-override.txt", "published": "2021-05-05"}\n')
    dates = {a.id: a.published for a in read_inputs([str(tmp_path)])}
    assert dates == {"j": "2023-07-11", "k": None, "2022-03-16-kyiv": "2022-03-16", "plain": None,
                     "listed": "2024-12-03", "2020-01-01-override": "2021-05-05"}
    assert period_of(dates["plain"], "year") == UNDATED


def test_table_columns_shares_and_net_stance_index():
    rows = aggregate([sentence(label="conceding"), sentence(label="conceding", article="b"),
                      sentence(label="pro-membership"), sentence(label="neutral")])
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[:4] == ["period", "actor", "articles", "sentences"]
    assert {"pro_membership", "conceding", "opposing", "neutral", "share_pro_membership",
            "share_conceding", "share_opposing", "share_neutral", "net_stance"} <= set(row)
    assert (row["period"], row["actor"], row["articles"], row["sentences"]) == ("2022-03", "all", 2, 4)
    assert row["conceding"] == 2 and row["share_conceding"] == 0.5
    assert row["net_stance"] == pytest.approx((1 - 2) / 3, abs=1e-4)
    assert row["dominant_stance"] == "conceding" and row["dominant_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["dominant_confidence"] == pytest.approx(0.9)


def test_net_stance_ranges_from_minus_one_to_one_and_ignores_neutral():
    assert net_stance({"pro-membership": 3, "neutral": 10}) == 1.0
    assert net_stance({"conceding": 1, "opposing": 1}) == -1.0
    assert net_stance({"neutral": 5}) is None


def test_rows_split_by_actor_and_undated_goes_last():
    rows = aggregate([sentence(UNDATED, "russia", "opposing"), sentence("2024-12", "ukraine"),
                      sentence("2022-03", "nato", "neutral"), sentence("2022-03", "ukraine")],
                     by_actor=True)
    assert [(r["period"], r["actor"]) for r in rows] == [
        ("2022-03", "ukraine"), ("2022-03", "nato"), ("2024-12", "ukraine"), (UNDATED, "russia")]
    assert rows[1]["dominant_stance"] == "neutral" and rows[1]["net_stance"] is None


def test_seed_shift_ukraine_concedes_in_march_2022_and_wants_membership_in_december_2024():
    tracking = track(GoldClassifier(), read_inputs([str(ARTICLES)]), by="month")
    rows = {(r["period"], r["actor"]): r for r in tracking.table(by_actor=True)}
    assert rows[("2022-03", "ukraine")]["dominant_stance"] == "conceding"
    assert rows[("2024-12", "ukraine")]["dominant_stance"] == "pro-membership"
    assert rows[("2022-03", "ukraine")]["net_stance"] < 0 < rows[("2024-12", "ukraine")]["net_stance"]
    assert rows[("2022-03", "russia")]["dominant_stance"] == "opposing"
    assert not tracking.undated
    assert sum(a["sentences"] for a in tracking.articles) == len(tracking.sentences)


def test_undated_articles_are_kept_in_an_undated_bucket():
    records = [{"id": "dated", "text": "Putin said Ukraine must never join NATO.", "published": "2022-02-01"},
               {"id": "loose", "text": "Zelensky said Ukraine will never give up its NATO bid."}]
    rows = track_records(GoldClassifier(), records, by="quarter")
    assert [r["period"] for r in rows] == ["2022-Q1", UNDATED]
    assert all(r["actor"] == "all" for r in rows)
    split = track_records(GoldClassifier(), records, by="quarter", by_actor=True)
    assert [(r["period"], r["actor"]) for r in split] == [("2022-Q1", "russia"), (UNDATED, "ukraine")]


def test_track_records_rejects_bad_input_with_a_reason():
    with pytest.raises(ArticleError, match=r"articles\[1\].*'text'"):
        track_records(GoldClassifier(), [{"text": "ok"}, {"id": "x"}], by="month")
    with pytest.raises(ValueError, match="unknown period"):
        track_records(GoldClassifier(), [{"text": "ok"}], by="decade")


def test_plot_and_html_are_written_and_self_contained(tmp_path):
    tracking = track(GoldClassifier(), read_inputs([str(ARTICLES)]), by="month")
    png = write_png(tracking, tmp_path / "out" / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    page = write_html(tracking, tmp_path / "t.html").read_text(encoding="utf-8")
    # Evidence is reachable: the evidence table per period and actor, which a click on a point opens.
    assert "we understand this" in page and 'id="ev-2022-03-ukraine"' in page
    # Opens without a network: scripts are inline (tests/test_report.py opens it in a browser).
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", page, flags=re.S)
    assert not re.search(r"<link|<img|\ssrc=|url\(", markup)


def test_network_exports_weighted_graphml_and_edge_list(tmp_path):
    sentences = [sentence("2022-03", "ukraine", "conceding"), sentence("2022-03", "ukraine", "conceding"),
                 sentence("2024-12", "ukraine", "pro-membership"), sentence("2024-12", "russia", "opposing"),
                 sentence("2024-12", "nato", "neutral")]
    graph = stance_graph(sentences, per_period=True)
    path = write_graphml(graph, tmp_path / "g.graphml")
    loaded = nx.read_graphml(path)
    assert loaded.edges["ukraine", "conceding"]["weight"] == 2
    assert loaded.edges["ukraine", "conceding"]["w_2022-03"] == 2
    assert loaded.edges["ukraine", "conceding"]["w_2024-12"] == 0
    assert loaded.nodes["ukraine"]["kind"] == "actor" and loaded.nodes["opposing"]["kind"] == "stance"
    assert "neutral" not in loaded  # left out unless asked for
    assert stance_graph(sentences, include_neutral=True).has_edge("nato", "neutral")
    window = stance_graph(sentences, period="2024-12")
    assert set(window.edges) == {("ukraine", "pro-membership"), ("russia", "opposing")}
    rows = edge_rows(sentences, per_period=True)
    with write_edges_csv(rows, tmp_path / "e.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert table[0] == {"source": "ukraine", "target": "conceding", "weight": "2", "period": "2022-03"}
    assert len(table) == 3


@pytest.mark.integration
def test_track_cli_end_to_end(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "2022-03-16-kyiv.txt").write_text("Zelensky said Ukraine will not join NATO.\n")
    (tmp_path / "in" / "nodate.txt").write_text("Peskov said Kyiv must never join the alliance.\n")
    out = tmp_path / "t.csv"
    code = main(["track", str(tmp_path / "in"), "--by", "week", "--by-actor", "--model",
                 str(tiny_model_dir), "-o", str(out), "--plot", str(tmp_path / "t.png"),
                 "--html", str(tmp_path / "t.html"), "--events", str(ROOT / "examples" / "events.csv")])
    assert code == 0
    assert "undated: 1 article(s)" in capsys.readouterr().err
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["period"], r["actor"]) for r in rows] == [("2022-W11", "ukraine"), (UNDATED, "russia")]
    assert (tmp_path / "t.png").stat().st_size > 0 and (tmp_path / "t.html").stat().st_size > 0
    code = main(["network", str(tmp_path / "in"), "--model", str(tiny_model_dir), "--include-neutral",
                 "--graphml", str(tmp_path / "g.graphml"), "--edges", str(tmp_path / "e.csv")])
    assert code == 0
    graph = nx.read_graphml(tmp_path / "g.graphml")
    assert {"ukraine", "russia"} <= set(graph.nodes)
    assert sum(d["weight"] for _, _, d in graph.edges(data=True)) == 2


def test_a_bad_events_file_stops_track_before_scoring(tmp_path, capsys):
    (tmp_path / "events.csv").write_text("date,label\n2022-13-01,nonsense\n")
    code = main(["track", str(ARTICLES), "--model", str(tmp_path / "no-model"), "--plot",
                 str(tmp_path / "t.png"), "--events", str(tmp_path / "events.csv")])
    assert code == 2
    assert "events.csv:2: date '2022-13-01' is not YYYY-MM-DD" in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()


@pytest.mark.integration
@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").exists(),
                    reason="the default model is not trained (make model)")
def test_default_model_shows_the_seed_shift():
    from stance.model import StanceClassifier

    tracking = track(StanceClassifier.load(device="cpu"), read_inputs([str(ARTICLES)]), by="month")
    rows = {(r["period"], r["actor"]): r for r in tracking.table(by_actor=True)}
    assert rows[("2022-03", "ukraine")]["dominant_stance"] == "conceding"
    assert rows[("2024-12", "ukraine")]["dominant_stance"] == "pro-membership"


def test_sentence_rows_name_the_index_as_score_does():
    row = sentence().to_row()
    assert row["sentence_index"] == 0 and "index" not in row
    assert list(row)[:4] == ["article_id", "published", "period", "sentence_index"]


def test_tracked_rows_carry_the_offsets_and_probabilities_of_score_rows():
    tracking = track(GoldClassifier(), read_inputs([str(ARTICLES)]), by="month")
    scored = {(r.id, s.index): s.to_row()
              for r in score_articles(GoldClassifier(), read_inputs([str(ARTICLES)])) for s in r.sentences}
    for s in tracking.sentences[:50]:
        row = s.to_row()
        assert tuple(row) == TRACK_COLUMNS
        same = scored[(row["article_id"], row["sentence_index"])]
        assert {k: row[k] for k in SCORE_COLUMNS} == same
        assert row["actor_surface"] == s.surface and row["actor_rule"] == s.rule


def test_rows_per_country_keep_the_coarse_actor_and_name_the_state():
    us = sentence("2023-07", "nato", "conceding", detail="US")
    hu = sentence("2023-07", "nato", "opposing", detail="HU")
    analyst = sentence("2023-07", "other", "conceding")  # an unnamed analyst: no state known
    rows = aggregate([us, hu, sentence("2023-07", "nato", "opposing", detail="HU"), analyst],
                     by_actor="detail")
    assert [(r["actor"], r["actor_detail"], r["sentences"]) for r in rows] == [
        ("nato", "HU", 2), ("nato", "US", 1), ("other", None, 1)]
    assert rows[0]["dominant_stance"] == "opposing" and rows[1]["dominant_stance"] == "conceding"
    assert "actor_detail" not in aggregate([us], by_actor=True)[0]
    with pytest.raises(ValueError, match="by_actor"):
        aggregate([us], by_actor="country")


def test_tracking_names_the_state_behind_each_holder():
    records = [{"id": "a", "published": "2023-07-11", "text":
                "Hungarian Foreign Minister Peter Szijjarto said Budapest would never back an invitation. "
                "Zelensky said Ukraine would keep asking to join NATO."}]
    tracking = track(GoldClassifier(), [article_from_record(r, "r") for r in records], by="month")
    holders = {(s.actor, s.actor_detail) for s in tracking.sentences}
    assert holders == {("nato", "HU"), ("ukraine", "UA")}
    assert all("actor_detail" in s.to_row() for s in tracking.sentences)


def test_network_groups_by_country_on_request():
    us = sentence("2024-07", "nato", "pro-membership", detail="US")
    rows = edge_rows([us, sentence("2024-07", "nato", "opposing", detail="HU")], detail=True)
    assert {(r["source"], r["target"]) for r in rows} == {("US", "pro-membership"), ("HU", "opposing")}
    assert {r["source"] for r in edge_rows([us])} == {"nato"}
