"""``thumbsmith receive --listen HOST:PORT``: bucket notifications over HTTP, for the
self-hosted stores that have no SQS (MinIO's webhook target, SeaweedFS's filer webhook).

Each notification body goes to a bounded pool of render processes, the worker's own
(same child start-up, same :func:`thumbsmith.service.dispatch.handle`), and the HTTP
answer waits for the verdict (see :mod:`thumbsmith.runners.receive_app`).

Delivery: MinIO with ``queue_dir`` retries until it gets a 2xx, so with it nothing is
lost when the receiver dies. SeaweedFS 4.48 does not retry a failed webhook (it logs it
and moves on) and queues in memory, so a notification can be lost there: run
``thumbsmith sync`` from cron to repair what a receiver missed.

SIGTERM or SIGINT: stop accepting, let the requests in flight finish (up to
THUMBSMITH_RECEIVE_TIMEOUT), shut the pool down, exit 0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
import threading

from thumbsmith.errors import ConfigError
from thumbsmith.runners import bootstrap, pool, worker
from thumbsmith.service.dispatch import Summary, Verdict
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


class RenderPool:
    """The worker's process pool, rebuilt when a child dies (OOM killer, a segfault)."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self._lock = threading.Lock()
        self._executor = self._new()

    def _new(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=pool.context(),
            initializer=worker._init_child,
            initargs=(self.settings,),
        )

    def warm_up(self) -> None:
        """Start every child now: start-up errors surface before the port opens."""
        for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
            future.result()

    async def submit(self, body: bytes) -> Summary:
        with self._lock:
            executor = self._executor
        try:
            result = await asyncio.wrap_future(executor.submit(worker._job, body))
        except cf.BrokenExecutor as exc:
            # Nothing was acknowledged: 503, and the sender's retry gets a fresh child.
            self._renew(executor)
            return Summary(Verdict.RETRY, f"render process died: {exc}")
        return result

    def _renew(self, broken: cf.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _ready() -> bool:
    return True


def run_receive(listen: str, settings: Settings, *, workers: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT."""
    import uvicorn

    from thumbsmith.runners import http_server
    from thumbsmith.runners.receive_app import make_app

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
    renderers = RenderPool(settings, count)
    # Ctrl-C is a normal way to stop: whenever it lands (even while the pool shuts
    # down), the exit is clean, as for serve.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            renderers.warm_up()
            app = make_app(
                token=settings.receive_token,
                max_bytes=settings.receive_max_bytes,
                timeout=settings.receive_timeout,
                submit=renderers.submit,
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
            renderers.shutdown()
            sock.close()
            log.info("receive stopped")
