"""What every event source becomes: :class:`ObjectEvent`, and the helpers each source's
parser shares (error messages that quote the payload, ETags, key decodings)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from thumbsmith.errors import BadEvent


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


QUOTE_LIMIT = 300


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


def bad(why: str, payload: object) -> BadEvent:
    return BadEvent(f"{why}; received: {quote_payload(payload)}")


def etag(value: object) -> str | None:
    return str(value).strip('"') or None if value else None


def decodings(raw: str, *rules: Callable[[str], str]) -> tuple[str, tuple[str, ...]]:
    """The key by the first rule, and the distinct other keys the other rules give."""
    first = rules[0](raw)
    others = dict.fromkeys(rule(raw) for rule in rules[1:])
    others.pop(first, None)
    return first, tuple(others)
