"""The one per-process start-up, shared by every runner (and each of their children).

:func:`start` turns settings into the process's state: libvips' thread count and
operation cache, one malloc arena, and the log format and level. The builders below turn
settings into the objects the service layer takes (which never reads settings itself).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Literal

from thumbsmith.core.options import RenderOptions
from thumbsmith.service import manifest
from thumbsmith.service.ports import Notifier, Store
from thumbsmith.service.process import ProcessConfig, Processor
from thumbsmith.service.rules import Rules
from thumbsmith.settings import Settings

if TYPE_CHECKING:
    from thumbsmith.adapters.aws import ClientOptions
    from thumbsmith.adapters.queue.sqs import SqsQueue
    from thumbsmith.adapters.storage.s3 import S3Store

LogFormat = Literal["json", "text", "keep"]

#: botocore's DEBUG output carries signed request headers (access key id, session token,
#: signature): whatever the log level, these loggers never go below WARNING.
QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def start(settings: Settings, *, logs: LogFormat = "keep", verbose: bool = False) -> None:
    """Set this process up from ``settings``; idempotent (the last call wins).

    ``logs``: ``json`` (one JSON object a line, Powertools' format: worker, receiver),
    ``text`` (the CLI), or ``keep`` (a handler is already installed, e.g. Lambda's).
    """
    from thumbsmith.core.vips_setup import configure  # pyvips loads here, once per process

    configure(settings.vips_concurrency)
    level = "DEBUG" if verbose else settings.log_level.upper()
    if logs == "json":
        from aws_lambda_powertools import Logger

        Logger(service="thumbsmith", level=level)
    elif logs == "text":
        logging.basicConfig(
            level=logging.DEBUG if verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
    logging.getLogger("thumbsmith").setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class Stop(threading.Event):
    """Set by the first SIGINT or SIGTERM; ``signum`` says which (``None`` until then, or
    when set by code: a test, serve's lifespan)."""

    def __init__(self) -> None:
        super().__init__()
        self.signum: int | None = None

    @property
    def exit_status(self) -> int:
        """What a shell reports for a process ended by that signal (128 + its number: 130
        for SIGINT, 143 for SIGTERM), the status of a one-shot command that was cut short."""
        return 128 + (self.signum or signal.SIGINT)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name


def stop_on_signals(*, note: Callable[[int], None] | None = None) -> Stop:
    """An event set by SIGINT or SIGTERM, whatever this process inherited (a parent may
    have set SIGINT to be ignored): every long-running command stops on both, cleanly.
    ``note(signum)`` is called on each signal (the worker logs the first). Main thread only.
    """
    stop = Stop()

    def handler(signum: int, frame: FrameType | None) -> None:
        if note is not None:
            note(signum)
        if stop.signum is None:
            stop.signum = signum
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop


@contextlib.contextmanager
def stopping_on_signals(*, note: Callable[[int], None] | None = None) -> Iterator[Stop]:
    """:func:`stop_on_signals` for the length of a ``with`` block; the handlers found are
    put back after it (the CLI called in-process, e.g. by a test, leaves none behind)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop_on_signals(note=note)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker_count(settings: Settings, requested: int | None = None) -> int:
    """Processes to run: ``requested``, else the setting, where 0 means one per core."""
    return max(1, requested or settings.workers or os.cpu_count() or 1)


def render_options(settings: Settings) -> RenderOptions:
    """Every RenderOptions field from the setting of the same name."""
    values = {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(RenderOptions)
        if f.name != "background"
    }
    return RenderOptions(background=settings.background_rgb, **values)


def process_config(settings: Settings) -> ProcessConfig:
    specs = settings.specs
    return ProcessConfig(
        specs=specs,
        options=render_options(settings),
        keys=settings.key_mapper,
        cache_control=settings.cache_control,
        rules=Rules(settings.rule_list),
        copy_metadata=tuple(n.strip() for n in settings.copy_metadata.split(",") if n.strip()),
        # Joined with one '/' (a base with its slash keeps its manifest fingerprint; one
        # without gets a new one, so its manifests, whose URLs lacked it, are rewritten).
        public_base_url=manifest.base_prefix(settings.public_base_url),
        manifest_main=settings.manifest_main,
        origin_public_url=manifest.base_prefix(settings.origin_public_url),
        adhoc_template=settings.origin_key_template,
    )


def notifiers(settings: Settings) -> list[Notifier]:
    """The notifiers the settings ask for (none by default)."""
    from thumbsmith.errors import ConfigError

    out: list[Notifier] = []
    if settings.notify_eventbridge_bus:
        from thumbsmith.adapters.aws import ClientOptions, events_client
        from thumbsmith.adapters.notify.eventbridge import EventBridgeNotifier

        options = ClientOptions(retry_attempts=3, read_timeout=settings.notify_timeout)
        out.append(EventBridgeNotifier(events_client(options), settings.notify_eventbridge_bus))
    if settings.notify_webhook_url:
        from thumbsmith.adapters.notify.webhook import WebhookNotifier

        if not settings.notify_webhook_secret:
            # Unsigned, anyone who learns the URL could announce renditions.
            raise ConfigError(
                "setting 'notify_webhook_secret' (THUMBSMITH_NOTIFY_WEBHOOK_SECRET) is "
                "required with notify_webhook_url, to sign each webhook"
            )
        out.append(
            WebhookNotifier(
                settings.notify_webhook_url,
                settings.notify_webhook_secret,
                timeout=settings.notify_timeout,
                attempts=settings.notify_attempts,
            )
        )
    return out


def processor(store: Store, settings: Settings) -> Processor:
    return Processor(store, process_config(settings), notifiers(settings))


def client_options(settings: Settings, service: Literal["s3", "sqs"]) -> ClientOptions:
    from thumbsmith.adapters.aws import ClientOptions

    return ClientOptions(
        endpoint_url=settings.s3_endpoint_url if service == "s3" else settings.sqs_endpoint_url,
        retry_attempts=settings.retry_attempts,
        read_timeout=settings.read_timeout,
        long_poll_wait=settings.poll_wait if service == "sqs" else 0,
    )


def s3_store(settings: Settings) -> S3Store:
    from thumbsmith.adapters.aws import s3_client
    from thumbsmith.adapters.storage.s3 import S3Store

    return S3Store(s3_client(client_options(settings, "s3")))


def sqs_queue(settings: Settings, url: str) -> SqsQueue:
    from thumbsmith.adapters.aws import sqs_client
    from thumbsmith.adapters.queue.sqs import SqsQueue

    return SqsQueue(sqs_client(client_options(settings, "sqs")), url)
