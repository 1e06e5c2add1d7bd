"""What became of one event: a :class:`Status` (or a :class:`Failure`), the renditions
written, and the small picklable :class:`EventResult` that render processes report back
and the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.renditions import StoredRendition


class Status(StrEnum):
    """How an event ended when it did not fail."""

    WRITTEN = "written"  # renditions (or only the manifest) written
    SKIPPED = "skipped"  # everything was current already
    DELETED = "deleted"  # the source is gone: its renditions and manifest too
    IGNORED = "ignored"  # outside the prefixes, one of our outputs, or the source is gone
    KNOWN_BAD = "known bad"  # failed for good before, unchanged since (backfill, sync)


class Failure(StrEnum):
    """Why an event failed; only ``PERMANENT`` is never retried."""

    PERMANENT = "permanent"  # the image itself: the same bytes fail the same way
    TRANSIENT = "transient"  # network, throttling, 5xx, a missing bucket, denied access
    CONFIG = "config"  # a setting (e.g. the recursion guard): retried once a human fixes it
    UNEXPECTED = "unexpected"  # a bug or a resource failure: retried, then the DLQ


#: The reason of an "ignored" outcome whose source was not found (under any decoding).
SOURCE_GONE = "source no longer exists"


@dataclass(slots=True)
class Outcome:
    """What :meth:`thumbsmith.service.process.Processor.process` did with one event."""

    event: ObjectEvent
    status: Status
    reason: str = ""
    renditions: list[StoredRendition] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    ms: float = 0.0

    @property
    def written(self) -> list[str]:
        """The URIs of the renditions written."""
        return [w.uri for w in self.renditions]

    def as_log(self) -> dict[str, object]:
        return {
            "object": self.event.uri,
            "kind": self.event.kind.value,
            "status": self.status.value,
            "reason": self.reason,
            "renditions": self.written or self.deleted,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "ms": round(self.ms, 1),
        }


@dataclass(frozen=True, slots=True)
class EventResult:
    """One event's end, small enough to pickle from a render process: its status, or
    the failure and its one-line message (which names the object)."""

    uri: str  # s3://bucket/key, what the object is (serve's page keys on it)
    status: Status | Failure
    message: str = ""
    ms: float = 0.0  # process() wall time (serve shows it as the render time)
    name: str = ""  # how the line names it: a local file's path; empty: the uri

    @property
    def shown(self) -> str:
        return self.name or self.uri

    @property
    def failed(self) -> bool:
        return isinstance(self.status, Failure)

    @property
    def line(self) -> str:
        """What the CLI prints for it (watch, serve's page)."""
        if self.failed:
            return f"error: {self.message}"
        reason = f" ({self.message})" if self.message else ""
        return f"{self.status}: {self.shown}{reason}"
