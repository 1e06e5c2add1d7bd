"""SeaweedFS filer notifications, as its webhook sends them:
``{"event_type", "key": "/buckets/B/K", "message"}``. Filer paths are not URL-encoded:
nothing to decode."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from thumbsmith.service.events.model import EventKind, ObjectEvent, bad, etag
from thumbsmith.service.events.source import EventSource, Nested

log = logging.getLogger("thumbsmith")

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
        raise bad("SeaweedFS filer event without a 'key' path or a 'message'", data)
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
        raise bad(f"SeaweedFS filer event of unknown type {kind_name!r}", data)
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
    extended = entry.get("extended")
    raw = extended.get("Seaweed-X-Amz-ETag") if isinstance(extended, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        return etag(base64.b64decode(raw, validate=True).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError):
        return None


def detect(data: dict[str, Any]) -> bool:
    return "event_type" in data and "message" in data


def parse(data: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    return seaweed_filer_events(data)


SEAWEEDFS = EventSource("seaweedfs filer", detect, parse)
