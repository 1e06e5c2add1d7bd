"""``thumbsmith sync``: make the output bucket match the sources, in one pass.

1. Render what is missing or stale, exactly as backfill does (same pool, same
   idempotent :meth:`Processor.process`).
2. Delete what thumbsmith wrote for sources that are gone: the output bucket is listed
   and each object judged by :class:`thumbsmith.service.orphans.Orphans` (its metadata
   decides, never its key's shape; anything thumbsmith did not write is never touched).

Both halves are idempotent, so an interrupted run is finished by the next one, and a
run with nothing to do writes and deletes nothing: safe from cron. A source that fails
for good is recorded and skipped ("known bad") until it or the settings change, so it
fails one run, not every run. A stop (SIGINT, SIGTERM) ends the run within about a
second (see :mod:`thumbsmith.runners.backfill`). With ``dry_run`` nothing is written or
deleted; the summary says what would be: renditions, manifests and orphans.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from thumbsmith.errors import BucketNotFound, ObjectNotFound, ThumbsmithError
from thumbsmith.runners import bootstrap
from thumbsmith.runners.backfill import backfill, describe, stopped_by
from thumbsmith.runners.target import Target
from thumbsmith.service.failures import Remember
from thumbsmith.service.orphans import Action, Orphans, Verdict
from thumbsmith.service.outcome import EventResult, Status
from thumbsmith.service.ports import ObjectInfo, Store, object_name
from thumbsmith.settings import Settings

HEAD_THREADS = 8

OnLine = Callable[[str], None]


@dataclass
class SyncSummary:
    dry_run: bool = False
    sources: int = 0
    rendered: dict[str, int] = field(default_factory=dict)  # status -> count
    would_render: list[str] = field(default_factory=list)  # dry run: rendition URIs
    would_publish: list[str] = field(default_factory=list)  # dry run: manifest URIs
    known_bad: int = 0  # dry run: sources it would skip as failed for good before
    deleted: list[str] = field(default_factory=list)  # (or would delete, in a dry run)
    foreign: int = 0  # output objects thumbsmith did not write: left alone
    kept: int = 0  # thumbsmith objects whose source exists (or lies outside the prefix)
    failures: list[str] = field(default_factory=list)
    stopped_by: str = ""  # the signal that cut the run short
    stopped_while: str = ""  # "rendering" or "deleting orphans"

    @property
    def failed(self) -> int:
        return len(self.failures)

    def line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        if self.dry_run:
            render = (
                f"{len(self.would_render)} rendition(s) and {len(self.would_publish)} "
                "manifest(s) to write"
            )
            if self.known_bad:
                render += ", " + describe({Status.KNOWN_BAD: self.known_bad})
        else:
            render = describe(self.rendered) or "none"
        text = (
            f"{self.sources} source(s): {render}; {verb} {len(self.deleted)} orphaned "
            f"object(s); {self.kept} kept; {self.foreign} not thumbsmith's, left alone"
            + (f"; {self.failed} failed" if self.failures else "")
        )
        if self.stopped_by:
            return (
                f"stopped by {self.stopped_by} while {self.stopped_while}: {text}; "
                "the next run does the rest"
            )
        return text


def sync(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    dry_run: bool = False,
    remember: Remember = Remember.SKIP,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
    on_line: OnLine | None = None,
    on_result: Callable[[EventResult], None] | None = None,
) -> SyncSummary:
    """One pass; ``on_start(sources)`` once the sources are listed. ``stop``: set it to
    end the run early (renders in flight get a short grace; the summary says so)."""
    settings = target.settings_for(settings)
    summary = SyncSummary(dry_run=dry_run)
    say = on_line or (lambda line: None)
    stop = stop or threading.Event()
    if dry_run:
        _plan_renders(target, settings, summary, say, remember, stop, on_start)
    else:
        rendered = backfill(
            target,
            settings,
            workers=workers,
            remember=remember,
            stop=stop,
            on_start=on_start,
            on_result=on_result,
        )
        summary.sources = rendered.total
        summary.rendered = dict(rendered.counts)
        summary.failures += rendered.failures
    if stop.is_set():
        summary.stopped_while = "rendering"
    else:
        _delete_orphans(target, settings, summary, say, stop)
        summary.stopped_while = "deleting orphans"  # read only when a stop came
    if stop.is_set():
        summary.stopped_by = stopped_by(stop)
    return summary


def _until(stop: threading.Event, items: Iterable[ObjectInfo]) -> Iterator[ObjectInfo]:
    """A listing that ends early once ``stop`` is set."""
    return itertools.takewhile(lambda _: not stop.is_set(), items)


def _sources(
    store: Store, target: Target, settings: Settings, stop: threading.Event
) -> dict[str, ObjectInfo]:
    """Every source under the synced prefix (and the rules' prefixes), as backfill lists."""
    return {
        info.key: info
        for prefix in target.prefixes_or(settings)
        for info in _until(stop, store.list(target.bucket, prefix))
        if not info.key.endswith("/")
    }


def _plan_renders(
    target: Target,
    settings: Settings,
    summary: SyncSummary,
    say: OnLine,
    remember: Remember,
    stop: threading.Event,
    on_start: Callable[[int], None] | None,
) -> None:
    store = target.open(settings)
    processor = bootstrap.processor(store, settings)
    sources = _sources(store, target, settings, stop)
    summary.sources = len(sources)
    if on_start and not stop.is_set():
        on_start(len(sources))
    out_bucket = processor.keys.output_bucket(target.bucket)
    for key in sources:
        if stop.is_set():
            return
        if not processor.keys.accepts(key):
            continue
        try:
            plan = processor.pending(target.bucket, key, remember)
        except ObjectNotFound:
            continue  # deleted since the listing
        except ThumbsmithError as exc:
            summary.failures.append(str(exc.for_object(processor.object_name(target.bucket, key))))
            continue
        if plan.known_bad:
            summary.known_bad += 1
            say(f"would skip {processor.object_name(target.bucket, key)} (known bad)")
        for out_key in plan.renditions:
            uri = processor.object_name(out_bucket, out_key)
            summary.would_render.append(uri)
            say(f"would render {uri}")
        if plan.manifest:
            uri = processor.object_name(out_bucket, plan.manifest)
            summary.would_publish.append(uri)
            say(f"would write {uri}")


def _delete_orphans(
    target: Target, settings: Settings, summary: SyncSummary, say: OnLine, stop: threading.Event
) -> None:
    store = target.open(settings)
    orphans = Orphans(
        store,
        bootstrap.process_config(settings).keys,
        target.bucket,
        tuple(target.prefixes_or(settings)),
        settings.origin_key_template,
    )
    sources = _sources(store, target, settings, stop)  # listed before the outputs: see judge
    summary.sources = summary.sources or len(sources)
    try:
        listing = _until(stop, store.list(orphans.out_bucket))
        outputs = orphans.candidates((i.key for i in listing), sources)
    except BucketNotFound:
        return  # no output bucket: nothing thumbsmith wrote can be orphaned
    # Judged in order, a bounded window of HEADs ahead; a stop drops the HEADs not yet
    # sent (the next run judges those objects again).
    window: deque[cf.Future[Verdict]] = deque()
    with cf.ThreadPoolExecutor(HEAD_THREADS) as threads:
        for key in outputs:
            if stop.is_set():
                break
            window.append(threads.submit(orphans.judge, key, sources))
            if len(window) >= HEAD_THREADS * 4:
                _settle(store, orphans.out_bucket, window.popleft().result(), summary, say)
        while window and not stop.is_set():
            _settle(store, orphans.out_bucket, window.popleft().result(), summary, say)
        for future in window:
            future.cancel()


def _settle(
    store: Store, out_bucket: str, verdict: Verdict, summary: SyncSummary, say: OnLine
) -> None:
    uri = object_name(store, out_bucket, verdict.key)
    if verdict.action is Action.FOREIGN:
        summary.foreign += 1
    elif verdict.action is Action.KEEP:
        summary.kept += 1
    elif verdict.action is Action.FAILED:
        summary.failures.append(verdict.detail)
    elif summary.dry_run:
        summary.deleted.append(uri)
        say(f"would delete {uri} (source {verdict.detail!r} is gone)")
    else:
        try:
            store.delete(out_bucket, verdict.key)
        except ThumbsmithError as exc:
            summary.failures.append(str(exc))
            return
        summary.deleted.append(uri)
        say(f"deleted {uri} (source {verdict.detail!r} is gone)")
