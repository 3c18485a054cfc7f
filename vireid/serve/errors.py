"""Every refusal the service makes: a status code and one line, answered as `{"error": "..."}`.

Handlers for FastAPI's own errors (a malformed request, an unknown route) give the same one-line shape, so a
client, the page and the audit log see one kind of error whatever refused the request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vireid.errors import VireidError


class ServiceError(Exception):
    """A refusal with its HTTP status and a one-line message that says what is wrong and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


def validation_line(error: RequestValidationError) -> str:
    """FastAPI's list of validation errors as one line: the first field and what is wrong with it."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "form"))
        problems.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0] if problems else 'invalid request'}{extra}"


def install_handlers(app: FastAPI) -> None:
    async def service_error(_request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, ServiceError)
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return error_response(err.status, err.message, headers)

    async def user_error(_request: Request, err: Exception) -> JSONResponse:
        return error_response(400, str(err))

    async def invalid(_request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, RequestValidationError)
        return error_response(422, validation_line(err))

    async def http_error(_request: Request, err: Exception) -> JSONResponse:
        assert isinstance(err, StarletteHTTPException)
        message = err.detail if isinstance(err.detail, str) else "request refused"
        if err.status_code == 404 and message == "Not Found":
            message = "no such route; the API is under /api/v1 (see /docs)"
        return error_response(err.status_code, message, dict(err.headers or {}))

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(VireidError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
