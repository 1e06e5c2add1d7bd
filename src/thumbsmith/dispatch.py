"""One message -> one verdict: the shared decision of the Lambda handler and the worker.

:func:`handle` parses a payload (:func:`thumbsmith.events.parse`), processes every event
in it, and says what to do with the message that carried them (done / retry / poison).
Both ways of consuming a queue use it, so they cannot disagree on what is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from thumbsmith.errors import BadEvent, ConfigError, ThumbsmithError
from thumbsmith.events import parse
from thumbsmith.process import Outcome, Processor

log = logging.getLogger("thumbsmith")


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
        except ThumbsmithError as exc:
            if exc.permanent and not isinstance(exc, ConfigError):
                log.warning(
                    "permanent_failure",
                    extra={"object": event.uri, "kind": exc.kind, "reason": exc.reason},
                )
                record("Failures", 1, {"kind": exc.kind})
                handled.permanent.append(exc)
                continue
            log.error(
                "transient_failure" if not exc.permanent else "config_error",
                extra={"object": event.uri, "kind": exc.kind, "reason": exc.reason},
            )
            record("Failures", 1, {"kind": exc.kind})
            handled.verdict, handled.error = Verdict.RETRY, handled.error or str(exc)
            continue
        except Exception as exc:
            # A bug or a resource failure (MemoryError, a broken decoder). Retrying gives
            # it its chances; the redrive policy parks it in the DLQ after that.
            log.exception("unexpected_failure", extra={"object": event.uri})
            record("Failures", 1, {"kind": "unexpected"})
            handled.verdict = Verdict.RETRY
            handled.error = handled.error or f"{event.uri}: {type(exc).__name__}: {exc}"
            continue
        handled.outcomes.append(outcome)
        log.info(outcome.status, extra=outcome.as_log())
        if outcome.status == "written":
            record("ImagesProcessed", 1, {})
            record("RenditionsWritten", len(outcome.written), {})
            record("ProcessingTime", outcome.ms, {})
            record("BytesIn", outcome.bytes_in, {})
        elif outcome.status == "deleted":
            record("ImagesDeleted", 1, {})
        else:
            record("ImagesSkipped", 1, {})
    return handled
