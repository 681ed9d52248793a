import datetime as dt
import random

import pytest

from stance import charts
from stance.events import Event, read_events
from stance.labels import ACTORS, LABELS
from stance.timeline import series
from stance.tracking import PERIODS, TrackedSentence, Tracking, period_of
from tests.conftest import ROOT

EVENTS = read_events(ROOT / "examples" / "events.csv")


def archive(by: str, articles: int = 150, first=dt.date(2008, 1, 1), years: int = 18) -> Tracking:
    """Articles spread over ``years`` years, ten sentences each, every actor and label."""
    rng = random.Random(7)
    tracking = Tracking(by)
    for a in range(articles):
        day = (first + dt.timedelta(days=rng.randrange(365 * years))).isoformat()
        for i in range(10):
            actor, label = rng.choice(ACTORS), rng.choice(LABELS)
            tracking.sentences.append(TrackedSentence(f"a{a}", day, period_of(day, by), i,
                                                      f"{actor} says {label} things.", label,
                                                      rng.uniform(0.5, 1), actor, actor.title(), "test"))
    return tracking


def png_width(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big")


def text_boxes(scene: dict) -> list[tuple[str, float, float, float, float]]:
    """Every drawn text of a Vega scenegraph as (text, x1, y1, x2, y2) in chart pixels.

    Widths are estimated at 0.55 em per character (DejaVu Sans averages about that); labels Vega
    hid for overlap (opacity 0) are skipped.
    """
    boxes = []

    def walk(node, ox, oy):
        for item in node.get("items", []) or []:
            if node.get("marktype") == "text":
                text = item.get("text")
                if not text or item.get("opacity", 1) == 0:
                    continue
                lines = text if isinstance(text, list) else [text]
                size = item.get("fontSize", 11)
                w, h = 0.55 * size * max(len(str(t)) for t in lines), size * 1.1 * len(lines)
                if abs(item.get("angle", 0)) == 90:
                    w, h = h, w
                x = ox + item.get("x", 0) + item.get("dx", 0)
                y = oy + item.get("y", 0) + item.get("dy", 0)
                align = item.get("align", "left")
                x1 = x - (w / 2 if align == "center" else w if align == "right" else 0)
                base = item.get("baseline", "alphabetic")
                y1 = y - (0 if base == "top" else h / 2 if base == "middle" else h)
                if abs(item.get("angle", 0)) == 90:  # rotated about its anchor
                    x1, y1 = x - w / 2, y - h / 2
                boxes.append((" ".join(map(str, lines)), x1, y1, x1 + w, y1 + h))
            elif "items" in item or item.get("marktype"):
                walk(item, ox + item.get("x", 0), oy + item.get("y", 0))

    walk(scene["scenegraph"], *scene.get("origin", (0, 0)))
    return boxes


def overlaps(boxes):
    found = []
    for i, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
        for b, bx1, by1, bx2, by2 in boxes[i + 1:]:
            if ax1 < bx2 - 0.5 and bx1 < ax2 - 0.5 and ay1 < by2 - 0.5 and by1 < ay2 - 0.5:
                found.append((a, b))
    return found


@pytest.mark.parametrize("by", PERIODS)
def test_png_stays_narrow_at_every_period_unit(by):
    """18 years at any --by: the time axis is real, so the width does not grow with periods."""
    data = series(archive(by))
    width = png_width(charts.png(data, EVENTS))
    assert 1200 <= width <= 2400
    assert data.by == (by if by in ("month", "quarter", "year") else "month")


@pytest.mark.parametrize("by", ["month", "year"])
def test_no_text_overlaps_in_the_drawn_layout(by):
    scene = charts.scenegraph(series(archive(by)), EVENTS)
    boxes = text_boxes(scene)
    texts = {b[0] for b in boxes}
    assert "2010" in texts and "2020" in texts  # the time axis is labelled in years
    assert any(t.startswith("1 Bucharest") for t in texts)  # events are labelled
    assert any(t.startswith("ukraine") for t in texts)  # panels are titled
    assert overlaps(boxes) == []


def test_crowded_events_take_separate_lanes():
    events = [Event("2014-02-22", "Yanukovych removed"), Event("2014-03-18", "Russia annexes Crimea"),
              Event("2014-04-01", "NATO suspends cooperation with Russia")]
    lanes = charts.event_lanes(events, "2008-01-01", "2026-01-01")
    assert [r["lane"] for r in lanes] == [0, 1, 2]
    far = charts.event_lanes([events[0], Event("2022-02-24", "invasion")], "2008-01-01", "2026-01-01")
    assert [r["lane"] for r in far] == [0, 0]
    # Outside the period shown: not drawn (the subtitle counts it).
    assert charts.event_lanes([Event("2001-01-01", "x")], "2008-01-01", "2026-01-01") == []
    last = charts.event_lanes([Event("2025-12-01", "late")], "2008-01-01", "2026-01-01")
    assert last[0]["align"] == "right"  # a label that would leave the chart runs left


def test_empty_periods_are_gaps_on_a_time_axis():
    tracking = archive("month", articles=40, years=2)
    spec = charts.spec(series(tracking))
    panels = spec["vconcat"][-1]
    x = panels["spec"]["layer"][-1]["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"]["type"] == "utc"
    months = {p["period"] for p in spec["datasets"]["points"] if p["kind"] == "point"}
    runs = {p["run"] for p in spec["datasets"]["points"] if p["kind"] == "point" and p["key"] == "all"}
    assert len(months) < 24 and len(runs) > 1  # 40 articles leave months empty; lines break there


def test_nothing_to_plot_without_dated_sentences():
    with pytest.raises(charts.NothingToPlot):
        charts.spec(series(Tracking("month")))
