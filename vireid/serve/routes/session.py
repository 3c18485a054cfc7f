"""The page's login: a token exchanged once for an HttpOnly, SameSite=Strict session cookie (`auth.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from vireid.serve import schemas
from vireid.serve.auth import Principal, Scope, clear_session, set_session
from vireid.serve.errors import ServiceError
from vireid.serve.routes.deps import Service

routes = APIRouter(prefix="/api/v1", tags=["session"])


@routes.post("/session", response_model=schemas.SessionOut)
async def login(
    form: Annotated[schemas.SessionForm, Form()], request: Request, response: Response, service: Service
) -> schemas.SessionOut:
    """Exchange a token for a session cookie (what the page does once)."""
    client = request.client.host if request.client else "unknown"
    scope = service.tokens.scope_of(form.token)
    if scope is None:
        service.audit.record(Principal(None, "login", client), "login refused")
        raise ServiceError(401, "that token is not valid for this service")
    set_session(response, service.tokens, scope, secure=request.url.scheme == "https")
    service.audit.record(Principal(scope, "login", client), "login")
    return schemas.SessionOut(scope="write" if scope == Scope.WRITE else "read")


@routes.delete("/session", status_code=204, response_class=Response)
async def logout(request: Request) -> Response:
    """Forget the session cookie."""
    response = Response(status_code=204)
    clear_session(response, secure=request.url.scheme == "https")
    return response
