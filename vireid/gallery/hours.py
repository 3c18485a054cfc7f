"""An hour-of-day window (`22:00-06:00`) as the capture-time intervals it means between two instants.

Night is when infrared crops exist, and a night crosses midnight: `22:00-06:00` is every span from 22:00 of one
day to 06:00 of the next, in the operator's time zone. The window is turned into absolute intervals of epoch
seconds, one per day between `since` and `until`, computed with the zone's rules (`zoneinfo`), so a night that
crosses a daylight-saving change is as long as the clock says. The intervals go into `CropFilter.windows`, which
each store pushes into its own filter (SQL for FAISS, a boolean expression for Milvus), never into a
post-filter over results.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from vireid.errors import VireidError

MAX_DAYS = 1000
"""Days an hour window may span: each day is one interval in the store's filter, and a Milvus expression of
thousands of ranges is slow to parse. Narrow since/until beyond that."""
_SPELLING = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class HourWindow:
    start: int
    """Seconds after local midnight where the window opens (included)."""
    end: int
    """Seconds after local midnight where it closes (excluded); below `start` when it crosses midnight."""

    @classmethod
    def parse(cls, text: str) -> HourWindow:
        found = _SPELLING.match(text)
        if found is None:
            raise VireidError(f"hours must read HH:MM-HH:MM (e.g. 22:00-06:00), got {text!r}")
        h1, m1, h2, m2 = (int(part) for part in found.groups())
        if not (h1 <= 24 and h2 <= 24 and m1 < 60 and m2 < 60) or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise VireidError(f"hours {text!r}: a time of day runs from 00:00 to 24:00")
        window = cls(h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60)
        if window.start % 86400 == window.end % 86400:
            raise VireidError(f"hours {text!r} opens and closes at the same time; leave it out to allow every hour")
        return window

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def text(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def contains(self, seconds_of_day: int) -> bool:
        if self.crosses_midnight:
            return seconds_of_day >= self.start or seconds_of_day < self.end
        return self.start <= seconds_of_day < self.end

    def intervals(self, zone: ZoneInfo, since: int, until: int) -> tuple[tuple[int, int], ...]:
        """Half-open [start, end) epoch-second intervals of the window that meet [since, until] (both included),
        merged where they touch, in time order."""
        if since > until:
            return ()
        first = dt.datetime.fromtimestamp(since, zone).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(until, zone).date()
        days = (last - first).days + 1
        if days > MAX_DAYS + 1:
            raise VireidError(f"an hour window over {days - 1} days is more than {MAX_DAYS}; narrow since and until")
        found: list[tuple[int, int]] = []
        for offset in range(days):
            day = first + dt.timedelta(days=offset)
            opens = _instant(day, self.start, zone)
            closes = _instant(day + dt.timedelta(days=1 if self.crosses_midnight else 0), self.end, zone)
            low, high = max(opens, since), min(closes, until + 1)
            if low < high:
                if found and found[-1][1] >= low:
                    found[-1] = (found[-1][0], max(found[-1][1], high))
                else:
                    found.append((low, high))
        return tuple(found)


def _instant(day: dt.date, seconds: int, zone: ZoneInfo) -> int:
    """Epoch seconds of `seconds` after midnight of `day` in `zone` (24:00 is the next midnight)."""
    # An aware datetime plus a timedelta is wall-clock arithmetic: 22:00 stays 22:00 on the clock even on a day
    # that is 23 or 25 hours long, and `timestamp` applies the offset in force at that wall time.
    return int((dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(seconds=seconds)).timestamp())


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
