"""Process every object that already exists under a prefix, in parallel, resumably.

Each object goes through the same :meth:`Processor.process` as a live event, so
renditions already made from the current source are skipped: a rerun after a crash
finishes the job without redoing work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import Target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.outcome import EventResult
from thumbsmith.settings import Settings

OnResult = Callable[[EventResult], None]


@dataclass
class BackfillSummary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def add(self, result: EventResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if result.failed:
            self.failures.append(result.message)

    def line(self) -> str:
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        return f"{self.total} objects: {parts or 'nothing to do'}"


def events(target: Target, settings: Settings) -> Iterator[ObjectEvent]:
    store = target.open(settings)
    for prefix in target.prefixes_or(settings):
        for info in store.list(target.bucket, prefix):
            if info.key.endswith("/"):
                continue
            yield ObjectEvent(target.bucket, info.key, EventKind.CREATED, source="backfill")


def backfill(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: OnResult | None = None,
) -> BackfillSummary:
    """Process every object under the target's prefix; ``on_start(total)`` once the
    listing is done, ``on_result`` after each object (the CLI draws its progress bar)."""
    settings = target.settings_for(settings)
    count = bootstrap.worker_count(settings, workers)
    summary = BackfillSummary()
    todo = list(events(target, settings))
    summary.total = len(todo)
    if on_start:
        on_start(summary.total)
    with pool.RenderPool(pool.ChildSetup(settings, target), count) as renderers:
        # Bounded in-flight window: a million-object listing must not become a million
        # queued futures.
        pending: dict[Future[EventResult], ObjectEvent] = {}

        def drain_one() -> None:
            done, _ = wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                result = pool.event_result(fut, pending.pop(fut))
                summary.add(result)
                if on_result:
                    on_result(result)

        for event in todo:
            pending[renderers.submit(pool.run_event, event)] = event
            if len(pending) >= count * 4:
                drain_one()
        while pending:
            drain_one()
    return summary
