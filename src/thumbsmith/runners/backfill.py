"""Process every object that already exists under a prefix, in parallel, resumably.

Each object goes through the same :meth:`Processor.process` as a live event, so
renditions already made from the current source are skipped: a rerun after a crash
finishes the job without redoing work. A source that fails for good is recorded and
skipped by later runs until it changes (:mod:`thumbsmith.service.failures`).

A stop (the ``stop`` event, which the CLI sets on SIGINT or SIGTERM) ends the run within
about a second: nothing new starts, renders in flight get :data:`pool.STOP_GRACE_S` to
finish, then their children are killed. Writes are atomic, so a killed render leaves
nothing half-written, and the next run does what this one did not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import Target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.failures import Remember
from thumbsmith.service.outcome import EventResult, Status
from thumbsmith.settings import Settings

OnResult = Callable[[EventResult], None]


@dataclass
class BackfillSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stopped_by: str = ""  # the signal (or "stop") that cut the run short; "" when it ran out
    listed_all: bool = True  # False: stopped while listing, so ``total`` is a lower bound

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def add(self, result: EventResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if result.failed:
            self.failures.append(result.message)

    def parts(self) -> str:
        return describe(self.counts)

    def line(self) -> str:
        if self.stopped_by:
            total = f"{self.total}{'' if self.listed_all else '+'}"
            done = f" ({self.parts()})" if self.counts else ""
            return (
                f"stopped by {self.stopped_by}: {self.done} of {total} objects done{done}; "
                "the next run does the rest"
            )
        return f"{self.total} objects: {self.parts() or 'nothing to do'}"


def describe(counts: Mapping[str, int]) -> str:
    """``3 written, 1 known bad (...)``: what became of the objects done, by status."""
    shown = []
    for status, n in sorted(counts.items()):
        if status == Status.KNOWN_BAD:
            shown.append(f"{n} known bad (skipped; --retry-failed to try again)")
        else:
            shown.append(f"{n} {status}")
    return ", ".join(shown)


def events(target: Target, settings: Settings) -> Iterator[ObjectEvent]:
    store = target.open(settings)
    for prefix in target.prefixes_or(settings):
        for info in store.list(target.bucket, prefix):
            if info.key.endswith("/"):
                continue
            yield ObjectEvent(target.bucket, info.key, EventKind.CREATED, source="backfill")


def stopped_by(stop: threading.Event) -> str:
    """How a summary names what stopped the run: the signal's name, else ``stop``."""
    return stop.signal_name if isinstance(stop, bootstrap.Stop) else "stop"


def backfill(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    remember: Remember = Remember.SKIP,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: OnResult | None = None,
) -> BackfillSummary:
    """Process every object under the target's prefix; ``on_start(total)`` once the
    listing is done, ``on_result`` after each object (the CLI draws its progress bar).
    ``remember``: skip (default) or retry the sources recorded as failed for good.
    ``stop``: set it to end the run early (the summary says so)."""
    settings = target.settings_for(settings)
    count = bootstrap.worker_count(settings, workers)
    stop = stop or threading.Event()
    summary = BackfillSummary()
    todo: list[ObjectEvent] = []
    for event in events(target, settings):
        if stop.is_set():
            summary.listed_all = False
            break
        todo.append(event)
    summary.total = len(todo)
    if on_start and not stop.is_set():
        on_start(summary.total)
    renderers = pool.RenderPool(pool.ChildSetup(settings, target), count)
    pending: dict[Future[EventResult], ObjectEvent] = {}

    def collect(timeout: float) -> None:
        done, _ = wait(pending, timeout=timeout, return_when="FIRST_COMPLETED")
        for fut in done:
            result = pool.event_result(fut, pending.pop(fut))
            summary.add(result)
            if on_result:
                on_result(result)

    try:
        for event in todo:
            # Bounded in-flight window: a million-object listing must not become a
            # million queued futures.
            while len(pending) >= count * 4 and not stop.is_set():
                collect(0.2)
            if stop.is_set():
                break
            pending[renderers.submit(pool.run_event, event, remember)] = event
        while pending and not stop.is_set():
            collect(0.2)
    finally:
        # A stop: what has not started is dropped, renders in flight get a short grace,
        # then their children are killed; what they did not finish is not counted (the
        # next run does it). Without a stop nothing is pending here but after an error.
        renderers.shutdown(grace=pool.STOP_GRACE_S if stop.is_set() else 30.0, cancel=True)
    for fut in pending:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            result = fut.result()
            summary.add(result)
            if on_result:
                on_result(result)
    if stop.is_set():
        summary.stopped_by = stopped_by(stop)
    return summary
