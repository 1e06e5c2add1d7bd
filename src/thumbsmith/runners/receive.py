"""``thumbsmith receive --listen HOST:PORT``: bucket notifications over HTTP, for the
self-hosted stores that have no SQS (MinIO's webhook target, SeaweedFS's filer webhook).

Each notification body goes to the render pool (:mod:`thumbsmith.runners.pool`, the
worker's child start-up and :func:`thumbsmith.service.dispatch.handle`), and the HTTP
answer waits for the verdict (see :mod:`thumbsmith.http.receive.app`).

Delivery: MinIO with ``queue_dir`` retries until it gets a 2xx, so with it nothing is
lost when the receiver dies. SeaweedFS 4.48 does not retry a failed webhook (it logs it
and moves on) and queues in memory, so a notification can be lost there: run
``thumbsmith sync`` from cron to repair what a receiver missed.

SIGTERM or SIGINT: stop accepting, let the requests in flight finish (up to
THUMBSMITH_RECEIVE_TIMEOUT), shut the pool down, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from thumbsmith.errors import ConfigError
from thumbsmith.runners import bootstrap, pool
from thumbsmith.service.dispatch import MessageSummary, Verdict
from thumbsmith.settings import Settings

log = logging.getLogger("thumbsmith")

DEFAULT_LISTEN = "127.0.0.1:8780"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


async def submit(renderers: pool.RenderPool, body: bytes) -> MessageSummary:
    """One notification body to a render process, awaited without blocking the loop."""
    try:
        return await asyncio.wrap_future(renderers.submit(pool.handle_message, body))
    except pool.ChildDied as exc:
        # Nothing was acknowledged: 503, and the sender's retry gets a fresh child.
        return MessageSummary(Verdict.RETRY, f"render process died: {exc}")


def run_receive(listen: str, settings: Settings, *, workers: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT."""
    import uvicorn

    from thumbsmith.http import server as http_server
    from thumbsmith.http.receive.app import make_app

    if not settings.receive_token:
        raise ConfigError(
            "setting 'receive_token' (THUMBSMITH_RECEIVE_TOKEN) is empty: receive accepts "
            "notifications only with a bearer token; set it here and as the store's "
            "auth_token (MinIO) or bearer_token (SeaweedFS)"
        )
    host, port = parse_listen(listen)
    bootstrap.start(settings, logs="json")
    sock = http_server.bind(host, port, backlog=2048, option=f"--listen {host}:{port}")
    count = bootstrap.worker_count(settings, workers)
    renderers = pool.RenderPool(pool.ChildSetup(settings, logs="json"), count)
    # Ctrl-C is a normal way to stop: whenever it lands (even while the pool shuts
    # down), the exit is clean, as for serve.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            renderers.warm_up()
            app = make_app(
                token=settings.receive_token,
                max_bytes=settings.receive_max_bytes,
                timeout=settings.receive_timeout,
                submit=functools.partial(submit, renderers),
            )
            config = uvicorn.Config(
                app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
                timeout_graceful_shutdown=int(settings.receive_timeout),
                # Beyond this many connections uvicorn answers 503 itself: memory stays bounded
                # and a sender that retries loses nothing.
                limit_concurrency=count * 8 + 8,
                timeout_keep_alive=5,
            )
            # Before the address is printed: a signal at any point from then on is clean.
            http_server.exit_cleanly_on_signals()
            bound = sock.getsockname()
            print(f"listening on http://{http_server.url_host(host)}:{bound[1]}/events", flush=True)
            if not http_server.is_loopback(host):
                log.warning(
                    f"receive listens on {host}, reachable from other machines: keep the token "
                    "secret and put TLS (a reverse proxy) in front of it"
                )
            log.info("receive started", extra={"listen": f"{host}:{bound[1]}", "workers": count})
            http_server.run(config, sock)
        finally:
            renderers.shutdown(grace=settings.receive_timeout)
            sock.close()
            log.info("receive stopped")
