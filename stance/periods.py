"""Periods of a timeline (ISO day, week, month, quarter, year) and the net stance index.

Apart from stance.tracking so that reading a timeline from the store (stance.store) needs
neither the model nor the actor attributor imported.
"""

from __future__ import annotations

import datetime as dt

from stance.labels import STANCES

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


def period_sort_key(period: str) -> tuple:
    """ISO periods sort as text; ``undated`` goes last."""
    return (period == UNDATED, period)


def net_stance(counts: dict) -> float | None:
    """(pro-membership − conceding − opposing) / (pro-membership + conceding + opposing)."""
    stance_total = sum(counts.get(label, 0) for label in STANCES)
    if not stance_total:
        return None
    against = counts.get("conceding", 0) + counts.get("opposing", 0)
    return round((counts.get("pro-membership", 0) - against) / stance_total, 4)
