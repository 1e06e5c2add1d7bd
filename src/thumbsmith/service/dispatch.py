"""One message -> one verdict: the shared decision of the Lambda handler and the worker.

:func:`handle` parses a payload (:func:`thumbsmith.service.events.parse`), processes every event
in it, and says what to do with the message that carried them (done / retry / poison).
Both ways of consuming a queue use it, so they cannot disagree on what is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from thumbsmith.errors import BadEvent, ConfigError, ThumbsmithError
from thumbsmith.service.events import parse
from thumbsmith.service.outcome import Failure, Outcome, Status
from thumbsmith.service.process import Processor

log = logging.getLogger("thumbsmith")


def classify(exc: BaseException) -> Failure:
    """The one failure classification every runner uses (Lambda, worker, backfill, watch)."""
    if isinstance(exc, ConfigError):
        return Failure.CONFIG
    if isinstance(exc, ThumbsmithError):
        return Failure.PERMANENT if exc.permanent else Failure.TRANSIENT
    return Failure.UNEXPECTED


class Verdict(StrEnum):
    DONE = "done"  # every event processed, or failed for good and logged as such
    RETRY = "retry"  # a transient failure: the message must come back later
    POISON = "poison"  # the payload itself is unusable: fail it so the redrive policy
    #                    moves it to the DLQ after maxReceiveCount receives


Recorder = Callable[[str, float, Mapping[str, str]], None]
"""``record(metric_name, value, dimensions)``: how the caller emits a metric."""


@dataclass(slots=True)
class Handled:
    verdict: Verdict
    outcomes: list[Outcome] = field(default_factory=list)
    permanent: list[ThumbsmithError] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.DONE

    def summary(self) -> MessageSummary:
        return MessageSummary(
            verdict=self.verdict,
            error=self.error,
            written=sum(len(o.written) for o in self.outcomes),
            permanent=len(self.permanent),
        )


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """A :class:`Handled`, small and picklable: what a render process reports back."""

    verdict: Verdict
    error: str = ""
    written: int = 0
    permanent: int = 0


def _no_metrics(name: str, value: float, dims: Mapping[str, str]) -> None:
    return None


def handle(payload: object, processor: Processor, record: Recorder | None = None) -> Handled:
    """Parse ``payload`` and process every event in it; say what to do with the message.

    * success, skipped, ignored -> DONE.
    * a permanent failure (corrupt, unsupported, too large, unsafe key) -> logged
      as ``permanent_failure`` with a ``Failures`` metric, and DONE: retrying a bad
      image gives the same bad image, and must not block the queue.
    * a transient failure, a configuration error (e.g. the recursion guard) or an
      unexpected exception -> RETRY. The other events of the payload are still
      processed; idempotence makes the retry cheap for those.
    * an unparseable payload -> POISON.
    """
    record = record or _no_metrics
    try:
        events = parse(payload)
    except BadEvent as exc:
        log.error("bad_event", extra={"kind": exc.kind, "reason": exc.reason})
        record("Failures", 1, {"kind": exc.kind})
        return Handled(Verdict.POISON, error=str(exc))

    handled = Handled(Verdict.DONE)
    for event in events:
        try:
            outcome = processor.process(event)
        except Exception as exc:
            failure = report_failure(event.uri, exc, record)
            if failure is Failure.PERMANENT:
                assert isinstance(exc, ThumbsmithError)
                handled.permanent.append(exc)
                continue
            if failure is Failure.UNEXPECTED:
                # Retrying gives it its chances; the redrive policy parks it in the DLQ.
                message = f"{event.uri}: {type(exc).__name__}: {exc}"
            else:
                message = str(exc)
            handled.verdict, handled.error = Verdict.RETRY, handled.error or message
            continue
        handled.outcomes.append(outcome)
        report_outcome(outcome, record)
    return handled


def report_failure(uri: str, exc: Exception, record: Recorder) -> Failure:
    """Log and count one event that failed, the same way in every runner; say how."""
    failure = classify(exc)
    record("Failures", 1, {"kind": getattr(exc, "kind", failure.value)})
    if failure is Failure.UNEXPECTED:
        log.exception("unexpected_failure", extra={"object": uri})
        return failure
    assert isinstance(exc, ThumbsmithError)
    extra = {"object": uri, "kind": exc.kind, "reason": exc.reason}
    if failure is Failure.PERMANENT:
        log.warning("permanent_failure", extra=extra)
    elif failure is Failure.TRANSIENT:
        log.error("transient_failure", extra=extra)
    else:
        log.error("config_error", extra=extra)
    return failure


def report_outcome(outcome: Outcome, record: Recorder) -> None:
    """Log and count one event that was handled."""
    log.info(outcome.status.value, extra=outcome.as_log())
    if outcome.status is Status.WRITTEN:
        record("ImagesProcessed", 1, {})
        record("RenditionsWritten", len(outcome.written), {})
        record("ProcessingTime", outcome.ms, {})
        record("BytesIn", outcome.bytes_in, {})
    elif outcome.status is Status.DELETED:
        record("ImagesDeleted", 1, {})
    else:
        record("ImagesSkipped", 1, {})
