"""``thumbsmith watch ROOT/BUCKET``: a folder that behaves like a bucket with notifications.

A file is handled once it is complete: on inotify's close-after-write, or once its size
and mtime have stayed still for ``settle`` seconds (copies over a network share, tools
that write without closing). Deleting a source deletes its renditions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from thumbsmith.adapters.storage.local import LocalStore, is_temp_name
from thumbsmith.runners import bootstrap, pool
from thumbsmith.runners.target import Target
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.service.outcome import EventResult
from thumbsmith.settings import Settings


class _Pending:
    """Paths waiting to settle, keyed by key, with the last (size, mtime) seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, tuple[EventKind, float, tuple[int, float] | None]] = {}

    def touch(self, key: str, kind: EventKind, *, ready: bool = False) -> None:
        with self.lock:
            self.items[key] = (kind, 0.0 if ready else time.monotonic(), None)


def watch(
    target: Target,
    settings: Settings,
    *,
    on_result: Callable[[EventResult], None],
    workers: int | None = None,
    settle: float = 0.5,
    stop: threading.Event | None = None,
    existing: bool = False,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Watch until ``stop`` is set (without one: until SIGINT or SIGTERM, whatever this
    process inherited); ``on_result`` is called for each event.

    ``existing``: also process the files already there once the observer runs (the CLI
    and serve catch up on what arrived while they were down; up-to-date ones are
    skipped), so nothing dropped in between a listing and the observer's start is missed.
    ``on_ready(n)`` once the observer runs and signals stop it, ``n`` being the files
    already there that are checked first (0 without ``existing``).
    """
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    settings = target.settings_for(settings)
    count = bootstrap.worker_count(settings, workers)
    store = LocalStore(target.root)
    base = store.bucket_path(target.bucket)
    stop = stop or bootstrap.stop_on_signals()
    pending = _Pending()

    def key_for(path: str) -> str | None:
        try:
            key = Path(path).relative_to(base).as_posix()
        except ValueError:
            return None
        name = key.rsplit("/", 1)[-1]
        if is_temp_name(name) or not key.startswith(settings.prefixes):
            return None
        return key

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.is_directory:
                return
            src = key_for(str(event.src_path))
            dest = key_for(str(getattr(event, "dest_path", "") or ""))
            kind = event.event_type
            if kind in ("created", "modified") and src:
                pending.touch(src, EventKind.CREATED)
            elif kind == "closed" and src:
                pending.touch(src, EventKind.CREATED, ready=True)
            elif kind == "deleted" and src:
                pending.touch(src, EventKind.REMOVED, ready=True)
            elif kind == "moved":
                if src:
                    pending.touch(src, EventKind.REMOVED, ready=True)
                if dest:
                    pending.touch(dest, EventKind.CREATED, ready=True)

    observer = Observer()
    observer.schedule(Handler(), str(base), recursive=True)
    observer.start()
    caught_up = 0
    if existing:
        for prefix in target.prefixes_or(settings):
            for info in store.list(target.bucket, prefix):
                if key_for(str(base / info.key)) is not None:
                    pending.touch(info.key, EventKind.CREATED, ready=True)
                    caught_up += 1
    if on_ready is not None:
        on_ready(caught_up)
    futures: dict[Future[EventResult], ObjectEvent] = {}
    renderers = pool.RenderPool(pool.ChildSetup(settings, target), count)
    try:
        while not stop.is_set():
            for key, kind in _due(pending, base, settle):
                event = ObjectEvent(target.bucket, key, kind, source="watch")
                futures[renderers.submit(pool.run_event, event)] = event
            for fut in [f for f in futures if f.done()]:
                on_result(pool.event_result(fut, futures.pop(fut)))
            stop.wait(0.05)
    finally:
        observer.stop()
        # A stop must be quick (Ctrl-C, a supervisor's SIGTERM): renders in flight get a
        # moment to finish, then their children are killed. Writes are atomic, so a
        # killed render leaves nothing half-written; the next start catches up on it.
        renderers.shutdown(grace=pool.STOP_GRACE_S, cancel=True)
        for fut, event in futures.items():
            if fut.done() and not fut.cancelled():
                on_result(pool.event_result(fut, event))
        observer.join()


def _due(pending: _Pending, base: Path, settle: float) -> list[tuple[str, EventKind]]:
    """Keys whose file is complete (or gone), removed from the pending set."""
    now = time.monotonic()
    due: list[tuple[str, EventKind]] = []
    with pending.lock:
        for key, (kind, since, last) in list(pending.items.items()):
            if kind is EventKind.REMOVED:
                due.append((key, kind))
                del pending.items[key]
                continue
            try:
                st = (base / key).stat()
            except FileNotFoundError:
                del pending.items[key]  # its deletion event follows
                continue
            sig = (st.st_size, st.st_mtime)
            if since == 0.0 or (last == sig and now - since >= settle):
                due.append((key, kind))
                del pending.items[key]
            elif last != sig:
                pending.items[key] = (kind, now, sig)
    return due
