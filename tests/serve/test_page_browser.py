"""The operator page in a real browser: Playwright drives Debian's Chromium against `vireid serve` on 127.0.0.1.

Log in (a wrong token first shows the error line), upload an infrared query and see k tiles, tick one camera and
see only that camera, click a tile and see a new ranked list led by that crop, page on. A failing step leaves a
screenshot in the test's folder; `VIREID_SERVE_SCREENSHOT=PATH` saves the results page there (the README's
picture comes from this test).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.helpers import READ_TOKEN
from tests.serve.live import live_service
from tests.servers import unavailable

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""As root in a container without a display; the closed network refuses Chromium's background connections."""
K = 6


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed: pip install -e '.[dev]'")
    executable = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if executable is None:
        unavailable("Chromium is not installed: apt-get install chromium (Playwright's own download is unreachable)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        except BaseException:
            raise
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            browser.close()


def _tiles(page: Any) -> list[dict[str, str]]:
    """The result tiles' crop id, camera and alt text. Read through locators: the page's Content-Security-Policy
    forbids evaluating strings as script, which is how Playwright runs `evaluate` and `wait_for_function`."""
    tiles = page.locator("#results button.tile")
    return [
        {
            "id": tile.get_attribute("data-crop-id"),
            "camera": tile.get_attribute("data-camera"),
            "alt": tile.locator("img").get_attribute("alt"),
        }
        for tile in tiles.all()
    ]


def _wait_for_results(page: Any, before: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#summary")).not_to_have_text(before)


def test_the_page_logs_in_searches_filters_and_re_queries(
    page: Any, faiss_gallery: str, demo_export: Path, serve_sidecar: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with open(serve_sidecar, newline="", encoding="utf-8") as handle:
        query = next(r for r in csv.DictReader(handle) if r["modality"] == "infrared")["path"]
    with live_service(faiss_gallery, demo_export, tmp_path) as service:
        page.goto(service.url + "/")
        page.fill("#token", "not-the-token-at-all")
        page.press("#token", "Enter")
        expect(page.locator("#error")).to_contain_text("not valid")

        page.fill("#token", READ_TOKEN)
        page.click("#login-form button")
        page.wait_for_selector("#app:not([hidden])")
        page.wait_for_selector("#cameras input[value=cam1]")
        assert page.is_hidden("#error")

        page.set_input_files("#image", query)
        page.select_option("#modality", "infrared")
        page.fill("#k", str(K))
        page.click("#search")
        expect(page.locator("#results button.tile")).to_have_count(K)
        tiles = _tiles(page)
        assert len(tiles) == K and all(t["alt"].startswith("Rank ") and "score" in t["alt"] for t in tiles)
        for image in page.locator("#results img").all():  # every tile's image loaded through the session cookie
            expect(image).to_have_js_property("complete", True)
            assert image.evaluate_handle("i => i.naturalWidth").json_value() > 0
        if os.environ.get("VIREID_SERVE_SCREENSHOT"):  # the README's picture: an infrared query, visible matches
            page.screenshot(path=os.environ["VIREID_SERVE_SCREENSHOT"], full_page=True)

        page.check("#cameras input[value=cam1]")
        before = page.inner_text("#summary")
        page.click("#search")
        _wait_for_results(page, before)
        assert {t["camera"] for t in _tiles(page)} == {"cam1"}

        chosen = _tiles(page)[2]["id"]
        before = page.inner_text("#summary")
        page.focus(f"#results button.tile[data-crop-id='{chosen}']")
        page.keyboard.press("Enter")  # the page works from the keyboard
        _wait_for_results(page, before)
        assert _tiles(page)[0]["id"] == chosen and f"crop #{chosen}" in page.inner_text("#summary")

        page.click("#more")
        expect(page.locator("#results button.tile")).to_have_count(2 * K)
        ids = [t["id"] for t in _tiles(page)]
        assert len(set(ids)) == 2 * K
