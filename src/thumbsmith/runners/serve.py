"""``thumbsmith serve ROOT/BUCKET``: a local page over a bucket folder, with the watch.

One process: uvicorn serves the page (Starlette) on the main thread while ``watch`` runs
in a thread with its usual pool of render children, so an upload from the page lands in
the bucket folder and goes through ``process()`` like any other file. On start the watch
also takes the files already there (up-to-date renditions are skipped, not redone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette

from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.errors import ConfigError
from thumbsmith.http.middleware import LOOPBACK_HOSTS
from thumbsmith.http.serve.activity import Activity
from thumbsmith.http.serve.app import OnDemand, Site, make_app
from thumbsmith.runners import bootstrap
from thumbsmith.runners import origin as origin_runner
from thumbsmith.runners.target import Target
from thumbsmith.runners.watch import watch
from thumbsmith.service.outcome import EventResult
from thumbsmith.settings import Settings

log = logging.getLogger("thumbsmith")

TIMES_DIR = ".thumbsmith-serve"


def no_auth_warning(host: str) -> str:
    return (
        f"warning: serving on {host}, not loopback: the page has no authentication; anyone "
        "who can reach this address can upload and delete files in the bucket folder"
    )


def build(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    on_result: Callable[[EventResult], None] | None = None,
    on_started: Callable[[], None] | None = None,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
) -> Starlette:
    """The app, whose lifespan runs the watch (started with the server, stopped with it)."""
    settings = target.settings_for(settings)
    store = LocalStore(target.root)
    config = bootstrap.process_config(settings)
    settings, ondemand = _with_signing(settings)
    # The origin over the same bucket folder, rendering in this process one at a time (the
    # watch has the render children): the detail view's slider asks it for any width.
    origin = origin_runner.build(target, settings, inline=True, allowed_hosts=allowed_hosts)
    site = Site(store, target.bucket, config.keys, settings.max_bytes, config, ondemand)
    activity = Activity(target.bucket, Path(target.root) / TIMES_DIR / f"{target.bucket}.json")

    def report(result: EventResult) -> None:
        activity.record(result)
        if on_result is not None:
            on_result(result)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(
            target=_watch,
            args=(target, settings),
            kwargs={"on_result": report, "workers": workers, "stop": stop, "existing": True},
            name="thumbsmith-watch",
            daemon=True,
        )
        thread.start()
        if on_started is not None:
            on_started()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=60)
            origin.close()

    return make_app(
        site, activity, allowed_hosts=allowed_hosts, lifespan=lifespan, origin=origin.app
    )


def _with_signing(settings: Settings) -> tuple[Settings, OnDemand]:
    """The page signs its on-demand URLs with the newest origin signing key, or, when none
    is set, with a random one made for this process (so the slider works out of the box,
    and its URLs stop working when the server stops)."""
    if not settings.origin_keys:
        settings = dataclasses.replace(settings, origin_signing_keys=secrets.token_hex(32))
    limits = settings.origin_limits
    return settings, OnDemand(settings.origin_keys[0], limits.formats, limits.max_side)


def _watch(target: Target, settings: Settings, **kwargs: object) -> None:
    try:
        watch(target, settings, **kwargs)  # type: ignore[arg-type]
    except Exception:
        # The page stays up (and says nothing new arrives); the log says why.
        log.exception("serve: the watch stopped")


def serve(
    target: Target,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int | None = None,
    on_ready: Callable[[str], None] = print,
    on_result: Callable[[EventResult], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready`` gets the page's URL once it listens."""
    import uvicorn

    from thumbsmith.http import server as http_server

    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: not a TCP port (0-65535; 0 picks a free one)")
    loopback = http_server.is_loopback(host)
    sock = http_server.bind(host, port, backlog=128, option=f"--host {host} --port {port}")
    url = f"http://{http_server.url_host(host)}:{sock.getsockname()[1]}/"
    if not loopback:
        print(no_auth_warning(host), file=sys.stderr, flush=True)
    app = build(
        target,
        settings,
        workers=workers,
        on_result=on_result,
        # Said once uvicorn handles signals: a Ctrl-C from then on is a clean stop.
        on_started=lambda: on_ready(url),
        # The address it is bound to is a name the page answers too (127.0.0.2 is loopback
        # but no LOOPBACK_HOSTS name, and the printed URL uses it).
        allowed_hosts=(
            (*LOOPBACK_HOSTS, host.strip("[]"), http_server.url_host(host)) if loopback else ("*",)
        ),
    )
    http_server.exit_cleanly_on_signals()
    with contextlib.suppress(KeyboardInterrupt):
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        http_server.run(config, sock)
