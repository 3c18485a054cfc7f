"""Hour-of-day windows: parsing, crossing midnight, and the intervals they mean across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from vireid.errors import VireidError
from vireid.gallery.hours import HourWindow


def test_a_window_across_midnight_holds_exactly_the_night_hours_every_day() -> None:
    zone = ZoneInfo("UTC")
    window = HourWindow.parse("22:00-06:00")
    since = int(dt.datetime(2026, 1, 1, 12, tzinfo=zone).timestamp())
    until = int(dt.datetime(2026, 1, 8, 12, tzinfo=zone).timestamp())
    intervals = window.intervals(zone, since, until)
    for t in range(since, until + 1, 600):
        inside = any(a <= t < b for a, b in intervals)
        hour = dt.datetime.fromtimestamp(t, zone)
        assert inside == window.contains(hour.hour * 3600 + hour.minute * 60 + hour.second), hour
    assert len(intervals) == 7


def test_a_night_across_a_daylight_saving_change_is_as_long_as_the_clock_says() -> None:
    zone = ZoneInfo("Europe/Berlin")
    window = HourWindow.parse("22:00-06:00")
    since = int(dt.datetime(2026, 3, 28, 12, tzinfo=zone).timestamp())
    until = int(dt.datetime(2026, 3, 29, 12, tzinfo=zone).timestamp())
    ((start, end),) = window.intervals(zone, since, until)
    assert dt.datetime.fromtimestamp(start, zone).hour == 22 and dt.datetime.fromtimestamp(end, zone).hour == 6
    assert end - start == 7 * 3600  # the clocks went forward that night


def test_the_bounds_clip_the_first_and_last_nights() -> None:
    zone = ZoneInfo("UTC")
    since = int(dt.datetime(2026, 1, 1, 23, tzinfo=zone).timestamp())
    until = int(dt.datetime(2026, 1, 2, 3, tzinfo=zone).timestamp())
    assert HourWindow.parse("22:00-06:00").intervals(zone, since, until) == ((since, until + 1),)
    assert HourWindow.parse("08:00-17:00").intervals(zone, since, until) == ()


@pytest.mark.parametrize("text", ["22-06", "25:00-01:00", "10:00-10:00", "12:60-13:00", ""])
def test_malformed_windows_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(VireidError, match="hours"):
        HourWindow.parse(text)


def test_a_window_over_too_many_days_is_refused() -> None:
    zone = ZoneInfo("UTC")
    with pytest.raises(VireidError, match="narrow since and until"):
        HourWindow.parse("22:00-06:00").intervals(zone, 0, 3000 * 86400)
