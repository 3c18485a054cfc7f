"""The app factory: a FastAPI application around one loaded `GalleryService`.

The service (store, engines, tokens, audit log) is built before the app, so a bad gallery or export is one line
from the CLI before any port is bound; the app's lifespan closes it after uvicorn has finished the requests in
flight (graceful shutdown on SIGTERM). Middleware, outermost first: metrics (every request counted by route),
security headers, the body limit, CORS only when an allow-list was given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vireid.serve.errors import install_handlers
from vireid.serve.metrics import MetricsMiddleware
from vireid.serve.routes import crops, gallery, health, page, search, session
from vireid.serve.service import GalleryService
from vireid.serve.upload_limit import SMALL_BODY, UploadLimit

API_VERSION = "v1"
UPLOAD_ROUTES = {("POST", "/api/v1/search"), ("POST", "/api/v1/crops")}
"""The routes that take images, and with them `--max-upload-bytes`; every other body gets `SMALL_BODY`."""
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]
"""The page runs only its own script and styles and is never framed; the API docs page (/docs) loads Swagger UI
from a CDN, so it gets no CSP of ours."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in ("/docs", "/redoc", "/docs/oauth2-redirect")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in SECURITY_HEADERS if not (docs and h[0] == b"content-security-policy")]
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(service: GalleryService) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        title="vireid search",
        version=API_VERSION,
        summary="Cross-modal person search over a vireid gallery: an infrared crop in, visible crops out.",
        lifespan=lifespan,
    )
    app.state.service = service
    install_handlers(app)
    app.include_router(search.routes)
    app.include_router(crops.routes)
    app.include_router(gallery.routes)
    app.include_router(session.routes)
    app.include_router(health.routes)
    app.include_router(page.routes)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    if service.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(service.settings.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    upload = service.settings.limits.upload_bytes
    app.add_middleware(
        UploadLimit, limit_for=lambda method, path: upload if (method, path) in UPLOAD_ROUTES else SMALL_BODY
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app
