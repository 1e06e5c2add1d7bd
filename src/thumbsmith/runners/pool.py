"""The one render pool: fresh child processes, each set up once, that run jobs one at a
time and can be killed one by one.

Every runner that renders in parallel uses it (backfill, watch, the worker, receive, the
origin). A job is a module-level function and its arguments (:func:`run_event`,
:func:`handle_message`, or a runner's own), run in a child that :func:`start_child` set
up from a :class:`ChildSetup`: signals, the parent watch, :func:`bootstrap.start`, and
one :class:`Processor` on the setup's store.

Unlike ``ProcessPoolExecutor``, each child is driven by its own thread in the parent, so
a job past its ``timeout`` kills exactly the child running it (the others go on), the
queue in front of the children is bounded (:class:`PoolFull` instead of unbounded
memory), and a child that dies (the OOM killer, a segfault in a decoder) fails only its
own job with :class:`ChildDied` and is replaced on the next job.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

from thumbsmith.errors import ThumbsmithError
from thumbsmith.runners import bootstrap
from thumbsmith.runners.target import Target
from thumbsmith.service.dispatch import MessageSummary, classify, handle
from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.failures import Remember
from thumbsmith.service.outcome import EventResult, Failure
from thumbsmith.service.process import Processor
from thumbsmith.settings import Settings

Job = Callable[..., Any]


#: Seconds a stopping runner (watch, backfill, sync) lets renders in flight finish before
#: their children are killed: a Ctrl-C or a SIGTERM must end the process within 2 s.
STOP_GRACE_S = 1.0


class PoolFull(Exception):
    """Every child is busy and the queue in front of them is full."""


class ChildDied(Exception):
    """The child running a job died (or was killed) before it answered."""


class JobTimeout(ChildDied):
    """A job ran past its timeout; its child was killed."""


@dataclass(frozen=True, slots=True)
class ChildSetup:
    """How a child starts (picklable): the settings, where sources live (``None``: S3),
    and the log format."""

    settings: Settings
    target: Target | None = None
    logs: Literal["json", "text", "keep"] = "keep"


# --- child side ----------------------------------------------------------------------
_processor: Processor | None = None


def start_child(setup: ChildSetup) -> None:
    """The one child start-up. The parent decides when to stop: a Ctrl-C or a SIGTERM to
    the whole process group must not cut a job in half or print a trace here."""
    global _processor
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with_parent()
    bootstrap.start(setup.settings, logs=setup.logs)
    store = (
        setup.target.open(setup.settings) if setup.target else bootstrap.s3_store(setup.settings)
    )
    _processor = bootstrap.processor(store, setup.settings)


def processor() -> Processor:
    """This child's Processor (for jobs)."""
    assert _processor is not None, "start_child did not run in this process"
    return _processor


def run_event(event: ObjectEvent, remember: Remember = Remember.OFF) -> EventResult:
    """Job: process one event, classifying a failure the way every runner does."""
    name = processor().object_name(event.bucket, event.key)
    try:
        outcome = processor().process(event, remember)
    except Exception as exc:  # a bug must not take the whole run down
        if isinstance(exc, ThumbsmithError):
            message = str(exc)  # already names the object
        else:
            message = f"{name}: unexpected {type(exc).__name__}: {exc}"
        return EventResult(event.uri, classify(exc), message, name=name)
    return EventResult(event.uri, outcome.status, outcome.reason, outcome.ms, name=name)


def event_result(future: Future[EventResult], event: ObjectEvent) -> EventResult:
    """A finished :func:`run_event` job's result; a child that died with it (a segfault in
    a decoder, the OOM killer, its timeout) is that event's failure, not the run's."""
    try:
        return future.result()
    except ChildDied as exc:
        return EventResult(event.uri, Failure.UNEXPECTED, f"{event.uri}: {exc}")


def handle_message(body: str | bytes) -> MessageSummary:
    """Job: one queue message or notification body, to its verdict."""
    return handle(body, processor()).summary()


def ready() -> bool:
    """Job: nothing; a child that answers it has started."""
    return True


