"""What routes depend on: the service the app was built with, and the caller's scope (FastAPI dependencies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from vireid.serve.auth import Principal, Scope
from vireid.serve.errors import ServiceError
from vireid.serve.service import GalleryService

# The dependencies are `async def` although they never wait: FastAPI runs a plain `def` dependency on its thread
# pool, a thread hop per dependency per request, which was 7 % of the event loop's time under load.


async def service(request: Request) -> GalleryService:
    return _service(request)


def _service(request: Request) -> GalleryService:
    found: GalleryService = request.app.state.service
    return found


async def _reader(request: Request) -> Principal:
    return _service(request).tokens.require(request, Scope.READ)


async def _writer(request: Request) -> Principal:
    return _service(request).tokens.require(request, Scope.WRITE)


Service = Annotated[GalleryService, Depends(service)]
Reader = Annotated[Principal, Depends(_reader)]
Writer = Annotated[Principal, Depends(_writer)]


def only_fields(model: type[BaseModel], *files: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing (422) a multipart field that is neither one of `model`'s nor a file part named in
    `files` (a form model cannot forbid extras itself: the file parts would count as extras)."""
    allowed = set(model.model_fields) | set(files)

    async def check(request: Request) -> None:
        unknown = sorted(set((await request.form()).keys()) - allowed)
        if unknown:
            raise ServiceError(422, f"unknown field {unknown[0]!r}; the fields are {', '.join(sorted(allowed))}")

    return check
