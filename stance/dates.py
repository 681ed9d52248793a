"""Publication dates as news feeds write them, normalised to ``YYYY-MM-DD``.

Accepted: ISO 8601 (``2023-07-11``, ``2023-07-11T10:00:00Z``), RFC 2822 as in RSS
(``Tue, 11 Jul 2023 10:00:00 GMT``), epoch seconds or milliseconds (numbers or digit strings), and
the numeric and written forms python-dateutil reads (``11/07/2023``, ``July 11, 2023``). A
numeric date whose day and month could be swapped is read day first (``11/07/2023`` is 11 July),
the order of most news outside the US. A date without a day (``March 2022``) is rejected rather
than pinned to the first of the month. The date is the one written, in its own time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser

# Epoch values in these ranges are unambiguous: 1973-03-03 .. 2286-11-20 in seconds, the same
# span in milliseconds.
_EPOCH_SECONDS = (1e8, 1e10)
_EPOCH_MILLISECONDS = (1e11, 1e13)
_DIGITS = re.compile(r"^\d{9,13}(\.\d+)?$")
# Two defaults that differ in every field: a component dateutil filled from the default differs
# between the two parses, so a date missing its day, month or year is caught.
_DEFAULTS = (dt.datetime(2001, 1, 1), dt.datetime(2002, 2, 2))


def _from_epoch(value: float) -> str | None:
    if _EPOCH_MILLISECONDS[0] <= value < _EPOCH_MILLISECONDS[1]:
        value /= 1000
    if _EPOCH_SECONDS[0] <= value < _EPOCH_SECONDS[1]:
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc).date().isoformat()
    return None


def parse_date(value: object) -> str | None:
    """``YYYY-MM-DD`` for a publication date in any accepted form; ``None`` when absent or unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DIGITS.match(text):
        return _from_epoch(float(text))
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    try:
        first, second = (dateutil_parser.parse(text, default=d, dayfirst=True) for d in _DEFAULTS)
    except (ValueError, OverflowError):
        return None
    if first.date() != second.date():
        return None
    return first.date().isoformat()
