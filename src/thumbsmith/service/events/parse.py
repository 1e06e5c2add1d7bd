"""Raw payloads -> :class:`ObjectEvent`: every source's shape, nested in any of the ways
AWS nests them. Each source is one module and one line here: :data:`SHAPES` for what a
payload may be, :data:`RECORDS` for what one of its ``Records`` may be. The first whose
``detect`` matches parses it; the shapes' members do not overlap, so order only matters
for speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from thumbsmith.service.events import envelopes, eventbridge, s3, seaweedfs
from thumbsmith.service.events.model import EventKind, ObjectEvent, bad
from thumbsmith.service.events.source import EventSource

#: What a whole payload may be.
SHAPES: tuple[EventSource, ...] = (
    s3.TEST_EVENT,
    envelopes.SNS_ENVELOPE,
    eventbridge.EVENTBRIDGE,
    seaweedfs.SEAWEEDFS,
)
#: What one record of a ``{"Records": [...]}`` payload may be.
RECORDS: tuple[EventSource, ...] = (
    envelopes.SQS_RECORD,
    envelopes.SNS_RECORD,
    s3.RECORD,
)

_MAX_DEPTH = 5  # SQS(SNS(S3)) is three deep; more is a loop or garbage


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
            raise bad("payload is not UTF-8 text", payload) from None
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except json.JSONDecodeError as exc:
            raise bad(f"payload is not JSON ({exc.msg} at char {exc.pos})", payload) from None
    return payload


def _parse(payload: object, depth: int, via: str) -> Iterator[ObjectEvent]:
    if depth > _MAX_DEPTH:
        raise bad("payload is nested too deeply", payload)
    data = _load(payload)
    if not isinstance(data, dict):
        raise bad(f"expected a JSON object, got {type(data).__name__}", data)

    def nested(inner: object, envelope: str) -> Iterator[ObjectEvent]:
        return _parse(inner, depth + 1, envelope)

    if data.get("Records") is not None:
        yield from _records(data, via, nested)
        return
    for shape in SHAPES:
        if shape.detect(data):
            yield from shape.parse(data, via, nested)
            return
    raise bad("not an S3, SQS, SNS or EventBridge event, nor a SeaweedFS filer event", data)


def _records(data: dict[str, Any], via: str, nested: Any) -> Iterator[ObjectEvent]:
    records = data["Records"]
    if not isinstance(records, list) or not records:
        raise bad("'Records' is not a non-empty list", data)
    for record in records:
        if not isinstance(record, dict):
            raise bad("a record is not a JSON object", record)
        for source in RECORDS:
            if source.detect(record):
                yield from source.parse(record, via, nested)
                break
        else:
            name = record.get("eventSource") or record.get("EventSource")
            raise bad(f"record from unknown source {name!r}", record)
