"""Who may read and who may write: tokens compared in constant time, and the page's session cookie.

- A client sends its token as `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` (Immich's header).
- The page logs in once (`POST /api/v1/session` with the token) and then rides on a session cookie, so that the
  browser's `<img>` requests are authorised too. The cookie holds the scope, an expiry and an HMAC of both under a
  key made at start-up, never the token: it is HttpOnly (no script reads it), SameSite=Strict (no other site's
  page sends it), and Secure when the service is reached over HTTPS. A restart signs out every page.
- Two scopes: the read token searches and sees images; the write token may also add and remove crops. With no
  read token (allowed on a loopback address only) reads are open; with no write token the write routes are
  refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import IntEnum

from fastapi import Request, Response

from vireid.serve.errors import ServiceError

COOKIE = "vireid_session"
SESSION_SECONDS = 12 * 3600


class Scope(IntEnum):
    READ = 1
    WRITE = 2


@dataclass(frozen=True)
class Principal:
    """Who asked, as the audit log records it: the scope their credential grants and how they presented it."""

    scope: Scope | None
    """None: no credential (reads are open on this service)."""
    via: str
    """"bearer", "api-key", "cookie" or "none"."""
    client: str

    @property
    def name(self) -> str:
        who = {Scope.READ: "read-token", Scope.WRITE: "write-token", None: "anonymous"}[self.scope]
        return f"{who} via {self.via} from {self.client}"


class Tokens:
    def __init__(self, read: str | None, write: str | None) -> None:
        self._read = read.encode() if read else None
        self._write = write.encode() if write else None
        self._key = secrets.token_bytes(32)

    @property
    def reads_open(self) -> bool:
        return self._read is None

    @property
    def writes_enabled(self) -> bool:
        return self._write is not None

    def scope_of(self, token: str) -> Scope | None:
        """The scope a presented token grants; both comparisons always run, in constant time."""
        given = token.encode()
        is_write = self._write is not None and hmac.compare_digest(given, self._write)
        is_read = self._read is not None and hmac.compare_digest(given, self._read)
        if is_write:
            return Scope.WRITE
        return Scope.READ if is_read else None

    def session(self, scope: Scope, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        payload = f"{int(scope)}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def scope_of_session(self, value: str, now: float | None = None) -> Scope | None:
        scope, _, rest = value.partition(".")
        expires, _, signature = rest.partition(".")
        if not (scope.isdigit() and expires.isdigit()):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{scope}.{expires}")):
            return None
        if int(expires) < (now or time.time()) or int(scope) not in (Scope.READ, Scope.WRITE):
            return None
        return Scope(int(scope))

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def identify(self, request: Request) -> Principal:
        """The caller's credential (header first, then the cookie); 401 for a credential that grants nothing."""
        client = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization", "")
        presented: tuple[str, str] | None = None
        if header.lower().startswith("bearer "):
            presented = (header[7:].strip(), "bearer")
        elif "x-api-key" in request.headers:
            presented = (request.headers["x-api-key"].strip(), "api-key")
        if presented is not None:
            scope = self.scope_of(presented[0])
            if scope is None:
                raise ServiceError(401, "the token is not valid for this service; check the token file it was given")
            return Principal(scope, presented[1], client)
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            scope = self.scope_of_session(cookie)
            if scope is None:
                raise ServiceError(401, "the session has expired or the service restarted; log in again")
            return Principal(scope, "cookie", client)
        return Principal(None, "none", client)

    def require(self, request: Request, needed: Scope) -> Principal:
        principal = self.identify(request)
        if needed == Scope.WRITE and not self.writes_enabled:
            raise ServiceError(403, "writes are disabled on this service; start it with --write-token-file")
        if principal.scope is None:
            if needed == Scope.READ and self.reads_open:
                return principal
            raise ServiceError(401, "this service needs a token: send `Authorization: Bearer TOKEN` or log in")
        if principal.scope < needed:
            raise ServiceError(403, "this token may only read; adding and removing crops needs the write token")
        return principal


def set_session(response: Response, tokens: Tokens, scope: Scope, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        tokens.session(scope),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
