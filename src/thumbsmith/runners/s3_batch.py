"""S3 Batch Operations (``LambdaInvoke``): one invocation per task, one result per task.

Batch runs a function over every object of a manifest (a CSV list or an S3 Inventory
report), the bulk counterpart of ``thumbsmith backfill``. It reads the function's answer,
not its exceptions: each task gets a ``resultCode``, and only ``TemporaryFailure`` is
retried. Outcomes map through :func:`thumbsmith.service.dispatch.classify`, the one
classification every runner uses:

* written, skipped (already up to date), ignored (outside the prefix, a rendition) ->
  ``Succeeded``;
* a permanent failure (corrupt, unsupported, too large), an unreadable task, and a key
  that is not in the bucket (the manifest names an object that is gone; no retry can
  bring it back) -> ``PermanentFailure``;
* transient (throttling, 5xx), configuration and unexpected failures ->
  ``TemporaryFailure``.

The answer's shape is AWS's (batch-ops-invoke-lambda): ``invocationSchemaVersion`` and
``invocationId`` copied from the event, ``treatMissingKeysAs``, and ``results`` with
``taskId``, ``resultCode`` and a ``resultString`` of at most 1,024 characters, which
Batch writes into the job's completion report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from thumbsmith.errors import BadEvent, ThumbsmithError
from thumbsmith.service.dispatch import Recorder, report_failure, report_outcome
from thumbsmith.service.events import batch_task
from thumbsmith.service.outcome import SOURCE_GONE, Failure, Status
from thumbsmith.service.process import Processor

log = logging.getLogger("thumbsmith")

ResultCode = Literal["Succeeded", "TemporaryFailure", "PermanentFailure"]
RESULT_STRING_LIMIT = 1024


def is_batch_event(event: object) -> bool:
    return (
        isinstance(event, dict)
        and "invocationSchemaVersion" in event
        and "invocationId" in event
        and isinstance(event.get("tasks"), list)
    )


def respond(event: dict[str, Any], processor: Processor, record: Recorder) -> dict[str, Any]:
    """Process every task of the invocation (Batch sends one) and answer for each."""
    results = []
    for task in event["tasks"]:
        code, text = run_task(task, processor, record)
        task_id = task.get("taskId") if isinstance(task, dict) else None
        results.append(
            {"taskId": task_id, "resultCode": code, "resultString": text[:RESULT_STRING_LIMIT]}
        )
    return {
        "invocationSchemaVersion": event["invocationSchemaVersion"],
        # For a task missing from "results": a bug of ours, not something to retry forever.
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": results,
    }


def run_task(task: object, processor: Processor, record: Recorder) -> tuple[ResultCode, str]:
    """(resultCode, resultString) for one task."""
    try:
        if not isinstance(task, Mapping):
            raise BadEvent(f"an S3 Batch Operations task is not a JSON object: {task!r:.200}")
        event = batch_task(task)
    except BadEvent as exc:
        log.error("bad_event", extra={"kind": exc.kind, "reason": exc.reason})
        record("Failures", 1, {"kind": exc.kind})
        return "PermanentFailure", str(exc)
    try:
        outcome = processor.process(event)
    except Exception as exc:
        failure = report_failure(event.uri, exc, record)
        code: ResultCode = (
            "PermanentFailure" if failure is Failure.PERMANENT else "TemporaryFailure"
        )
        kind = exc.kind if isinstance(exc, ThumbsmithError) else failure.value
        return code, f"{kind}: {exc}"
    if outcome.status is Status.IGNORED and outcome.reason == SOURCE_GONE:
        log.warning("permanent_failure", extra={"object": event.uri, "kind": "not_found"})
        record("Failures", 1, {"kind": "not_found"})
        return "PermanentFailure", f"not_found: {event.uri} is not in the bucket"
    report_outcome(outcome, record)
    if outcome.status is Status.WRITTEN:
        return "Succeeded", f"written: {' '.join(outcome.written)}"
    return "Succeeded", f"{outcome.status}: {outcome.reason or event.uri}"
