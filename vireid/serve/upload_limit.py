"""A byte limit on every request body, enforced while it streams in, refused as one JSON line.

Starlette parses a multipart body before a route runs (file parts spooled to disk), so a limit checked in the
route would come after the whole upload was received. This ASGI middleware sits in front of the app: a declared
Content-Length over the limit is refused at once, before a byte of the body is read, and the bytes of every body
are counted as they arrive (a chunked upload declares none), failing the request with 413 the moment the count
passes the limit. Starlette's own `max_body_size` does the same, but answers in plain text, and every refusal of
this service is `{"error": ...}`: raising an `HTTPException` from the body stream lets FastAPI (which re-raises
those from body parsing) hand it to the service's handler.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vireid.serve.errors import error_response

SMALL_BODY = 64 << 10
"""What a request without images may send (a login, a removal's JSON)."""


def too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes; send fewer or smaller crops"


class UploadLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        """`limit_for(method, path)`: the most bytes that route's request bodies may hold."""
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await error_response(413, too_large(limit))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
