"""A search or removal form's conditions as the gallery's `CropFilter`, in the service's time zone.

`since` / `until` without a zone are read in the zone the service was started with (UTC by default), as an
operator reads a clock. An hour window becomes the absolute intervals it means between since and until
(`vireid.gallery.hours`); missing bounds are taken from the span of capture times the gallery holds, so the
window is pushed into the store's own filter and never applied to results afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from vireid.errors import VireidError
from vireid.gallery.hours import HourWindow
from vireid.gallery.records import CropFilter
from vireid.serve.errors import ServiceError

NOTHING = CropFilter(windows=((0, 0),))
"""A filter no crop passes (an empty interval): an hour window that meets no day of since..until."""


def epoch(value: dt.datetime | None, zone: ZoneInfo) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return int(aware.timestamp())


@dataclass(frozen=True)
class Conditions:
    cameras: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None
    hours: HourWindow | None = None
    ids: tuple[int, ...] = ()

    def describe(self) -> dict[str, object]:
        """For the audit log and the cursor's digest: the conditions as given, not the intervals they became."""
        return {
            "cameras": list(self.cameras),
            "since": self.since,
            "until": self.until,
            "hours": self.hours.text() if self.hours else None,
            "ids": list(self.ids),
        }


def conditions(
    cameras: Sequence[str],
    since: dt.datetime | None,
    until: dt.datetime | None,
    hours: str | None,
    zone: ZoneInfo,
    ids: Sequence[int] = (),
) -> Conditions:
    try:
        window = HourWindow.parse(hours) if hours else None
    except VireidError as err:
        raise ServiceError(400, str(err)) from None
    found = Conditions(tuple(c for c in cameras if c), epoch(since, zone), epoch(until, zone), window, tuple(ids))
    if found.since is not None and found.until is not None and found.since > found.until:
        raise ServiceError(400, "since is after until; swap them")
    return found


def crop_filter(given: Conditions, zone: ZoneInfo, span: Callable[[], tuple[int, int] | None]) -> CropFilter:
    """`given` as a `CropFilter`; `span()` (the gallery's capture-time range, asked only for an open-ended hour
    window) bounds the window's days."""
    windows: tuple[tuple[int, int], ...] = ()
    if given.hours is not None:
        bounds = span() if given.since is None or given.until is None else None
        since = given.since if given.since is not None else (bounds[0] if bounds else None)
        until = given.until if given.until is not None else (bounds[1] if bounds else None)
        if since is None or until is None:
            return NOTHING  # no crop has a capture time, so none falls in any hour
        try:
            windows = given.hours.intervals(zone, since, until)
        except VireidError as err:
            raise ServiceError(400, str(err)) from None
        if not windows:
            return NOTHING
    try:
        return CropFilter(cameras=given.cameras, since=given.since, until=given.until, ids=given.ids, windows=windows)
    except VireidError as err:
        raise ServiceError(400, str(err)) from None
