"""Where bytes live. The core never sees this; ``process`` talks to a :class:`Store`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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
    ) -> ObjectInfo:
        """Write ``data`` atomically. ``content_disposition`` must be ASCII (see
        :func:`thumbsmith.service.headers.content_disposition`)."""
        ...

    def delete(self, bucket: str, key: str) -> None: ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...
