"""Process every object that already exists under a prefix, in parallel, resumably.

Each object goes through the same :meth:`Processor.process` as a live event, so
renditions already made from the current source are skipped: a rerun after a crash
finishes the job without redoing work.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from thumbsmith.errors import ThumbsmithError
from thumbsmith.events import EventKind, ObjectEvent
from thumbsmith.process import Processor
from thumbsmith.settings import Settings
from thumbsmith.storage.open import Target

_processor: Processor | None = None


def worker_context() -> multiprocessing.context.BaseContext:
    """Start worker processes fresh ("spawn"), never by fork.

    A forked child inherits libvips' and glib's thread pools mid-state from a parent that
    has already rendered (tests, watch, a warm CLI) and can deadlock in its first call.
    """
    return multiprocessing.get_context("spawn")


def _init_worker(target: Target, settings: Settings) -> None:
    global _processor
    from thumbsmith.imaging import configure

    configure(settings)
    _processor = Processor(target.open(settings), settings)


def _run_one(event: ObjectEvent) -> tuple[str, str, str]:
    """Runs in a worker process; returns (uri, status, message) so results pickle small."""
    assert _processor is not None
    try:
        outcome = _processor.process(event)
    except ThumbsmithError as exc:
        return event.uri, "permanent" if exc.permanent else "transient", str(exc)
    except Exception as exc:  # a bug must not take the whole backfill down
        return event.uri, "transient", f"{event.uri}: unexpected {type(exc).__name__}: {exc}"
    return event.uri, outcome.status, outcome.reason


@dataclass
class Summary:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def line(self) -> str:
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        return f"{self.total} objects: {parts or 'nothing to do'}"


def _events(target: Target, settings: Settings) -> Iterator[ObjectEvent]:
    store = target.open(settings)
    prefix = settings.prefix if target.prefix is None else target.prefix
    for info in store.list(target.bucket, prefix):
        if info.key.endswith("/"):
            continue
        yield ObjectEvent(target.bucket, info.key, EventKind.CREATED, source="backfill")


def backfill(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> Summary:
    """Process every object under the target's prefix; one error line per failure."""
    from tqdm import tqdm

    if target.prefix is not None and target.prefix != settings.prefix:
        settings = settings.replace(prefix=target.prefix)
    workers = workers or settings.workers or os.cpu_count() or 1
    summary = Summary()
    events = list(_events(target, settings))
    summary.total = len(events)
    bar = tqdm(total=len(events), unit="img", disable=not progress, file=sys.stderr)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=worker_context(),
        initializer=_init_worker,
        initargs=(target, settings),
    ) as pool:
        # Bounded in-flight window: a million-object listing must not become a million
        # queued futures.
        pending: set[Future[tuple[str, str, str]]] = set()

        def drain_one() -> None:
            nonlocal pending
            done, pending = wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                _, status, message = fut.result()
                summary.counts[status] = summary.counts.get(status, 0) + 1
                if status in ("permanent", "transient"):
                    summary.failures.append(message)
                    bar.write(f"error: {message}", file=sys.stderr)
                bar.update(1)

        for event in events:
            pending.add(pool.submit(_run_one, event))
            if len(pending) >= workers * 4:
                drain_one()
        while pending:
            drain_one()
    bar.close()
    return summary
