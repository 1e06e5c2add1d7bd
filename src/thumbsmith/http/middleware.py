"""Middleware every app here shares: a streamed body limit and the ``Host`` check."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("thumbsmith")

#: The ``Host`` names a server bound to loopback answers: a DNS-rebinding page, whose
#: Host is its own name, is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def trusted_hosts(allowed: Sequence[str] = LOOPBACK_HOSTS) -> Middleware:
    """Answer only requests whose ``Host`` is one of ``allowed`` (``"*"``: any)."""
    return Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed))


class BodyTooLarge(Exception):
    pass


class LimitBody:
    """ASGI middleware: refuse a body over ``max_bytes`` with 413, while it streams.

    A declared Content-Length over the limit is refused before the app runs; a chunked
    or lying sender is cut off at the first chunk past the limit. Memory stays at one
    chunk, never the whole body. ``what`` names the body in the log line.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, what: str = "request") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.what = what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning(f"{self.what} refused: body too large", extra={"limit": self.max_bytes})
        response = JSONResponse(
            {"error": f"body larger than {self.max_bytes} bytes"},
            413,
            headers={"Connection": "close"},  # the rest of the body is never read
        )
        await response(scope, receive, send)
