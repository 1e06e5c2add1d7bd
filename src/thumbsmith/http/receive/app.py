"""The HTTP side of ``thumbsmith receive``: a small Starlette app, no image work in it.

* ``POST /events``: a bucket notification of any shape thumbsmith understands (detected
  from the body, see :func:`thumbsmith.service.events.parse`). The bearer token is
  checked, in constant time, before a byte of the body is read; the body is bounded
  (413) and must arrive within :data:`BODY_TIMEOUT`. The answer waits for the work:
  2xx once every object in it is processed or its failure recorded as permanent, 503
  for a transient failure or when the work takes longer than the timeout. So the
  sender's own retry (MinIO's ``queue_dir``) covers a crash of the receiver.
* A body that is not a notification (an unknown shape, a test event) is acknowledged
  with 200 and a log line: MinIO retries anything that is not 2xx every 3 s, forever.
* ``GET /health`` and ``HEAD`` on both paths (MinIO probes its target with HEAD).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from thumbsmith.http.middleware import LimitBody
from thumbsmith.service.dispatch import MessageSummary, Verdict

log = logging.getLogger("thumbsmith")

BODY_TIMEOUT = 30.0  # seconds a sender may take to send a (small) notification body


Submit = Callable[[bytes], Awaitable[MessageSummary]]


@dataclass(slots=True)
class Counters:
    done: int = 0
    ignored: int = 0
    retry: int = 0
    unauthorized: int = 0
    in_flight: int = 0


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    expected = f"Bearer {token}".encode()
    return hmac.compare_digest((header or "").encode("utf-8", "replace"), expected)


def make_app(*, token: str, max_bytes: int, timeout: float, submit: Submit) -> Starlette:
    counters = Counters()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **asdict(counters)})

    async def events(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), token):
            counters.unauthorized += 1
            log.warning("notification refused: missing or wrong bearer token")
            return JSONResponse(
                {"error": "missing or wrong bearer token"},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method == "HEAD":
            return Response(status_code=200)
        try:
            body = await asyncio.wait_for(request.body(), BODY_TIMEOUT)
        except TimeoutError:
            return JSONResponse({"error": "body not received in time"}, 408)
        return await _process(body, counters, timeout, submit)

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET", "HEAD"]),
            Route("/events", events, methods=["POST", "HEAD"]),
            Route("/", health, methods=["GET", "HEAD"]),
        ],
        middleware=[Middleware(LimitBody, max_bytes=max_bytes, what="notification")],
    )


async def _process(body: bytes, counters: Counters, timeout: float, submit: Submit) -> Response:
    counters.in_flight += 1
    try:
        # shield: on timeout the work goes on; the sender's retry then finds it done.
        answer = await asyncio.wait_for(asyncio.shield(submit(body)), timeout)
    except TimeoutError:
        counters.retry += 1
        log.warning("notification not done in time: answered 503", extra={"timeout_s": timeout})
        return JSONResponse({"verdict": "retry", "error": "timed out"}, 503)
    finally:
        counters.in_flight -= 1
    if answer.verdict is Verdict.DONE:
        counters.done += 1
        # One line per notification, also for those that named no object to act on (a
        # test event, a GET, a directory): acknowledged and ignored, visibly.
        log.info(
            "notification done",
            extra={"written": answer.written, "permanent": answer.permanent},
        )
        return JSONResponse(
            {"verdict": "done", "written": answer.written, "permanent": answer.permanent}
        )
    if answer.verdict is Verdict.POISON:
        counters.ignored += 1
        # Not a notification we can use: acknowledge it, or the sender retries forever.
        log.warning("notification ignored", extra={"reason": answer.error})
        return JSONResponse({"verdict": "ignored", "reason": answer.error})
    counters.retry += 1
    return JSONResponse(
        {"verdict": "retry", "error": answer.error}, 503, headers={"Retry-After": "3"}
    )
