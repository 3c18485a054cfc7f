"""An hour window across midnight returns exactly the crops whose time of day falls inside it, over capture times
that span several days, on FAISS, milvus-lite and a Milvus server; the window goes into the store's filter, so
`allowed` counts it."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.serve.helpers import search, served, walk
from vireid.gallery.hours import HourWindow


@pytest.mark.parametrize(
    ("store", "hours", "zone"),
    [
        ("faiss_gallery", "22:00-06:00", "UTC"),
        ("faiss_gallery", "21:30-02:15", "America/New_York"),
        ("lite_gallery", "22:00-06:00", "UTC"),
        ("lite_gallery", "21:30-02:15", "America/New_York"),
        ("server_gallery", "21:30-02:15", "America/New_York"),  # the same SQL windows as an expression, once
    ],
)
def test_an_hour_window_across_midnight_returns_exactly_the_crops_inside_it(
    store: str,
    hours: str,
    zone: str,
    request: pytest.FixtureRequest,
    demo_export: Path,
    serve_sidecar: Path,
    tmp_path: Path,
) -> None:
    gallery: str = request.getfixturevalue(store)
    with open(serve_sidecar, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["modality"] == "visible"]
    window = HourWindow.parse(hours)
    tz = ZoneInfo(zone)

    def inside(epoch: int) -> bool:
        local = dt.datetime.fromtimestamp(epoch, tz)
        return window.contains(local.hour * 3600 + local.minute * 60 + local.second)

    expected = sorted(int(r["time"]) for r in rows if inside(int(r["time"])))
    with open(serve_sidecar, newline="", encoding="utf-8") as handle:
        query = Path(next(r for r in csv.DictReader(handle) if r["modality"] == "infrared")["path"])
    with served(gallery, demo_export, tmp_path, timezone=zone) as client:
        matches = walk(client, query, modality="infrared", k=60, hours=hours)
        first = search(client, query, modality="infrared", k=1, hours=hours)
    assert sorted(m["timestamp"] for m in matches) == expected and 0 < len(expected) < len(rows)
    assert first["allowed"] == len(expected) and first["hours"] == hours and first["timezone"] == zone
    for match in matches:  # the time printed is the capture time, in the service's zone
        printed = dt.datetime.fromisoformat(match["time"])
        assert printed == dt.datetime.fromtimestamp(match["timestamp"], tz)
        assert printed.utcoffset() == dt.datetime.fromtimestamp(match["timestamp"], tz).utcoffset()
