"""The operator page: static HTML, CSS and one vanilla-JS file shipped inside the package (no CDN, no build)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parents[1] / "static"

routes = APIRouter(include_in_schema=False)


@routes.get("/")
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})
