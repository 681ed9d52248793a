import pytest

from stance.timeline import chart_unit, net_interval, series, wilson
from stance.tracking import UNDATED, TrackedSentence, Tracking, period_of


def sentence(day, actor="ukraine", label="conceding", article="a", confidence=0.9, by="month", **extra):
    return TrackedSentence(article, day, period_of(day, by), 0, f"{actor} {label} on {day}", label,
                           confidence, actor, actor.title(), "test", **extra)


def test_wilson_interval_matches_known_values():
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    lo, hi = wilson(1, 1)
    assert hi == 1.0 and lo < 0.25  # one sentence says little
    assert wilson(0, 0) == (0.0, 1.0)


def test_net_interval_is_the_mapped_wilson_interval_and_holds_the_index():
    lo, hi = net_interval(3, 4)  # net = (3 - 1) / 4 = 0.5
    assert lo < 0.5 < hi and (lo, hi) == pytest.approx((2 * wilson(3, 4)[0] - 1, 2 * wilson(3, 4)[1] - 1))
    assert net_interval(0, 0) is None


def test_empty_months_stay_on_the_calendar_and_break_the_line():
    tracking = Tracking("month", [sentence("2022-01-10"), sentence("2022-02-10", label="opposing"),
                                  sentence("2022-05-03", article="b")])
    data = series(tracking)
    ukraine = [p for p in data.points if p["key"] == "ukraine" and p["stance"] == "conceding"]
    assert [p["period"] for p in ukraine] == ["2022-01", "2022-02", "2022-05"]
    # March and April have no sentences: May starts a new line segment, alone (an error bar).
    assert ukraine[0]["run"] == ukraine[1]["run"] != ukraine[2]["run"]
    assert [p["single"] for p in ukraine] == [False, False, True]
    assert ukraine[0]["mid"] == "2022-01-16"
    assert (data.start, data.end) == ("2021-12-01", "2022-07-01")  # a month of margin each side


def test_points_carry_shares_intervals_counts_and_evidence():
    tracking = Tracking("month", [sentence("2022-03-01", confidence=0.7, article="a"),
                                  sentence("2022-03-02", confidence=0.95, article="b"),
                                  sentence("2022-03-03", label="neutral", article="b")])
    point = next(p for p in series(tracking).points if p["key"] == "ukraine" and p["stance"] == "conceding")
    assert (point["count"], point["n"], point["articles"]) == (2, 3, 2)
    assert point["share"] == pytest.approx(2 / 3, abs=1e-3)
    assert (point["lo"], point["hi"]) == pytest.approx(wilson(2, 3), abs=1e-3)
    assert point["low"] is True  # 3 sentences: drawn faded
    assert point["evidence"].endswith("(b, 0.95)")  # the most confident sentence first


def test_uncertain_and_undated_sentences_are_left_out_and_counted():
    tracking = Tracking("month", [sentence("2022-03-01"), sentence(None, by="month")],
                        uncertain=[sentence("2022-03-01", label="opposing", uncertain=True)])
    tracking.sentences[1].period = UNDATED
    data = series(tracking)
    assert (data.uncertain_sentences, data.undated_sentences) == (1, 1)
    points = [p for p in data.points if p["key"] == "ukraine"]
    assert {p["n"] for p in points} == {1} and {p["uncertain"] for p in points} == {1}
    assert next(p for p in points if p["stance"] == "opposing")["count"] == 0


def test_panels_come_from_the_field_named_by_facet():
    tracking = Tracking("month", [sentence("2022-03-01", "russia"), sentence("2022-03-01", "ukraine"),
                                  sentence("2022-03-02", "ukraine")])
    assert [p["key"] for p in series(tracking).panels] == ["all", "ukraine", "russia"]
    # Any attribute of the sentence rows works: here the surface name, most frequent first.
    assert [p["key"] for p in series(tracking, facet="surface").panels] == ["all", "Ukraine", "Russia"]
    with pytest.raises(ValueError, match="no 'country'"):
        series(tracking, facet="country")


def test_the_chart_steps_up_to_a_coarser_unit_when_the_periods_do_not_fit():
    assert chart_unit(["2022-03-01", "2022-09-01"], "day") == "day"  # 185 days
    assert chart_unit(["2008-01-01", "2025-12-31"], "day") == "month"  # 6,575 days, 939 weeks
    assert chart_unit(["2008-01-01", "2025-12-31"], "quarter") == "quarter"
    tracking = Tracking("day", [sentence("2008-01-02", by="day"), sentence("2025-12-30", by="day")])
    data = series(tracking)
    assert (data.by, data.requested) == ("month", "day")
    assert {p["period"] for p in data.points} == {"2008-01", "2025-12"}


def test_country_panels_put_holders_without_a_state_under_their_actor():
    tracking = Tracking("month", [sentence("2023-07-11", "nato", actor_detail="HU"),
                                  sentence("2023-07-11", "nato", actor_detail="US"),
                                  sentence("2023-07-12", "other", actor_detail=None)])
    keys = [p["key"] for p in series(tracking, facet="actor_detail").panels]
    assert keys[0] == "all" and set(keys[1:]) == {"HU", "US", "other"}
