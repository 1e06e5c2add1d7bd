"""``thumbsmith origin TARGET --listen HOST:PORT``: the on-demand origin over a bucket.

Everything is built from the settings and a :class:`Target` (a local bucket folder or
``s3://bucket/prefix``) by :func:`build`: the policy (:class:`~thumbsmith.service.
ondemand.origin.Origin`), the app (:func:`thumbsmith.http.origin.app.create_app`) and a
renderer, either the render pool (killable children, a per-render timeout, a bounded
queue: :func:`pool_renderer`) or in this process, one render at a time
(:func:`inline_renderer`, for a Lambda function that is one request at a time anyway).
:func:`serve_origin` runs it under uvicorn until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from starlette.applications import Starlette

from thumbsmith.http.middleware import LOOPBACK_HOSTS
from thumbsmith.http.origin.app import AppConfig, Lifespan, Render, Report, create_app
from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import Target
from thumbsmith.service.ondemand.origin import (
    Busy,
    Origin,
    OriginConfig,
    Rendered,
    Renderer,
    RenderJob,
)
from thumbsmith.service.ondemand.requests import RequestRules
from thumbsmith.service.process import Processor
from thumbsmith.service.rules import Rules
from thumbsmith.settings import Settings

log = logging.getLogger("thumbsmith")


def origin_config(settings: Settings, bucket: str) -> OriginConfig:
    """The origin's policy for sources in ``bucket``, from the settings."""
    config = bootstrap.process_config(settings)
    return OriginConfig(
        RequestRules(
            keys=config.keys,
            bucket=bucket,
            renditions={spec.name: spec for spec in config.specs},
            limits=settings.origin_limits,
            order=settings.origin_order,
            signing_keys=settings.origin_keys,
            adhoc_template=settings.origin_key_template,
        ),
        config.options,
        Rules(settings.rule_list),
    )


def renderer_of(processor: Processor) -> Renderer:
    """A renderer over a Processor's store, source reader, writer and options: the very
    objects ``process()`` reads and writes with."""
    return Renderer(
        processor.sources,
        processor.writer,
        processor.options,
        processor.object_name,
        processor.specs_for,
    )


# --- the render pool ----------------------------------------------------------------
_renderer: Renderer | None = None


def render_job(job: RenderJob) -> Rendered:
    """Job (in a render process): one on-demand render."""
    global _renderer
    if _renderer is None:
        _renderer = renderer_of(pool.processor())
    return _renderer.render(job)


def pool_renderer(renderers: pool.RenderPool, timeout: float) -> Render:
    async def render(job: RenderJob) -> Rendered:
        try:
            future = renderers.submit(render_job, job, timeout=timeout)
        except pool.PoolFull as exc:
            raise Busy(f"too many renders at once: {exc}") from None
        try:
            result: Rendered = await asyncio.wrap_future(future)
        except pool.JobTimeout as exc:
            raise Busy(f"{job.output_key}: {exc}") from None
        except pool.ChildDied as exc:
            raise Busy(f"{job.output_key}: {exc}") from None
        return result

    return render


def inline_renderer(renderer: Renderer, queue_limit: int) -> Render:
    """Renders in this process, one at a time (in one thread, so hits go on); more than
    ``queue_limit`` waiting is :class:`Busy`. Not killable: the decode timeout bounds it."""
    thread = cf.ThreadPoolExecutor(1, thread_name_prefix="thumbsmith-render")
    waiting = 0

    async def render(job: RenderJob) -> Rendered:
        nonlocal waiting
        if waiting > queue_limit:
            raise Busy(f"{waiting} renders are waiting")
        waiting += 1
        try:
            return await asyncio.wrap_future(thread.submit(renderer.render, job))
        finally:
            waiting -= 1

    return render


@dataclass
class Built:
    """The app and what to call when it is done with (the render pool's shutdown)."""

    app: Starlette
    close: Callable[[], None]
    renderers: pool.RenderPool | None = None


def build(
    target: Target,
    settings: Settings,
    *,
    inline: bool = False,
    workers: int | None = None,
    max_response_bytes: int | None = None,
    allowed_hosts: tuple[str, ...] = ("*",),
    lifespan: Lifespan | None = None,
    report: Report | None = None,
) -> Built:
    """The origin app for ``target``: renders in a pool of ``workers`` render processes,
    or ``inline`` in this one; ``report`` gets every answered request (metrics)."""
    settings = target.settings_for(settings)
    store = target.open(settings)
    service = Origin(store, origin_config(settings, target.bucket))
    config = AppConfig(
        cache_control=settings.origin_cache_control,
        max_response_bytes=max_response_bytes,
        allowed_hosts=allowed_hosts,
    )
    if inline:
        renderer = renderer_of(bootstrap.processor(store, settings))
        render = inline_renderer(renderer, settings.origin_queue)
        app = create_app(config, service, render, lifespan=lifespan, report=report)
        return Built(app, lambda: None)
    count = bootstrap.worker_count(settings, workers)
    renderers = pool.RenderPool(
        pool.ChildSetup(settings, target, logs="json"), count, queue_limit=settings.origin_queue
    )
    render = pool_renderer(renderers, settings.origin_render_timeout)
    app = create_app(config, service, render, lifespan=lifespan, report=report)
    return Built(app, lambda: renderers.shutdown(grace=pool.STOP_GRACE_S, cancel=True), renderers)


def serve_origin(
    target: Target,
    settings: Settings,
    listen: str,
    *,
    workers: int | None = None,
    on_ready: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready`` gets the URL once it listens."""
    import uvicorn

    from thumbsmith.http import server as http_server
    from thumbsmith.runners.receive import parse_listen

    host, port = parse_listen(listen)
    loopback = http_server.is_loopback(host)
    bootstrap.start(settings, logs="json")
    sock = http_server.bind(host, port, backlog=2048, option=f"--listen {listen}")
    url = f"http://{http_server.url_host(host)}:{sock.getsockname()[1]}/"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Said from uvicorn's start-up, once its signal handlers are in: a signal from
        # then on is a clean stop.
        on_ready(url)
        if not loopback:
            log.warning(
                f"origin listens on {host}, reachable from other machines: it serves "
                "every rendition of the bucket and renders named ones for anyone"
            )
        yield

    allowed = (*LOOPBACK_HOSTS, host, http_server.url_host(host)) if loopback else ("*",)
    built = build(target, settings, workers=workers, allowed_hosts=allowed, lifespan=lifespan)
    http_server.exit_cleanly_on_signals()
    # Ctrl-C is the normal way to stop, wherever it lands (even while the pool stops).
    with contextlib.suppress(KeyboardInterrupt):
        try:
            config = uvicorn.Config(
                built.app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                server_header=False,
                timeout_graceful_shutdown=1,
                timeout_keep_alive=5,
            )
            http_server.run(config, sock)
        finally:
            built.close()
            sock.close()
