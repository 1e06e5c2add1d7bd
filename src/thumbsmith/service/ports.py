"""The ports: what the service needs from storage, queues and notifiers, as protocols
the adapters implement (:mod:`thumbsmith.adapters`). The service and everything above it
talk to these, never to boto3 or the filesystem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from thumbsmith.errors import UnsafeKey

# --- storage -----------------------------------------------------------------------
MAX_SEGMENT_BYTES = 255


def check_key(key: str) -> list[str]:
    """A key's ``/``-separated segments, or :class:`UnsafeKey`: the one set of key rules,
    for every store and for ``process()``.

    AWS S3 and moto keep ``images//a.jpg``, ``/lead.jpg``, ``images/./x.jpg`` and ``..``
    segments as they are; SeaweedFS stores the first two as ``images/a.jpg`` and
    ``lead.jpg`` (so two sources would share renditions) and refuses the others; a local
    folder would leave the bucket by ``..``; and every filesystem-backed store limits a
    segment to 255 bytes. Such a key is refused on every store (permanently), so
    thumbsmith means one thing whatever it runs against.
    """
    if not key:
        raise UnsafeKey("empty key")
    if "\0" in key:
        raise UnsafeKey(f"key {key!r} contains NUL")
    segments = key.split("/")
    if key.startswith("/") or any(s in ("", ".", "..") for s in segments):
        raise UnsafeKey(
            f"key {key!r} has a leading '/', an empty, '.' or '..' segment; S3-compatible "
            "stores disagree on such keys (SeaweedFS stores images//a.jpg as images/a.jpg)"
        )
    if any(len(s.encode("utf-8", "surrogateescape")) > MAX_SEGMENT_BYTES for s in segments):
        raise UnsafeKey(f"key {key!r} has a segment longer than {MAX_SEGMENT_BYTES} bytes")
    return segments


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a HEAD or LIST tells about an object."""

    bucket: str
    key: str
    size: int
    etag: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    content_type: str | None = None
    cache_control: str | None = None
    content_disposition: str | None = None


class Store(Protocol):
    """Object storage as thumbsmith needs it. Keys are plain (already URL-decoded) strings.

    Errors: ObjectNotFound for a missing object, BucketNotFound for a missing bucket,
    AccessDenied, UnsafeKey, and TransientError for anything worth retrying.
    """

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]: ...

    def head(self, bucket: str, key: str) -> ObjectInfo: ...

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Write ``data`` atomically. ``content_disposition`` must be ASCII (see
        :func:`thumbsmith.service.headers.content_disposition`). ``tags``: S3 object tags
        (lifecycle rules and IAM conditions can select by them); stores without tags
        keep them as a record or ignore them."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...


@runtime_checkable
class NamesObjects(Protocol):
    """A store whose objects have a name of their own: a local store's are files."""

    def object_name(self, bucket: str, key: str) -> str: ...


def object_name(store: object, bucket: str, key: str) -> str:
    """How messages name an object: where the store has a name of its own for it (a local
    file's path), that; otherwise ``s3://bucket/key``, as the AWS tools write it."""
    if isinstance(store, NamesObjects):
        return store.object_name(bucket, key)
    return f"s3://{bucket}/{key}"


# --- notifications -------------------------------------------------------------------
SOURCE = "thumbsmith"
READY = "Renditions Ready"
DELETED = "Renditions Deleted"


class Notifier(Protocol):
    #: What the logs call it ("webhook https://app.example.com/hook"); never a secret.
    name: str

    def send(self, detail_type: str, detail: Mapping[str, Any], *, subject: str) -> None:
        """Deliver ``detail`` (JSON-able) as a ``detail_type`` event about ``subject``
        (the source's s3:// URI), or raise NotifyError."""
        ...


# --- queues --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Message:
    id: str
    receipt: str
    body: str
    receive_count: int = 1


class Queue(Protocol):
    """One queue. Errors are thumbsmith's typed errors (TransientError, AccessDenied,
    ConfigError for a queue that does not exist), never the client library's."""

    url: str

    def has_redrive(self) -> bool: ...

    def receive(self, max_messages: int, *, wait: int, visibility: int) -> list[Message]: ...

    def delete(self, receipt: str) -> None: ...

    def change_visibility(self, receipt: str, timeout: int) -> None: ...

    def send_batch(self, bodies: Sequence[str]) -> None: ...
