"""Periods of a timeline (ISO day, week, month, quarter, year) and the net stance index.

Apart from stance.tracking so that reading a timeline from the store (stance.store) needs
neither the model nor the actor attributor imported.
"""

from __future__ import annotations

import datetime as dt
import re

from stance.labels import POLAR, STANCES

PERIODS = ("day", "week", "month", "quarter", "year")
UNDATED = "undated"
ALL = "all"


def period_of(published: str | None, by: str) -> str:
    """The ISO period holding a ``YYYY-MM-DD`` date; ``undated`` for None."""
    if by not in PERIODS:
        raise ValueError(f"unknown period {by!r}; expected one of {', '.join(PERIODS)}")
    if not published:
        return UNDATED
    day = dt.date.fromisoformat(published[:10])
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    if by == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


_PERIOD_PATTERNS = (
    ("day", r"(\d{4})-(\d{2})-(\d{2})", lambda y, m, d: dt.date(y, m, d)),
    ("week", r"(\d{4})-W(\d{2})", lambda y, w: dt.date.fromisocalendar(y, w, 1)),
    ("quarter", r"(\d{4})-Q([1-4])", lambda y, q: dt.date(y, 3 * q - 2, 1)),
    ("month", r"(\d{4})-(\d{2})", lambda y, m: dt.date(y, m, 1)),
    ("year", r"(\d{4})", lambda y: dt.date(y, 1, 1)),
)


def period_bounds(period: str) -> tuple[str, dt.date, dt.date] | None:
    """``(unit, first day, first day of the next period)`` of an ISO period as :func:`period_of`
    writes it; None for ``undated`` or anything that is not one."""
    for unit, pattern, start in _PERIOD_PATTERNS:
        match = re.fullmatch(pattern, period)
        if not match:
            continue
        try:
            first = start(*map(int, match.groups()))
        except ValueError:
            return None
        return unit, first, next_period_start(first, unit)
    return None


def next_period_start(first: dt.date, unit: str) -> dt.date:
    """The first day of the period after the one starting on ``first``."""
    if unit == "day":
        return first + dt.timedelta(days=1)
    if unit == "week":
        return first + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    month = first.month - 1 + months
    return dt.date(first.year + month // 12, month % 12 + 1, 1)


def period_sort_key(period: str) -> tuple:
    """ISO periods sort as text; ``undated`` goes last."""
    return (period == UNDATED, period)


def net_stance(counts: dict) -> float | None:
    """(pro-membership − conceding − opposing) / (pro-membership + conceding + opposing): the
    positive pole (the polar pair's first) against every other stance."""
    stance_total = sum(counts.get(label, 0) for label in STANCES)
    if not stance_total:
        return None
    positive = counts.get(POLAR[0], 0)
    return round((2 * positive - stance_total) / stance_total, 4)
