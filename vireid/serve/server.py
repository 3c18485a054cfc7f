"""Running the service: uvicorn on one address, stopped gracefully.

On SIGTERM or Ctrl-C uvicorn stops accepting connections, lets the requests in flight finish (up to
`GRACE_SECONDS`), then runs the app's lifespan shutdown, which closes the engines and the store
(`app.create_app`). One process, one event loop: the engines run on their own threads (`batching.py`), so more
uvicorn workers would only load more copies of them on the same cores.
"""

from __future__ import annotations

from collections.abc import Callable

from vireid.serve.settings import ServeSettings

GRACE_SECONDS = 30


def serve(settings: ServeSettings, log: Callable[[str], None]) -> None:
    import uvicorn

    from vireid.serve.app import create_app
    from vireid.serve.service import GalleryService

    service = GalleryService(settings, log=log)
    app = create_app(service)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    log(f"serving {settings.gallery} at http://{host}:{settings.port}/ (API docs at /docs); Ctrl-C stops it")
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=GRACE_SECONDS,
            server_header=False,
        )
    finally:
        service.close()
