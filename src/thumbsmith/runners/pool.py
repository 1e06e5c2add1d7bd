"""The process pool that backfill and watch share: fresh children, one Processor each."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from thumbsmith.errors import ThumbsmithError
from thumbsmith.runners import bootstrap
from thumbsmith.runners.target import Target
from thumbsmith.service.dispatch import classify
from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.process import Processor
from thumbsmith.settings import Settings

_processor: Processor | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """One event's end, small enough to pickle: ``status`` is an Outcome status
    (written, skipped, deleted, ignored) or a :class:`~thumbsmith.service.dispatch.Failure`."""

    uri: str  # s3://bucket/key, what the object is (serve's page keys on it)
    status: str
    message: str = ""
    ms: float = 0.0  # process() wall time (serve shows it as the render time)
    name: str = ""  # how the line names it: a local file's path; empty: the uri

    @property
    def shown(self) -> str:
        return self.name or self.uri

    @property
    def failed(self) -> bool:
        return self.status not in ("written", "skipped", "deleted", "ignored")

    @property
    def line(self) -> str:
        """What the CLI prints for it (watch, serve's page)."""
        if self.failed:
            return f"error: {self.message}"
        reason = f" ({self.message})" if self.message else ""
        return f"{self.status}: {self.shown}{reason}"


def context() -> multiprocessing.context.BaseContext:
    """Start children fresh ("spawn"), never by fork.

    A forked child inherits libvips' and glib's thread pools mid-state from a parent that
    has already rendered (tests, watch, a warm CLI) and can deadlock in its first call.
    """
    return multiprocessing.get_context("spawn")


def exit_with_parent(poll: float = 1.0) -> None:
    """In a child: exit as soon as the parent is gone.

    A parent killed with SIGKILL (the OOM killer, ``kill -9``) never shuts its pool down,
    and the children, which hold both ends of the pool's queues, would wait on them for
    ever. Whatever they were doing is lost with the parent anyway: its sender retries.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def new_pool(target: Target, settings: Settings, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context(),
        initializer=_init_child,
        initargs=(target, settings),
    )


def _init_child(target: Target, settings: Settings) -> None:
    global _processor
    # Ctrl-C reaches the whole process group: the parent decides when to stop (and its
    # pool then ends the children), so a child neither dies mid-job nor prints a trace.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    bootstrap.start(settings)
    _processor = bootstrap.processor(target.open(settings), settings)


def run_one(event: ObjectEvent) -> Result:
    """Runs in a child: process one event, classify a failure the way every runner does."""
    assert _processor is not None, "pool initializer did not run"
    name = _processor.object_name(event.bucket, event.key)
    try:
        outcome = _processor.process(event)
    except Exception as exc:  # a bug must not take the whole run down
        if isinstance(exc, ThumbsmithError):
            message = str(exc)  # already names the object
        else:
            message = f"{name}: unexpected {type(exc).__name__}: {exc}"
        return Result(event.uri, classify(exc).value, message, name=name)
    return Result(event.uri, outcome.status, outcome.reason, outcome.ms, name=name)
