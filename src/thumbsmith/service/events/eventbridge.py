"""EventBridge ``Object Created`` / ``Object Deleted`` events from ``aws.s3``.

AWS documents no key encoding here; events captured in production
(guidance-for-medialake-on-aws PR 21) percent-encode a space as ``%20`` and leave ``+``
as it is, so ``unquote`` comes first and the other plausible decodings ride along as
``ObjectEvent.alt_keys``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote, unquote_plus

from thumbsmith.service.events.model import EventKind, ObjectEvent, bad, decodings, etag
from thumbsmith.service.events.source import EventSource, Nested

log = logging.getLogger("thumbsmith")

_KINDS = {"Object Created": EventKind.CREATED, "Object Deleted": EventKind.REMOVED}


def detect(data: dict[str, Any]) -> bool:
    return "detail-type" in data and "detail" in data


def parse(data: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    from aws_lambda_powertools.utilities.data_classes.event_bridge_event import (
        EventBridgeEvent,
    )

    event = EventBridgeEvent(data)
    if event.source != "aws.s3":
        raise bad(f"EventBridge event from {event.source!r}, not aws.s3", data)
    kind = _KINDS.get(event.detail_type)
    if kind is None:
        log.debug("skipping EventBridge %r", event.detail_type)
        return
    detail = event.detail
    try:
        bucket = detail["bucket"]["name"]
        obj: Mapping[str, Any] = detail["object"]
        raw_key = obj["key"]
    except (KeyError, TypeError):
        raise bad("EventBridge S3 event without bucket name or object key", data) from None
    size = obj.get("size")
    key, alt_keys = decodings(str(raw_key), unquote, unquote_plus, str)
    yield ObjectEvent(
        bucket=str(bucket),
        key=key,
        alt_keys=alt_keys,
        kind=kind,
        etag=etag(obj.get("etag") or obj.get("eTag")),
        size=int(size) if isinstance(size, int) else None,
        sequencer=obj.get("sequencer") or None,
        source="eventbridge",
    )


EVENTBRIDGE = EventSource("eventbridge", detect, parse)
