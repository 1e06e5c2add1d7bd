"""Raw payloads -> :class:`ObjectEvent`.

Every way of running thumbsmith (Lambda, worker, backfill, watch, convert) builds
``ObjectEvent``s and hands them to :func:`thumbsmith.process.process`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"
