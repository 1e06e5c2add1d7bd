"""S3 event notifications (direct, or inside SQS/SNS), and MinIO's, which share the
record shape (``eventSource: "minio:s3"``, ``eventName: "s3:ObjectCreated:Put"``).

Keys are form-encoded, as AWS documents (``red flower.jpg`` -> ``red+flower.jpg``,
``+`` -> ``%2B``, ``/`` sometimes ``%2F``, unicode as UTF-8 percent escapes):
``unquote_plus``, once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

from thumbsmith.service.events.model import EventKind, ObjectEvent, bad, etag
from thumbsmith.service.events.source import EventSource, Nested

log = logging.getLogger("thumbsmith")


def is_test_event(data: dict[str, Any]) -> bool:
    return data.get("Event") == "s3:TestEvent"


def test_event(data: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    """S3 sends this once when a notification is configured; nothing to do."""
    return iter(())


def is_record(record: dict[str, Any]) -> bool:
    source = record.get("eventSource") or record.get("EventSource")
    return source in {"aws:s3", "minio:s3"} or "s3" in record


def kind_of(name: str) -> EventKind | None:
    """``ObjectCreated:Put`` / MinIO's ``s3:ObjectCreated:Put`` -> kind; others -> None."""
    name = name.removeprefix("s3:")
    if name.startswith("ObjectCreated"):
        return EventKind.CREATED
    if name.startswith(("ObjectRemoved", "LifecycleExpiration")):
        return EventKind.REMOVED
    return None  # restores, tagging, ACL changes: the pixels did not change


def record(data: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

    rec = S3EventRecord(data)
    try:
        name = rec.event_name
        bucket = rec.s3.bucket.name
        obj = rec.s3.get_object
        raw_key = obj.key
    except (KeyError, TypeError, AttributeError):
        raise bad("S3 record without eventName, bucket name or object key", data) from None
    kind = kind_of(str(name))
    if kind is None:
        log.debug("skipping S3 event %s for s3://%s/%s", name, bucket, raw_key)
        return
    size = obj.get("size")
    source = "minio" if data.get("eventSource") == "minio:s3" else "s3"
    yield ObjectEvent(
        bucket=str(bucket),
        key=unquote_plus(str(raw_key)),
        kind=kind,
        etag=etag(obj.get("eTag")),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        sequencer=obj.get("sequencer") or None,
        source=source if via == "direct" else f"{via}/{source}",
    )


TEST_EVENT = EventSource("s3 test event", is_test_event, test_event)
RECORD = EventSource("s3 record", is_record, record)
