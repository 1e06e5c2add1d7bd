"""The on-demand origin's HTTP side: one Starlette app, no imaging in it.

* ``GET|HEAD /{output key}``: the object in the output store (a HIT), else the rendition
  the key names, rendered now (a MISS; see :mod:`thumbsmith.service.ondemand.keys`), else
  404. An ad-hoc key renders only with the edge's mark.
* ``GET|HEAD /img/{source key}?p=NAME[&f=]`` and the signed ``?w=&h=&fit=&pos=&q=&f=
  &exp=&s=``: the same objects, by source key (:func:`~thumbsmith.service.ondemand.
  requests.decide`).

Store reads run in Starlette's thread pool and renders in the injected ``render`` (the
render pool), so a hit never waits behind a render. Concurrent requests for one missing
key share one render (:class:`SingleFlight`: the others answer ``WAIT``). A source that
fails to render is remembered for :data:`FAILED_TTL_S` so a client that retries at once
does not render it again. Every answer is one JSON log line (hit, miss, wait, bytes,
render ms), and is handed to the runner's ``report`` (EMF metrics on Lambda).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from thumbsmith.errors import (
    BadRequest,
    ImageError,
    ObjectNotFound,
    ThumbsmithError,
    UnsafeKey,
)
from thumbsmith.http.middleware import trusted_hosts
from thumbsmith.service.ondemand.origin import (
    Busy,
    Origin,
    Plan,
    Refused,
    Rendered,
    RenderJob,
    stored_etag,
)
from thumbsmith.service.ondemand.params import EDGE_HEADER

log = logging.getLogger("thumbsmith")

Render = Callable[[RenderJob], Awaitable[Rendered]]
Report = Callable[["Answered"], None]
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]
T = TypeVar("T")

#: Seconds a source that failed to render is answered from memory (422) before the
#: next request may try it again; the CDN keeps the 422 as long (``max-age=60``).
FAILED_TTL_S = 60.0
ERROR_CACHE = {400: "public, max-age=60", 404: "public, max-age=60", 422: "public, max-age=60"}
ERROR_CACHE[403] = "public, max-age=10"


@dataclass(frozen=True)
class AppConfig:
    """How the app answers (from the settings, given by the runner)."""

    cache_control: str = "public, max-age=31536000, immutable"
    #: A rendition larger than this is written as always but answered 302 to the same
    #: URL (a Lambda function URL answers at most 6 MB: the CDN's retry finds it in the
    #: bucket). ``None``: no limit.
    max_response_bytes: int | None = None
    allowed_hosts: tuple[str, ...] = ("*",)
    retry_after_s: int = 1


@dataclass(frozen=True)
class Answered:
    """One answered request, as its log line says it: for a runner's metrics (EMF on
    Lambda) through ``create_app(report=...)``."""

    method: str
    path: str
    status: int
    cache: str  # HIT, MISS, WAIT, or "-" where no rendition was looked up or made
    bytes: int
    render_ms: float  # 0.0 unless this request rendered
    ms: float


class SingleFlight(Generic[T]):
    """One run per key at a time in this process: later callers await the first's."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str, start: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result, and whether this call waited for another's run."""
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight), True
        flight = asyncio.ensure_future(start())
        self._flights[key] = flight
        flight.add_done_callback(lambda done: self._forget(key, done))
        # Shielded: a client that hangs up does not cancel the render the others await.
        return await asyncio.shield(flight), False

    def _forget(self, key: str, done: asyncio.Future[T]) -> None:
        if self._flights.get(key) is done:
            del self._flights[key]
        if not done.cancelled():
            done.exception()  # retrieved: an error nobody awaited is no warning


@dataclass
class Answer:
    """What one request became, for its response and its log line."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cache: str = ""  # HIT, MISS, WAIT
    timing: dict[str, float] = field(default_factory=dict)


def _error(status: int, reason: str, *, retry_after: int | None = None) -> Answer:
    headers = {
        "Cache-Control": ERROR_CACHE.get(status, "no-store"),
        "Content-Type": "text/plain; charset=utf-8",
    }
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Answer(status, (reason + "\n").encode(), headers)


