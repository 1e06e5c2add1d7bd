"""``thumbsmith sync``: make the output bucket match the sources, in one pass.

1. Render what is missing or stale, exactly as backfill does (same pool, same
   idempotent :meth:`Processor.process`).
2. Delete what thumbsmith wrote for sources that are gone: the output bucket is listed
   and each object judged by :class:`thumbsmith.service.orphans.Orphans` (its metadata
   decides, never its key's shape; anything thumbsmith did not write is never touched).

Both halves are idempotent, so an interrupted run is finished by the next one, and a
run with nothing to do writes and deletes nothing: safe from cron. With ``dry_run``
nothing is written or deleted; the summary says what would be.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from dataclasses import dataclass, field

from thumbsmith.errors import BucketNotFound, ObjectNotFound, ThumbsmithError
from thumbsmith.runners import bootstrap
from thumbsmith.runners.backfill import backfill
from thumbsmith.runners.target import Target
from thumbsmith.service.orphans import Action, Orphans, Verdict
from thumbsmith.service.outcome import EventResult
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
    deleted: list[str] = field(default_factory=list)  # (or would delete, in a dry run)
    foreign: int = 0  # output objects thumbsmith did not write: left alone
    kept: int = 0  # thumbsmith objects whose source exists (or lies outside the prefix)
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        if self.dry_run:
            render = f"{len(self.would_render)} rendition(s) to render"
        else:
            render = ", ".join(f"{n} {s}" for s, n in sorted(self.rendered.items())) or "none"
        return (
            f"{self.sources} source(s): {render}; {verb} {len(self.deleted)} orphaned "
            f"object(s); {self.kept} kept; {self.foreign} not thumbsmith's, left alone"
            + (f"; {self.failed} failed" if self.failures else "")
        )


def sync(
    target: Target,
    settings: Settings,
    *,
    workers: int | None = None,
    dry_run: bool = False,
    on_line: OnLine | None = None,
    on_result: Callable[[EventResult], None] | None = None,
) -> SyncSummary:
    settings = target.settings_for(settings)
    summary = SyncSummary(dry_run=dry_run)
    say = on_line or (lambda line: None)
    if dry_run:
        _plan_renders(target, settings, summary, say)
    else:
        rendered = backfill(target, settings, workers=workers, on_result=on_result)
        summary.rendered = dict(rendered.counts)
        summary.failures += rendered.failures
    _delete_orphans(target, settings, summary, say)
    return summary


def _sources(store: Store, target: Target, settings: Settings) -> dict[str, ObjectInfo]:
    """Every source under the synced prefix (and the rules' prefixes), as backfill lists."""
    return {
        info.key: info
        for prefix in target.prefixes_or(settings)
        for info in store.list(target.bucket, prefix)
        if not info.key.endswith("/")
    }


def _plan_renders(target: Target, settings: Settings, summary: SyncSummary, say: OnLine) -> None:
    store = target.open(settings)
    processor = bootstrap.processor(store, settings)
    sources = _sources(store, target, settings)
    summary.sources = len(sources)
    for key in sources:
        if not processor.keys.accepts(key):
            continue
        try:
            pending = processor.pending(target.bucket, key)
        except ObjectNotFound:
            continue  # deleted since the listing
        except ThumbsmithError as exc:
            summary.failures.append(str(exc.for_object(processor.object_name(target.bucket, key))))
            continue
        out_bucket = processor.keys.output_bucket(target.bucket)
        for out_key in pending:
            uri = processor.object_name(out_bucket, out_key)
            summary.would_render.append(uri)
            say(f"would render {uri}")


@dataclass(frozen=True, slots=True)
class _Verdict:
    key: str
    action: str  # "delete", "keep", "foreign", "failed"
    detail: str = ""


def _delete_orphans(target: Target, settings: Settings, summary: SyncSummary, say: OnLine) -> None:
    store = target.open(settings)
    orphans = Orphans(
        store,
        bootstrap.process_config(settings).keys,
        target.bucket,
        tuple(target.prefixes_or(settings)),
    )
    sources = _sources(store, target, settings)  # listed before the outputs: see judge
    summary.sources = summary.sources or len(sources)
    try:
        outputs = orphans.candidates((i.key for i in store.list(orphans.out_bucket)), sources)
    except BucketNotFound:
        return  # no output bucket: nothing thumbsmith wrote can be orphaned
    with cf.ThreadPoolExecutor(HEAD_THREADS) as threads:
        for verdict in threads.map(lambda key: orphans.judge(key, sources), outputs):
            _settle(store, orphans.out_bucket, verdict, summary, say)


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
