"""``thumbsmith worker --queue-url URL``: a long-running SQS consumer for self-hosted fleets.

The parent process polls, dispatches and acknowledges; image work runs in a pool of
processes (CPU-bound, so threads would share one core), each with its own S3 client and
:class:`~thumbsmith.service.process.Processor` built once by the pool initializer.

Message life cycle:

* received with the configured visibility timeout, handed to a child;
* while the child works, the parent extends the visibility (ChangeMessageVisibility)
  every half timeout, so a long job is never handed to a second consumer;
* the message is deleted only when :func:`thumbsmith.service.dispatch.handle` says DONE, i.e.
  after every rendition was written (or the image failed for good and was logged);
* RETRY (transient) puts it back after a backoff that grows with its receive count;
  POISON (unparseable) too, or at once when the queue has a redrive policy, so it
  reaches the DLQ after maxReceiveCount receives instead of lingering.

SIGTERM/SIGINT (handled whatever the worker inherited, SIGINT ignored included) stop
the polling; jobs in flight finish and are acknowledged, messages received but not
started are released (ChangeMessageVisibility 0), and the worker exits 0. Children
ignore those signals so a Ctrl-C or a cgroup-wide SIGTERM cannot cut a job in half.

An idle worker stops within about a second: a long poll cannot be cut short (SQS hands
the messages of an abandoned poll to nobody and hides them for the visibility timeout),
so it waits at most ``poll_wait`` seconds (1 by default), and the stop waits for the
poll in progress and releases what it brought. With poll_wait 20 an idle worker makes 20
times fewer empty receives (about 4,300 a day instead of 86,400) but a stop takes up to
20 s.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from thumbsmith.errors import ThumbsmithError
from thumbsmith.runners import bootstrap, pool
from thumbsmith.service.dispatch import MessageSummary, Verdict
from thumbsmith.service.ports import Message, Queue
from thumbsmith.settings import Settings

log = logging.getLogger("thumbsmith")

MAX_BACKOFF = 900  # seconds: SQS itself allows up to 12 h, but an outage rarely lasts 15 min


# --- parent side ---------------------------------------------------------------------
@dataclass(slots=True)
class _InFlight:
    message_id: str
    receipt: str
    receive_count: int
    started: float
    visible_until: float


@dataclass(slots=True)
class Stats:
    received: int = 0
    done: int = 0
    retried: int = 0
    poison: int = 0
    released: int = 0
    renditions: int = 0
    permanent: int = 0
    extended: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        queue: Queue,
        settings: Settings,
        *,
        concurrency: int | None = None,
        max_messages: int | None = None,
        idle_exit: float | None = None,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.concurrency = bootstrap.worker_count(settings, concurrency)
        self.max_messages = max_messages
        self.idle_exit = idle_exit
        self.visibility = settings.visibility_timeout
        self.stopping = False
        self.stats = Stats()
        self.has_redrive = False
        self._inflight: dict[cf.Future[MessageSummary], _InFlight] = {}
        self._pool: pool.RenderPool | None = None
        self._stop = threading.Event()  # set with `stopping`: sleeps wake up at once

    # --- setup -----------------------------------------------------------------------
    def check_queue(self) -> None:
        """Fail fast, with the URL in the message, when the queue is not there."""
        self.has_redrive = self.queue.has_redrive()
        if not self.has_redrive:
            log.warning(
                "queue has no redrive policy: unparseable messages will be retried with "
                "backoff forever instead of moving to a dead-letter queue",
                extra={"queue": self.queue.url},
            )

    def _new_pool(self) -> pool.RenderPool:
        return pool.RenderPool(pool.ChildSetup(self.settings, logs="json"), self.concurrency)

    def _on_signal(self, signum: int) -> None:
        if not self.stopping:
            log.warning(
                "stopping: finishing jobs in flight",
                extra={"signal": signal.Signals(signum).name, "in_flight": len(self._inflight)},
            )
        self.stopping = True

    # --- loop ------------------------------------------------------------------------
    def run(self) -> Stats:
        self.check_queue()
        with bootstrap.stopping_on_signals(note=self._on_signal) as self._stop:
            return self._run()

    def _run(self) -> Stats:
        self._pool = self._new_pool()
        log.info(
            "worker started",
            extra={"queue": self.queue.url, "concurrency": self.concurrency},
        )
        idle_since = time.monotonic()
        try:
            while True:
                self._reap(timeout=0)
                self._extend()
                if self._done_receiving():
                    if not self._inflight:
                        break
                    self._reap(timeout=1.0)
                    continue
                free = self.concurrency - len(self._inflight)
                if free <= 0:
                    self._reap(timeout=1.0)
                    continue
                messages = self._receive(free)
                if messages or self._inflight:
                    idle_since = time.monotonic()
                elif self.idle_exit is not None and time.monotonic() - idle_since >= self.idle_exit:
                    log.info("queue idle: exiting", extra={"idle_s": self.idle_exit})
                    break
                for message in messages:
                    if self.stopping:
                        self._release(message)
                    else:
                        self._submit(message)
        finally:
            if self._pool is not None:
                # Jobs in flight finish and are acknowledged: their messages would come
                # back otherwise, and be done twice.
                self._pool.shutdown(grace=self.visibility, cancel=False)
        log.info("worker stopped", extra={"stats": dataclasses.asdict(self.stats)})
        return self.stats

    def _done_receiving(self) -> bool:
        if self.stopping:
            return True
        return self.max_messages is not None and self.stats.received >= self.max_messages

    def _receive(self, free: int) -> list[Message]:
        wanted = min(10, free)
        if self.max_messages is not None:
            wanted = min(wanted, self.max_messages - self.stats.received)
        # Long-poll only when idle: with jobs running, the loop must come back soon to
        # extend visibility and reap results.
        wait = self.settings.poll_wait if not self._inflight else min(self.settings.poll_wait, 1)
        if self.idle_exit is not None:
            wait = min(wait, max(0, int(self.idle_exit)))
        try:
            messages = self.queue.receive(wanted, wait=wait, visibility=self.visibility)
        except ThumbsmithError as exc:
            # botocore already retried; keep the worker alive through a queue outage.
            log.error("receive failed", extra={"error": str(exc)})
            self._stop.wait(min(5.0, max(1.0, float(wait))))
            return []
        if not messages and wait == 0 and not self._inflight:
            self._stop.wait(1.0)  # short polling (poll_wait 0): do not spin on an empty queue
        self.stats.received += len(messages)
        return messages

    def _submit(self, message: Message) -> None:
        assert self._pool is not None
        now = time.monotonic()
        job = _InFlight(
            message_id=message.id,
            receipt=message.receipt,
            receive_count=message.receive_count,
            started=now,
            visible_until=now + self.visibility,
        )
        self._inflight[self._pool.submit(pool.handle_message, message.body)] = job

    def _reap(self, timeout: float) -> None:
        if not self._inflight:
            if timeout:
                self._stop.wait(min(timeout, 0.2))
            return
        done, _ = cf.wait(self._inflight, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        for future in done:
            job = self._inflight.pop(future)
            try:
                result = future.result()
            except pool.ChildDied as exc:
                # A child died (OOM killer, segfault in a decoder): nothing was
                # acknowledged, so the message simply comes back; the pool replaces it.
                result = MessageSummary(Verdict.RETRY, error=f"worker process died: {exc}")
            except Exception as exc:
                result = MessageSummary(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")
            self._settle(job, result)

    def _settle(self, job: _InFlight, result: MessageSummary) -> None:
        self.stats.by_verdict[result.verdict] = self.stats.by_verdict.get(result.verdict, 0) + 1
        self.stats.renditions += result.written
        self.stats.permanent += result.permanent
        extra = {
            "message_id": job.message_id,
            "verdict": result.verdict.value,
            "ms": round((time.monotonic() - job.started) * 1000, 1),
        }
        if result.verdict is Verdict.DONE:
            self.stats.done += 1
            self._call("delete", job, lambda: self.queue.delete(job.receipt))
            log.debug("message done", extra=extra)
            return
        if result.verdict is Verdict.POISON and self.has_redrive:
            delay = 0  # let the redrive policy count it towards the DLQ right away
            self.stats.poison += 1
        else:
            delay = min(MAX_BACKOFF, 10 * 2 ** max(0, job.receive_count - 1))
            if result.verdict is Verdict.POISON:
                self.stats.poison += 1
            else:
                self.stats.retried += 1
        log.warning("message not done", extra={**extra, "error": result.error, "retry_in_s": delay})
        self._call(
            "change visibility", job, lambda: self.queue.change_visibility(job.receipt, delay)
        )

    def _extend(self) -> None:
        now = time.monotonic()
        for job in self._inflight.values():
            if job.visible_until - now > self.visibility / 2:
                continue

            def extend(job: _InFlight = job) -> None:
                self.queue.change_visibility(job.receipt, self.visibility)

            if self._call("extend visibility", job, extend):
                job.visible_until = now + self.visibility
                self.stats.extended += 1

    def _release(self, message: Message) -> None:
        """Hand a message received after the stop signal straight back to the queue."""
        self.stats.released += 1
        job = _InFlight(message.id, message.receipt, 1, 0.0, 0.0)
        self._call("release", job, lambda: self.queue.change_visibility(job.receipt, 0))

    def _call(self, what: str, job: _InFlight, call: Callable[[], None]) -> bool:
        try:
            call()
        except ThumbsmithError as exc:
            # Worst case the message becomes visible again and is processed once more,
            # which idempotent processing turns into a cheap skip.
            log.error(f"{what} failed", extra={"message_id": job.message_id, "error": str(exc)})
            return False
        return True


def run_worker(
    queue_url: str,
    settings: Settings,
    *,
    concurrency: int | None = None,
    max_messages: int | None = None,
    idle_exit: float | None = None,
) -> Stats:
    """Consume ``queue_url`` until stopped (or idle / the message budget is spent)."""
    bootstrap.start(settings, logs="json")
    worker = Worker(
        bootstrap.sqs_queue(settings, queue_url),
        settings,
        concurrency=concurrency,
        max_messages=max_messages,
        idle_exit=idle_exit,
    )
    return worker.run()
