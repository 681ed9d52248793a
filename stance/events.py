"""Dated events drawn as markers on the stance timeline: a CSV with the columns ``date,label``."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Event:
    date: str  # YYYY-MM-DD
    label: str


class EventsError(ValueError):
    """An events file that cannot be read; the message names the file and line."""


def read_events(path: str | Path) -> list[Event]:
    """Events sorted by date. Every bad line is an error: a marker that silently went missing
    would misplace the reader's story."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventsError(f"{path}: cannot read events: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"date", "label"} <= {f.strip() for f in reader.fieldnames}:
        raise EventsError(f"{path}: the first line must be the header 'date,label', got "
                          f"{','.join(reader.fieldnames or []) or 'nothing'}")
    events = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        date, label = row.get("date", ""), row.get("label", "")
        if not date and not label:
            continue
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise EventsError(f"{path}:{line}: date {date!r} is not YYYY-MM-DD") from None
        if not label:
            raise EventsError(f"{path}:{line}: the event on {date} has no label")
        events.append(Event(day.isoformat(), label))
    return sorted(events, key=lambda e: e.date)
