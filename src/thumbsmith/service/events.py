"""Raw payloads -> :class:`ObjectEvent`.

Every way of running thumbsmith (Lambda, worker, backfill, watch, convert) builds
``ObjectEvent``s and hands them to :meth:`thumbsmith.service.process.Processor.process`.

:func:`parse` understands, nested in any of the ways AWS nests them:

* S3 notification records (``{"Records": [{"eventSource": "aws:s3", ...}]}``), also as
  MinIO sends them (``eventSource: "minio:s3"``, ``eventName: "s3:ObjectCreated:Put"``,
  with its ``EventName``/``Key`` webhook wrapper);
* SQS records whose body is any of these (``s3:TestEvent`` bodies are skipped);
* SNS records and SNS envelopes (SNS -> SQS without raw delivery) whose ``Message`` is
  an S3 notification; with raw delivery the SQS body is the notification itself;
* EventBridge ``Object Created`` / ``Object Deleted`` events from ``aws.s3``;
* SeaweedFS filer notifications (``{"event_type", "key": "/buckets/B/K", "message"}``,
  as its webhook sends them): see :func:`seaweed_filer_events`;
* and, through :func:`batch_task`, the tasks of an S3 Batch Operations invocation.

Keys are decoded here, exactly once, each source by its own rule; nothing downstream
decodes again. Notification keys (S3, SQS, SNS, MinIO) are form-encoded, as AWS
documents (``red flower.jpg`` -> ``red+flower.jpg``, ``+`` -> ``%2B``, ``/`` sometimes
``%2F``, unicode as UTF-8 percent escapes): ``unquote_plus``. Batch Operations keys are
URL-encoded too; Powertools found by testing real jobs that ``unquote_plus`` is right
(its PR 3572), while AWS's own example uses ``unquote``. For EventBridge AWS documents
no encoding at all; events captured in production (guidance-for-medialake-on-aws PR 21)
percent-encode a space as ``%20`` and leave ``+`` as it is, so ``unquote`` comes first.
Where the rule is not settled, the other plausible decodings ride along as
``ObjectEvent.alt_keys``, and processing tries them when the first one is not found.

What to do with the message that carried them is decided in
:mod:`thumbsmith.service.dispatch`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, unquote_plus

from thumbsmith.errors import BadEvent

log = logging.getLogger("thumbsmith")


class EventKind(StrEnum):
    CREATED = "created"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One object that was created or removed. ``key`` is already URL-decoded."""

    bucket: str
    key: str
    kind: EventKind = EventKind.CREATED
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None
    source: str = "unknown"
    #: Other plausible decodings of the key as received, tried in order when ``key`` is
    #: not found (sources whose encoding is not settled: EventBridge, Batch Operations).
    alt_keys: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


# --- parsing ------------------------------------------------------------------------
QUOTE_LIMIT = 300
_MAX_DEPTH = 5  # SQS(SNS(S3)) is three deep; more is a loop or garbage


