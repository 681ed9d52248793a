"""The numbers behind the stance-over-time charts: one point per period, panel and stance.

A point carries what a reader needs to judge it: the share of the panel's counted sentences in the
period with that stance, its 95% Wilson interval, how many sentences and articles it rests on, how
many sentences were left out as uncertain, and the most confident sentences behind it.

Panels come from a sentence attribute named by ``facet`` (``actor`` today; a finer field such as
a country code works the same way), plus one panel for all sentences. Periods run over the whole
calendar between the first and the last dated sentence, so a period without sentences is a gap in
a line, not a period that vanishes; undated sentences cannot sit on a time axis and are only
counted.

The Wilson interval treats sentences as independent draws. Sentences of one article tend to agree,
so the interval is narrower than one over articles would be; the article count of every point is
there to read it against.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from stance.labels import ACTORS, STANCES
from stance.tracking import (
    ALL,
    PERIODS,
    UNDATED,
    TrackedSentence,
    Tracking,
    next_period_start,
    period_bounds,
    period_of,
)

Z95 = 1.959963984540054
# Points resting on fewer counted sentences than this are drawn faded.
LOW_COUNT = 10
# Evidence sentences per point and their length in the tooltip: enough to judge a point, small
# enough that an archive of thousands of articles stays a page of a few megabytes.
EVIDENCE_PER_POINT = 1
EVIDENCE_CHARS = 160
# At most this many periods on the time axis (~3 px each on a 900 px panel): beyond it a line is
# noise and the page grows with every day, so the chart steps up to the finest coarser unit that
# fits (the table keeps the unit asked for).
MAX_PERIODS = 320


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; ``(0, 1)`` when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def net_interval(pro: int, stance_total: int) -> tuple[float, float] | None:
    """The 95% interval of the net stance index.

    net = (pro − conceding − opposing) / stance_total = 2 · pro/stance_total − 1, so its interval
    is the Wilson interval of the pro-membership share among stance-bearing sentences, mapped.
    """
    if not stance_total:
        return None
    lo, hi = wilson(pro, stance_total)
    return 2 * lo - 1, 2 * hi - 1


@dataclass
class Series:
    """Everything a chart draws, as plain rows (JSON-ready)."""

    by: str         # the unit on the time axis
    facet: str
    requested: str  # the unit asked for: ``by`` is coarser when that one has too many periods
    panels: list[dict] = field(default_factory=list)   # key, title, sentences, in drawing order
    points: list[dict] = field(default_factory=list)   # one per period × panel × stance
    periods: list[dict] = field(default_factory=list)  # one per period with sentences: the volume strip
    undated_sentences: int = 0
    uncertain_sentences: int = 0
    start: str | None = None  # first day of the first period
    end: str | None = None    # first day after the last period


def _value(sentence: TrackedSentence, facet: str) -> str:
    if not hasattr(sentence, facet):
        raise ValueError(f"sentences have no {facet!r} to draw panels by")
    value = getattr(sentence, facet)
    if value is None and facet == "actor_detail":
        return sentence.actor  # no state known (an analyst, no holder): the coarse actor's panel
    return str(value or "none")


def _panel_order(counts: Counter, facet: str) -> list[str]:
    if facet == "actor":
        known = [a for a in ACTORS if a in counts]
        return known + sorted(set(counts) - set(known))
    return sorted(counts, key=lambda key: (-counts[key], key))


def _title(key: str, facet: str, surfaces: Counter, sentences: int) -> str:
    if key == ALL:
        return f"all sentences (n={sentences:,})"
    names = ", ".join(name for name, _ in surfaces.most_common(3))
    return f"{key}: {names} (n={sentences:,})" if names else f"{key} (n={sentences:,})"


def _calendar(first: dt.date, last: dt.date, by: str) -> list[dt.date]:
    starts, day = [], first
    while day <= last:
        starts.append(day)
        day = next_period_start(day, by)
    return starts


def _previous_period_start(first: dt.date, unit: str) -> dt.date:
    if unit in ("day", "week"):
        return first - dt.timedelta(days=1 if unit == "day" else 7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    month = first.year * 12 + first.month - 1 - months
    return dt.date(month // 12, month % 12 + 1, 1)


def _evidence(members: list[TrackedSentence], label: str) -> list[str]:
    ranked = sorted((s for s in members if s.label == label), key=lambda s: -s.confidence)
    out = []
    for s in ranked[:EVIDENCE_PER_POINT]:
        text = s.text if len(s.text) <= EVIDENCE_CHARS else s.text[:EVIDENCE_CHARS - 1] + "…"
        out.append(f"{text} ({s.article_id}, {s.confidence:.2f})")
    return out


def chart_unit(days: list[str], requested: str, max_periods: int = MAX_PERIODS) -> str:
    """``requested``, or the finest coarser unit whose calendar from the first to the last of
    ``days`` has at most ``max_periods`` periods."""
    if not days:
        return requested
    first, last = dt.date.fromisoformat(min(days)[:10]), dt.date.fromisoformat(max(days)[:10])
    for unit in PERIODS[PERIODS.index(requested):]:
        start = period_bounds(period_of(first.isoformat(), unit))[1]
        end = period_bounds(period_of(last.isoformat(), unit))[1]
        if len(_calendar(start, end, unit)) <= max_periods or unit == "year":
            return unit
    return "year"


def regroup(sentences: list[TrackedSentence], unit: str) -> list[TrackedSentence]:
    """The sentences with their period in ``unit`` (undated ones stay undated)."""
    return [s if s.period == UNDATED else replace(s, period=period_of(s.published, unit))
            for s in sentences]


def series(tracking: Tracking, facet: str = "actor", low_count: int = LOW_COUNT,
           max_periods: int = MAX_PERIODS) -> Series:
    """Points for every period between the first and last dated sentence, per panel and stance."""
    dated = [s for s in tracking.sentences if s.period != UNDATED]
    unit = chart_unit([s.published for s in dated], tracking.by, max_periods)
    result = Series(unit, facet, tracking.by)
    if unit != tracking.by:
        dated = regroup(dated, unit)
        tracking = Tracking(unit, regroup(tracking.sentences, unit), regroup(tracking.uncertain, unit))
    result.undated_sentences = len(tracking.sentences) - len(dated)
    result.uncertain_sentences = len(tracking.uncertain)
    if not dated:
        return result
    groups: dict[tuple[str, str], list[TrackedSentence]] = defaultdict(list)
    uncertain: Counter = Counter()
    counts: Counter = Counter()
    surfaces: dict[str, Counter] = defaultdict(Counter)
    for s in dated:
        key = _value(s, facet)
        groups[(s.period, key)].append(s)
        groups[(s.period, ALL)].append(s)
        counts[key] += 1
        if s.surface:
            surfaces[key][s.surface] += 1
    for s in tracking.uncertain:
        if s.period != UNDATED:
            uncertain[(s.period, _value(s, facet))] += 1
            uncertain[(s.period, ALL)] += 1
    keys = [ALL, *_panel_order(counts, facet)]
    result.panels = [{"key": k, "title": _title(k, facet, surfaces[k], len(dated) if k == ALL else counts[k]),
                      "sentences": len(dated) if k == ALL else counts[k]} for k in keys]
    bounds = {p: period_bounds(p) for p in {s.period for s in dated}}
    first, last = min(b[1] for b in bounds.values()), max(b[1] for b in bounds.values())
    calendar = _calendar(first, last, tracking.by)
    # One period of margin each side, so the first and last points are not cut by the axis.
    result.start = _previous_period_start(first, tracking.by).isoformat()
    result.end = next_period_start(next_period_start(last, tracking.by), tracking.by).isoformat()
    period_names = {b[1]: p for p, b in bounds.items()}
    for key in keys:
        run, open_run, run_points = 0, False, []
        for start in calendar:
            period = period_names.get(start)
            members = groups.get((period, key), []) if period else []
            if not members:
                if open_run:
                    run += 1
                open_run = False
                continue
            open_run = True
            end = next_period_start(start, tracking.by)
            n = len(members)
            articles = len({s.article_id for s in members})
            label_counts = Counter(s.label for s in members)
            stance_total = sum(label_counts[label] for label in STANCES)
            net = net_interval(label_counts["pro-membership"], stance_total)
            for label in STANCES:
                lo, hi = wilson(label_counts[label], n)
                point = {
                    "key": key, "period": period, "mid": (start + (end - start) / 2).isoformat(),
                    "stance": label, "count": label_counts[label], "n": n, "articles": articles,
                    "share": round(label_counts[label] / n, 3), "lo": round(lo, 3), "hi": round(hi, 3),
                    "low": n < low_count, "uncertain": uncertain[(period, key)], "run": run,
                }
                evidence = _evidence(members, label)
                if evidence:
                    point["evidence"] = evidence[0]
                if label == STANCES[0] and net is not None:
                    point.update(net=round(2 * label_counts[label] / stance_total - 1, 3),
                                 net_lo=round(net[0], 3), net_hi=round(net[1], 3))
                run_points.append(point)
                result.points.append(point)
        # A run of one period has no width for a band: it gets an error bar instead.
        sizes = Counter((p["stance"], p["run"]) for p in run_points)
        for p in run_points:
            p["single"] = sizes[(p["stance"], p["run"])] == 1
    for start, period in sorted(period_names.items()):
        members = groups[(period, ALL)]
        result.periods.append({"period": period, "start": start.isoformat(),
                               "end": next_period_start(start, tracking.by).isoformat(),
                               "n": len(members), "articles": len({s.article_id for s in members}),
                               "uncertain": uncertain[(period, ALL)]})
    return result