def _http_date(when: datetime | None) -> str:
    return format_datetime((when or datetime.now(UTC)).astimezone(UTC), usegmt=True)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class OriginApp:
    """The request handlers over one :class:`Origin` and one ``render``."""

    def __init__(
        self, config: AppConfig, service: Origin, render: Render, report: Report | None = None
    ) -> None:
        self.config = config
        self.service = service
        self.render = render
        self.report = report
        self.flights: SingleFlight[Rendered] = SingleFlight()
        self.failed: dict[tuple[str, str], tuple[float, str]] = {}

    # --- routes ------------------------------------------------------------------------
    async def output(self, request: Request) -> Response:
        started = time.perf_counter()
        key = request.path_params["key"]
        if request.query_params:
            names = sorted(set(request.query_params.keys()))
            answer = _error(
                400,
                f"unknown parameter{'s' if len(names) > 1 else ''} {', '.join(names)}: "
                "/{output key} takes none (use /img/{source key}?... for options)",
            )
        else:
            answer = self._fit(request, await self._serve(request, key, None))
        return self._respond(request, answer, started)

    async def img(self, request: Request) -> Response:
        started = time.perf_counter()
        source_key = request.path_params["key"]
        pairs = request.query_params.multi_items()
        auto = dict(pairs).get("f", "auto").strip().lower() == "auto"
        answer = self._fit(request, await self._serve(request, source_key, pairs))
        if auto:
            # Every answer to an auto request varies on Accept, errors and fallbacks too.
            answer.headers["Vary"] = "Accept"
        return self._respond(request, answer, started)

    # --- the flow ----------------------------------------------------------------------
    async def _serve(
        self, request: Request, key: str, pairs: list[tuple[str, str]] | None
    ) -> Answer:
        try:
            if pairs is None:
                return await self._by_output_key(request, key)
            return await self._by_source_key(request, key, pairs)
        except Refused as exc:
            return _error(exc.status, exc.reason)
        except Busy as exc:
            return _error(503, str(exc), retry_after=self.config.retry_after_s)
        except ImageError as exc:
            return _error(422, str(exc))
        except (BadRequest, UnsafeKey) as exc:
            return _error(400, str(exc))
        except ObjectNotFound as exc:
            return _error(404, str(exc))
        except ThumbsmithError as exc:
            # The store is down, refuses us, or its bucket is missing: nothing to cache.
            log.warning("origin: store error", extra={"error": str(exc)})
            return _error(503, f"the store is unavailable: {exc}", retry_after=5)

    async def _by_output_key(self, request: Request, key: str) -> Answer:
        hit = await self._hit(request, key, auto=False)
        if hit is not None:
            return hit
        plan = self.service.plan_key(key, request.headers.get(EDGE_HEADER))
        return await self._miss(request, plan)

    async def _by_source_key(
        self, request: Request, source_key: str, pairs: list[tuple[str, str]]
    ) -> Answer:
        has_alpha = False
        if self.service.may_need_alpha(pairs):
            has_alpha = await run_in_threadpool(self.service.source_alpha, source_key)
        plan = self.service.plan_img(
            source_key, pairs, request.headers.get("accept"), time.time(), has_alpha
        )
        hit = await self._hit(request, plan.output_key, auto=plan.auto)
        if hit is not None:
            return hit
        return await self._miss(request, plan)

    async def _hit(self, request: Request, key: str, *, auto: bool) -> Answer | None:
        start = time.perf_counter()
        # A HEAD or a conditional GET needs only the object's HEAD.
        body = request.method == "GET" and "if-none-match" not in request.headers
        found = await run_in_threadpool(self.service.stored, key, body=body)
        if found is None:
            return None
        data, info = found
        etag = stored_etag(info)
        if data is None and request.method == "GET" and not _matches(_inm(request), etag):
            found = await run_in_threadpool(self.service.stored, key, body=True)
            if found is None:
                return None
            data, info = found
        headers = self._rendition_headers(etag, info.last_modified, info.content_type)
        answer = Answer(200, data or b"", headers, "HIT")
        answer.timing["read"] = (time.perf_counter() - start) * 1000
        if data is None:
            headers["Content-Length"] = str(info.size)
        return answer

    async def _miss(self, request: Request, plan: Plan) -> Answer:
        start = time.perf_counter()
        source = await run_in_threadpool(self.service.source, plan)
        etag = self.service.etag(plan, source)
        head_ms = (time.perf_counter() - start) * 1000
        if _matches(_inm(request), etag):
            # The client has this very rendition: no need to render it to say so.
            headers = self._rendition_headers(etag, None, None)
            return Answer(304, b"", headers, "MISS", {"read": head_ms})
        remembered = self.failed.get((source.key, source.etag))
        if remembered is not None and remembered[0] > time.monotonic():
            return _error(422, remembered[1])
        job = self.service.job(plan, source)
        try:
            rendered, waited = await self.flights.run(
                plan.output_key, lambda: self._render_once(job)
            )
        except ImageError as exc:
            self.failed[(source.key, source.etag)] = (time.monotonic() + FAILED_TTL_S, str(exc))
            self._prune()
            raise
        headers = self._rendition_headers(
            rendered.etag, rendered.last_modified, rendered.content_type
        )
        timing = {"read": head_ms + rendered.read_ms}
        cache = "WAIT" if waited else "HIT" if rendered.from_store else "MISS"
        if cache == "MISS":
            timing |= {"render": rendered.render_ms, "write": rendered.write_ms}
        return Answer(200, rendered.data, headers, cache, timing)

    def _fit(self, request: Request, answer: Answer) -> Answer:
        """``answer``, or a 302 to the same URL where its body is over the limit: the
        object is in the bucket by now (just written, or found there by a request that
        raced a render elsewhere), so the retry, which the CDN asks of the bucket first,
        finds it there."""
        limit = self.config.max_response_bytes
        if limit is None or answer.status != 200 or len(answer.body) <= limit:
            return answer
        headers = {"Cache-Control": "private, no-store", "Location": _same_url(request)}
        return Answer(302, b"", headers, answer.cache, answer.timing)

    async def _render_once(self, job: RenderJob) -> Rendered:
        """The render, unless the object was written since this request looked for it
        (by a render that ended meanwhile, here or in another process): one store
        request per miss keeps a render from being done twice."""
        found = await run_in_threadpool(self.service.stored, job.output_key, body=True)
        if found is None:
            return await self.render(job)
        data, info = found
        return Rendered(
            data or b"",
            info.content_type or "",
            0,
            0,
            stored_etag(info),
            info.last_modified,
            from_store=True,
        )

    def _prune(self) -> None:
        now = time.monotonic()
        for k in [k for k, (until, _) in self.failed.items() if until <= now]:
            del self.failed[k]

    def _rendition_headers(
        self, etag: str, modified: datetime | None, content_type: str | None
    ) -> dict[str, str]:
        headers = {
            "ETag": etag,
            "Cache-Control": self.config.cache_control,
            "Last-Modified": _http_date(modified),
        }
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    # --- the response --------------------------------------------------------------------
    def _respond(self, request: Request, answer: Answer, started: float) -> Response:
        headers = dict(answer.headers)
        status = answer.status
        if status == 200 and _matches(_inm(request), headers.get("ETag", "")):
            status, answer.body = 304, b""
        if status == 304:
            # Only what a 304 may repeat (RFC 9110 §15.4.5), Cache-Control and Vary included.
            keep = ("ETag", "Cache-Control", "Vary", "Last-Modified")
            headers = {k: v for k, v in headers.items() if k in keep}
        if answer.cache:
            headers["X-Thumbsmith-Cache"] = answer.cache
        if answer.timing:
            headers["Server-Timing"] = ", ".join(
                f"{phase};dur={ms:.1f}" for phase, ms in answer.timing.items()
            )
        body = answer.body
        if status != 304:
            headers.setdefault("Content-Length", str(len(body)))
        if request.method == "HEAD" or status == 304:
            body = b""
        self._log(request, status, answer, len(answer.body), started)
        return Response(body, status, headers)

    def _log(
        self, request: Request, status: int, answer: Answer, size: int, started: float
    ) -> None:
        answered = Answered(
            method=request.method,
            path=request.url.path,
            status=status,
            cache=answer.cache or "-",
            bytes=size,
            render_ms=round(answer.timing.get("render", 0.0), 1),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        fields: Mapping[str, Any] = dataclasses.asdict(answered)
        log.info("origin_request", extra=dict(fields))
        if self.report is not None:
            self.report(answered)


def _inm(request: Request) -> str | None:
    return request.headers.get("if-none-match")


def _same_url(request: Request) -> str:
    """This request's path and query, relative: behind a CDN the Host the origin sees is
    its own (a Lambda function URL's, which only the CDN may call), not the viewer's."""
    path = quote(request.scope.get("root_path", "") + request.scope["path"])
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def create_app(
    config: AppConfig,
    service: Origin,
    render: Render,
    *,
    lifespan: Lifespan | None = None,
    report: Report | None = None,
) -> Starlette:
    """The origin app over ``service`` (the policy, blocking store calls) and ``render``
    (a job to an awaitable answer: the render pool, or an inline renderer). Raise
    :class:`Busy` from ``render`` when no render can start. ``report`` gets every
    answered request (after its log line)."""
    handlers = OriginApp(config, service, render, report)
    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/img/{key:path}", handlers.img, methods=["GET", "HEAD"]),
            Route("/{key:path}", handlers.output, methods=["GET", "HEAD"]),
        ],
        middleware=[trusted_hosts(config.allowed_hosts)],
    )
    app.state.origin = handlers
    return app