def quote_payload(payload: object, limit: int = QUOTE_LIMIT) -> str:
    """What was received, truncated, for error messages."""
    if isinstance(payload, bytes):
        text = payload.decode("utf-8", "replace")
    elif isinstance(payload, str):
        text = payload
    else:
        try:
            text = json.dumps(payload, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(payload)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _bad(why: str, payload: object) -> BadEvent:
    return BadEvent(f"{why}; received: {quote_payload(payload)}")


def parse(payload: object) -> list[ObjectEvent]:
    """Every object event in ``payload`` (a dict, or JSON text/bytes), in order.

    Exact duplicates within one payload are dropped (moto, for one, sends two identical
    records per multipart upload); duplicates across payloads are harmless anyway
    because processing is idempotent. Raises :class:`BadEvent` for anything else.
    """
    seen: set[tuple[str, str, EventKind]] = set()
    events: list[ObjectEvent] = []
    for event in _parse(payload, 0, "direct"):
        ident = (event.bucket, event.key, event.kind)
        if ident not in seen:
            seen.add(ident)
            events.append(event)
    return events


def _load(payload: object) -> object:
    if isinstance(payload, bytes | bytearray):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("payload is not UTF-8 text", payload) from None
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except json.JSONDecodeError as exc:
            raise _bad(f"payload is not JSON ({exc.msg} at char {exc.pos})", payload) from None
    return payload


def _parse(payload: object, depth: int, via: str) -> Iterator[ObjectEvent]:
    if depth > _MAX_DEPTH:
        raise _bad("payload is nested too deeply", payload)
    data = _load(payload)
    if not isinstance(data, dict):
        raise _bad(f"expected a JSON object, got {type(data).__name__}", data)

    if data.get("Event") == "s3:TestEvent":
        # S3 sends this once when a notification is configured; nothing to do.
        return
    records = data.get("Records")
    if records is not None:
        if not isinstance(records, list) or not records:
            raise _bad("'Records' is not a non-empty list", data)
        for record in records:
            yield from _record(record, depth, via)
        return
    if "Message" in data and "TopicArn" in data:
        # An SNS envelope: SNS -> SQS without raw message delivery, or SNS -> HTTP.
        if data.get("Type") == "SubscriptionConfirmation":
            raise _bad("SNS subscription confirmation, not an S3 event", data)
        yield from _parse(data["Message"], depth + 1, "sns")
        return
    if "detail-type" in data and "detail" in data:
        yield from _eventbridge(data)
        return
    if "event_type" in data and "message" in data:
        yield from seaweed_filer_events(data)
        return
    raise _bad("not an S3, SQS, SNS or EventBridge event, nor a SeaweedFS filer event", data)


def _record(record: object, depth: int, via: str) -> Iterator[ObjectEvent]:
    if not isinstance(record, dict):
        raise _bad("a record is not a JSON object", record)
    source = record.get("eventSource") or record.get("EventSource")
    if source == "aws:sqs":
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        yield from _parse(SQSRecord(record).body, depth + 1, "sqs")
    elif source == "aws:sns":
        from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord

        yield from _parse(SNSEventRecord(record).sns.message, depth + 1, "sns")
    elif source in {"aws:s3", "minio:s3"} or "s3" in record:
        event = _s3_record(record, via)
        if event is not None:
            yield event
    else:
        raise _bad(f"record from unknown source {source!r}", record)


def _kind(name: str) -> EventKind | None:
    """``ObjectCreated:Put`` / MinIO's ``s3:ObjectCreated:Put`` -> kind; others -> None."""
    name = name.removeprefix("s3:")
    if name.startswith("ObjectCreated"):
        return EventKind.CREATED
    if name.startswith(("ObjectRemoved", "LifecycleExpiration")):
        return EventKind.REMOVED
    return None  # restores, tagging, ACL changes: the pixels did not change


def _s3_record(record: dict[str, Any], via: str) -> ObjectEvent | None:
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

    rec = S3EventRecord(record)
    try:
        name = rec.event_name
        bucket = rec.s3.bucket.name
        obj = rec.s3.get_object
        raw_key = obj.key
    except (KeyError, TypeError, AttributeError):
        raise _bad("S3 record without eventName, bucket name or object key", record) from None
    kind = _kind(str(name))
    if kind is None:
        log.debug("skipping S3 event %s for s3://%s/%s", name, bucket, raw_key)
        return None
    size = obj.get("size")
    source = "minio" if record.get("eventSource") == "minio:s3" else "s3"
    return ObjectEvent(
        bucket=str(bucket),
        key=unquote_plus(str(raw_key)),
        kind=kind,
        etag=_etag(obj.get("eTag")),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        sequencer=obj.get("sequencer") or None,
        source=source if via == "direct" else f"{via}/{source}",
    )


def _etag(value: object) -> str | None:
    return str(value).strip('"') or None if value else None


_EB_KINDS = {"Object Created": EventKind.CREATED, "Object Deleted": EventKind.REMOVED}


def _eventbridge(data: dict[str, Any]) -> Iterator[ObjectEvent]:
    from aws_lambda_powertools.utilities.data_classes.event_bridge_event import (
        EventBridgeEvent,
    )

    event = EventBridgeEvent(data)
    if event.source != "aws.s3":
        raise _bad(f"EventBridge event from {event.source!r}, not aws.s3", data)
    kind = _EB_KINDS.get(event.detail_type)
    if kind is None:
        log.debug("skipping EventBridge %r", event.detail_type)
        return
    detail = event.detail
    try:
        bucket = detail["bucket"]["name"]
        obj: Mapping[str, Any] = detail["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError):
        raise _bad("EventBridge S3 event without bucket name or object key", data) from None
    size = obj.get("size")
    key, alt_keys = decodings(str(raw_key), unquote, unquote_plus, str)
    yield ObjectEvent(
        bucket=str(bucket),
        key=key,
        alt_keys=alt_keys,
        kind=kind,
        etag=_etag(obj.get("etag") or obj.get("eTag")),
        size=int(size) if isinstance(size, int) else None,
        sequencer=obj.get("sequencer") or None,
        source="eventbridge",
    )


def decodings(raw: str, *rules: Callable[[str], str]) -> tuple[str, tuple[str, ...]]:
    """The key by the first rule, and the distinct other keys the other rules give."""
    first = rules[0](raw)
    others = dict.fromkeys(rule(raw) for rule in rules[1:])
    others.pop(first, None)
    return first, tuple(others)


def batch_task(task: Mapping[str, Any]) -> ObjectEvent:
    """One S3 Batch Operations task (invocation schema 1.0 or 2.0) -> an ObjectEvent.

    Schema 1.0 names the bucket by ARN (``arn:aws:s3:::bucket``, which may carry a
    region and account), 2.0 by name (``s3Bucket``). Raises :class:`BadEvent`.
    """
    raw_key = task.get("s3Key")
    arn, name = task.get("s3BucketArn"), task.get("s3Bucket")
    bucket = str(arn).split(":", 5)[5] if isinstance(arn, str) and arn.count(":") >= 5 else name
    if not isinstance(raw_key, str) or not raw_key or not isinstance(bucket, str) or not bucket:
        raise _bad("S3 Batch Operations task without s3Key or bucket", task)
    key, alt_keys = decodings(raw_key, unquote_plus, unquote)
    return ObjectEvent(bucket=bucket, key=key, source="s3-batch", alt_keys=alt_keys)


# --- SeaweedFS filer notifications -----------------------------------------------------
#: Where SeaweedFS's S3 gateway keeps buckets in the filer tree (its default).
SEAWEED_BUCKETS = "/buckets/"
_SEAWEED_KINDS = {"create": EventKind.CREATED, "update": EventKind.CREATED}


def seaweed_filer_events(data: Mapping[str, Any]) -> Iterator[ObjectEvent]:
    """A SeaweedFS filer event -> the object events it means for S3 keys.

    ``key`` is the filer path (``/buckets/<bucket>/<key>``, not URL-encoded: nothing to
    decode); for a rename it is the old path and the new one is ``new_parent_path`` +
    ``new_entry.name``, so a rename is a removal plus a creation. Directories, the
    gateway's own ``/buckets/.system`` tree, multipart staging under
    ``<bucket>/.uploads/`` and paths outside ``/buckets/`` are skipped.
    """
    kind_name = data.get("event_type")
    path, message = data.get("key"), data.get("message")
    if not isinstance(path, str) or not isinstance(message, dict):
        raise _bad("SeaweedFS filer event without a 'key' path or a 'message'", data)
    new, old = message.get("new_entry"), message.get("old_entry")
    if kind_name == "rename":
        yield from _filer_event(path, old, EventKind.REMOVED)
        parent = message.get("new_parent_path")
        if isinstance(new, dict) and isinstance(parent, str):
            new_path = f"{parent.rstrip('/')}/{new.get('name', '')}"
            yield from _filer_event(new_path, new, EventKind.CREATED)
        return
    if kind_name == "delete":
        yield from _filer_event(path, old, EventKind.REMOVED)
        return
    kind = _SEAWEED_KINDS.get(str(kind_name))
    if kind is None:
        raise _bad(f"SeaweedFS filer event of unknown type {kind_name!r}", data)
    yield from _filer_event(path, new, kind)


def _filer_event(path: str, entry: object, kind: EventKind) -> Iterator[ObjectEvent]:
    if not isinstance(entry, dict):
        log.debug("skipping SeaweedFS event without an entry for %s", path)
        return
    bucket, _, key = path.removeprefix(SEAWEED_BUCKETS).partition("/")
    if (
        not path.startswith(SEAWEED_BUCKETS)
        or not key
        or bucket.startswith(".")
        or key.startswith(".uploads/")
        or entry.get("is_directory")
    ):
        log.debug("skipping SeaweedFS filer path %s (not an object)", path)
        return
    attributes = entry.get("attributes") or {}
    size = attributes.get("file_size") if isinstance(attributes, dict) else None
    yield ObjectEvent(
        bucket=bucket,
        key=key,
        kind=kind,
        etag=_seaweed_etag(entry),
        size=size if isinstance(size, int) else None,
        source="seaweedfs",
    )


def _seaweed_etag(entry: Mapping[str, Any]) -> str | None:
    """The S3 ETag the gateway stored (base64 in ``extended``), if it is there."""
    import base64
    import binascii

    extended = entry.get("extended")
    raw = extended.get("Seaweed-X-Amz-ETag") if isinstance(extended, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return _etag(base64.b64decode(raw, validate=True).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError):
        return None
