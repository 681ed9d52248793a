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

from stance.labels import ACTORS, POLAR, STANCES
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


def _title(key: str, facet: str, surfaces: list[str], sentences: int) -> str:
    if key == ALL:
        return f"all sentences (n={sentences:,})"
    names = ", ".join(surfaces)
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


def evidence_text(text: str, article_id: str, confidence: float) -> str:
    """How a point's tooltip quotes a sentence: at most ``EVIDENCE_CHARS`` characters, its article
    and confidence."""
    text = text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"
    return f"{text} ({article_id}, {confidence:.2f})"


def _evidence(members: list[TrackedSentence], label: str) -> list[str]:
    ranked = sorted((s for s in members if s.label == label), key=lambda s: -s.confidence)
    return [evidence_text(s.text, s.article_id, s.confidence) for s in ranked[:EVIDENCE_PER_POINT]]


@dataclass
class Cell:
    """The counted sentences of one period and panel, as far as a chart needs them."""

    n: int
    articles: int
    labels: dict[str, int]
    evidence: dict[str, list[str]]  # stance → its most confident sentences (``evidence_text``);
    # a stance without sentences has no entry


@dataclass
class Counts:
    """What :func:`build_series` draws from, gathered from sentences (:func:`series`) or in SQL
    (stance.store_report): cells per (period, panel) with ``all`` among the panels, periods in
    ``by``."""

    by: str
    requested: str
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # dated periods only
    panel_sentences: dict[str, int] = field(default_factory=dict)     # dated, per panel but ``all``
    surfaces: dict[str, list[str]] = field(default_factory=dict)      # a panel's commonest names
    uncertain: dict[tuple[str, str], int] = field(default_factory=dict)  # dated, per period and panel
    dated: int = 0
    undated_sentences: int = 0
    uncertain_sentences: int = 0


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
    return build_series(counts_of(tracking, facet, max_periods), facet, low_count)


def counts_of(tracking: Tracking, facet: str = "actor", max_periods: int = MAX_PERIODS) -> Counts:
    """The :class:`Counts` of a tracking run's sentences, in the chart's unit."""
    dated = [s for s in tracking.sentences if s.period != UNDATED]
    unit = chart_unit([s.published for s in dated], tracking.by, max_periods)
    result = Counts(unit, tracking.by)
    uncertain_sentences = tracking.uncertain
    if unit != tracking.by:
        dated, uncertain_sentences = regroup(dated, unit), regroup(tracking.uncertain, unit)
    result.dated = len(dated)
    result.undated_sentences = len(tracking.sentences) - len(dated)
    result.uncertain_sentences = len(tracking.uncertain)
    if not dated:
        return result
    groups: dict[tuple[str, str], list[TrackedSentence]] = defaultdict(list)
    counts: Counter = Counter()
    surfaces: dict[str, Counter] = defaultdict(Counter)
    for s in dated:
        key = _value(s, facet)
        groups[(s.period, key)].append(s)
        groups[(s.period, ALL)].append(s)
        counts[key] += 1
        if s.surface:
            surfaces[key][s.surface] += 1
    uncertain: Counter = Counter()
    for s in uncertain_sentences:
        if s.period != UNDATED:
            uncertain[(s.period, _value(s, facet))] += 1
            uncertain[(s.period, ALL)] += 1
    for group, members in groups.items():
        labels = Counter(s.label for s in members)
        evidence = {label: found for label in STANCES if (found := _evidence(members, label))}
        result.cells[group] = Cell(len(members), len({s.article_id for s in members}), dict(labels),
                                   evidence)
    result.panel_sentences = dict(counts)
    result.surfaces = {key: [name for name, _ in names.most_common(3)] for key, names in surfaces.items()}
    result.uncertain = dict(uncertain)
    return result


def build_series(counts: Counts, facet: str = "actor", low_count: int = LOW_COUNT) -> Series:
    """The points, panels and volume strip of a chart from its :class:`Counts`."""
    result = Series(counts.by, facet, counts.requested)
    result.undated_sentences = counts.undated_sentences
    result.uncertain_sentences = counts.uncertain_sentences
    if not counts.cells:
        return result
    by, dated = counts.by, counts.dated
    keys = [ALL, *_panel_order(Counter(counts.panel_sentences), facet)]
    result.panels = [{"key": k, "title": _title(k, facet, counts.surfaces.get(k, []),
                                                dated if k == ALL else counts.panel_sentences[k]),
                      "sentences": dated if k == ALL else counts.panel_sentences[k]} for k in keys]
    bounds = {p: period_bounds(p) for p, _ in counts.cells}
    first, last = min(b[1] for b in bounds.values()), max(b[1] for b in bounds.values())
    calendar = _calendar(first, last, by)
    # One period of margin each side, so the first and last points are not cut by the axis.
    result.start = _previous_period_start(first, by).isoformat()
    result.end = next_period_start(next_period_start(last, by), by).isoformat()
    period_names = {b[1]: p for p, b in bounds.items()}
    for key in keys:
        run, open_run, run_points = 0, False, []
        for start in calendar:
            period = period_names.get(start)
            cell = counts.cells.get((period, key)) if period else None
            if cell is None:
                if open_run:
                    run += 1
                open_run = False
                continue
            open_run = True
            end = next_period_start(start, by)
            n, label_counts = cell.n, cell.labels
            stance_total = sum(label_counts.get(label, 0) for label in STANCES)
            pro = label_counts.get(POLAR[0], 0)
            net = net_interval(pro, stance_total)
            for label in STANCES:
                count = label_counts.get(label, 0)
                lo, hi = wilson(count, n)
                point = {
                    "key": key, "period": period, "mid": (start + (end - start) / 2).isoformat(),
                    "stance": label, "count": count, "n": n, "articles": cell.articles,
                    "share": round(count / n, 3), "lo": round(lo, 3), "hi": round(hi, 3),
                    "low": n < low_count, "uncertain": counts.uncertain.get((period, key), 0),
                    "run": run,
                }
                evidence = cell.evidence.get(label)
                if evidence:
                    point["evidence"] = evidence[0]
                if label == POLAR[0] and net is not None:
                    point.update(net=round(2 * count / stance_total - 1, 3),
                                 net_lo=round(net[0], 3), net_hi=round(net[1], 3))
                run_points.append(point)
                result.points.append(point)
        # A run of one period has no width for a band: it gets an error bar instead.
        sizes = Counter((p["stance"], p["run"]) for p in run_points)
        for p in run_points:
            p["single"] = sizes[(p["stance"], p["run"])] == 1
    for start, period in sorted(period_names.items()):
        cell = counts.cells[(period, ALL)]
        result.periods.append({"period": period, "start": start.isoformat(),
                               "end": next_period_start(start, by).isoformat(),
                               "n": cell.n, "articles": cell.articles,
                               "uncertain": counts.uncertain.get((period, ALL), 0)})
    return result