def exit_with_parent(poll: float = 1.0) -> None:
    """In a child: exit as soon as the parent is gone.

    A parent killed with SIGKILL (the OOM killer, ``kill -9``) never shuts its pool down,
    and the children would wait on their pipes for ever. Whatever they were doing is lost
    with the parent anyway: its sender retries.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _child_main(conn: multiprocessing.connection.Connection, setup: ChildSetup) -> None:
    try:
        start_child(setup)
    except BaseException as exc:  # start-up failed: say why, once, and stop
        with contextlib.suppress(Exception):
            conn.send(("startup", exc))
        return
    conn.send(("started", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            answer: tuple[str, object] = ("ok", fn(*args))
        except BaseException as exc:
            answer = ("error", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # an unpicklable result or error: still an answer
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


# --- parent side ---------------------------------------------------------------------
def context() -> multiprocessing.context.SpawnContext:
    """Start children fresh ("spawn"), never by fork.

    A forked child inherits libvips' and glib's thread pools mid-state from a parent that
    has already rendered (tests, watch, a warm CLI) and can deadlock in its first call;
    the parent also has threads (botocore, the pool's own) whose locks a fork copies.
    """
    return multiprocessing.get_context("spawn")


@dataclass(slots=True)
class _Task:
    fn: Job
    args: tuple[Any, ...]
    timeout: float | None
    future: Future[Any]


class _Child:
    """One child process and its end of the pipe, started on first use."""

    def __init__(self, setup: ChildSetup) -> None:
        self.setup = setup
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: multiprocessing.connection.Connection | None = None

    def ensure(self) -> multiprocessing.connection.Connection:
        if self.conn is not None and self.process is not None and self.process.is_alive():
            return self.conn
        self.kill()
        parent_end, child_end = context().Pipe()
        process = context().Process(
            target=_child_main, args=(child_end, self.setup), name="thumbsmith-render", daemon=True
        )
        process.start()
        child_end.close()
        # Known from now on, so a stop (kill) ends a child that is still starting instead
        # of waiting for it to start, take a job and finish it.
        self.process = process
        try:
            kind, error = parent_end.recv()
        except (EOFError, OSError):
            kind, error = "startup", ChildDied("render process died while starting")
        if kind != "started":
            parent_end.close()
            process.join(5)
            self.process = None
            assert isinstance(error, BaseException)
            raise error
        self.conn = parent_end
        return parent_end

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def stop(self, grace: float) -> None:
        if self.conn is not None and self.process is not None:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.conn.send(None)
            self.process.join(grace)
        self.kill()


class RenderPool:
    """``workers`` children, started lazily (or by :meth:`warm_up`), behind a queue of at
    most ``queue_limit`` waiting jobs (``None``: unbounded, for runners that bound their
    own in-flight window)."""

    def __init__(self, setup: ChildSetup, workers: int, *, queue_limit: int | None = None) -> None:
        self.workers = max(1, workers)
        self._tasks: queue.Queue[_Task | None] = queue.Queue()
        self._queue_limit = queue_limit
        self._lock = threading.Lock()
        self._waiting = 0  # queued, not yet taken by a child's driver
        self._busy = 0  # jobs running in a child
        self._closed = False
        self._children = [_Child(setup) for _ in range(self.workers)]
        self._drivers = [
            threading.Thread(target=self._drive, args=(c,), name=f"render-{i}", daemon=True)
            for i, c in enumerate(self._children)
        ]
        for driver in self._drivers:
            driver.start()

    def submit(self, fn: Job, *args: Any, timeout: float | None = None) -> Future[Any]:
        """Queue ``fn(*args)`` for a child. Raises :class:`PoolFull` when the queue is at
        its limit, :class:`RuntimeError` once the pool is shut down."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the render pool is shut down")
            idle = self.workers - self._busy - self._waiting
            if self._queue_limit is not None and -idle >= self._queue_limit:
                raise PoolFull(
                    f"all {self.workers} render processes are busy and {self._waiting} renders wait"
                )
            self._waiting += 1
        self._tasks.put(_Task(fn, args, timeout, future))
        return future

    @property
    def busy(self) -> int:
        """Jobs running or waiting for a child."""
        with self._lock:
            return self._busy + self._waiting

    def warm_up(self) -> None:
        """Start every child now, so a start-up error surfaces before work arrives."""
        for future in [self.submit(ready) for _ in range(self.workers)]:
            future.result()

    def shutdown(self, *, grace: float = 30.0, cancel: bool = False) -> None:
        """Stop: jobs not yet started are cancelled (``cancel``) or run first; each child
        then gets ``grace`` seconds to finish its job before it is killed."""
        with self._lock:
            self._closed = True
        if cancel:
            for task in self._drain():
                task.future.cancel()
        for _ in self._drivers:
            self._tasks.put(None)
        deadline = time.monotonic() + grace
        for driver in self._drivers:
            driver.join(max(0.0, deadline - time.monotonic()))
        for child in self._children:
            child.kill()

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _drain(self) -> Iterator[_Task]:
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            if task is None:
                continue
            with self._lock:
                self._waiting -= 1
            yield task

    def _drive(self, child: _Child) -> None:
        try:
            while (task := self._tasks.get()) is not None:
                with self._lock:
                    self._waiting -= 1
                    self._busy += 1
                try:
                    if task.future.set_running_or_notify_cancel():
                        self._run(child, task)
                finally:
                    with self._lock:
                        self._busy -= 1
        finally:
            child.stop(grace=5.0)

    def _run(self, child: _Child, task: _Task) -> None:
        try:
            conn = child.ensure()
            conn.send((task.fn, task.args))
        except BaseException as exc:
            child.kill()
            task.future.set_exception(exc if isinstance(exc, Exception) else ChildDied(str(exc)))
            return
        try:
            if not conn.poll(task.timeout):
                child.kill()
                task.future.set_exception(
                    JobTimeout(f"render ran past {task.timeout:g} s; its process was killed")
                )
                return
            kind, value = conn.recv()
        except (EOFError, OSError) as exc:
            child.kill()
            task.future.set_exception(ChildDied(f"render process died: {exc or 'no answer'}"))
            return
        if kind == "ok":
            task.future.set_result(value)
        else:
            task.future.set_exception(value)
