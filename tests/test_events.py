import datetime as dt

import pytest

from stance.events import EventsError, read_events
from tests.conftest import ROOT


def test_the_example_events_file_reads_sorted_with_real_dates():
    events = read_events(ROOT / "examples" / "events.csv")
    assert len(events) >= 10
    assert [e.date for e in events] == sorted(e.date for e in events)
    dates = {e.date: e.label for e in events}
    assert "Bucharest" in dates["2008-04-03"] and "invasion" in dates["2022-02-24"]
    assert "Vilnius" in dates["2023-07-11"] and "Washington" in dates["2024-07-10"]
    assert all(dt.date.fromisoformat(e.date) for e in events)


@pytest.mark.parametrize("text, message", [
    ("when,what\n2022-02-24,x\n", "header 'date,label'"),
    ("date,label\n2022-02-24,invasion\n24/02/2022,again\n", r"events.csv:3: date '24/02/2022'"),
    ("date,label\n2022-02-30,no such day\n", r"events.csv:2: date '2022-02-30'"),
    ("date,label\n2022-02-24,\n", r"events.csv:2: the event on 2022-02-24 has no label"),
])
def test_bad_events_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "events.csv"
    path.write_text(text)
    with pytest.raises(EventsError, match=message):
        read_events(path)


def test_blank_lines_and_spaces_are_ignored(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("date, label\n 2023-07-11 , Vilnius summit \n\n")
    assert [(e.date, e.label) for e in read_events(path)] == [("2023-07-11", "Vilnius summit")]
