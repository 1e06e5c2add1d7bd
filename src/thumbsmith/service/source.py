"""Reading a source, the one way every path does it (``process()`` and the on-demand
origin): HEAD it (trying the event's other key decodings), refuse it over the byte limit
before a byte is downloaded, GET it, and read its render hints (the focal point) from
its metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from thumbsmith.core.hints import Hints, parse_focus
from thumbsmith.errors import ImageTooLarge, ObjectNotFound
from thumbsmith.service.events import ObjectEvent
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ports import ObjectInfo, Store
from thumbsmith.service.renditions import META_FOCUS

log = logging.getLogger("thumbsmith")


@dataclass(frozen=True, slots=True)
class Source:
    """A source as read: its bytes and what the GET said about them."""

    data: bytes
    info: ObjectInfo

    @property
    def hints(self) -> Hints:
        return hints_of(self.info)


def hints_of(info: ObjectInfo) -> Hints:
    """The render hints a source's owner gave in its metadata (a bad one is logged and
    ignored: the rendition is still made, with its own position)."""
    focus, problem = parse_focus(info.metadata.get(META_FOCUS))
    if problem:
        log.warning("%s: %s; ignored", info.key, problem)
    return Hints(focus=focus)


@dataclass(frozen=True, slots=True)
class SourceReader:
    store: Store
    keys: KeyMapper
    max_bytes: int

    def find(self, event: ObjectEvent) -> tuple[ObjectEvent, ObjectInfo] | None:
        """The event (its key as found) and the source's HEAD, or ``None`` when no
        decoding of the key exists. Raises :class:`ImageTooLarge` over the byte limit."""
        found = self.locate(event)
        if found is not None:
            self.check_size(found[1])
        return found

    def locate(self, event: ObjectEvent) -> tuple[ObjectEvent, ObjectInfo] | None:
        """:meth:`find` without the byte limit (checked later, before the GET)."""
        try:
            return event, self.store.head(event.bucket, event.key)
        except ObjectNotFound:
            return self._find_alternative(event)

    def check_size(self, head: ObjectInfo) -> None:
        """Refuse a source over the byte limit before a byte of it is downloaded."""
        if head.size > self.max_bytes:
            raise ImageTooLarge(
                f"{head.size} bytes is over the limit of {self.max_bytes} (THUMBSMITH_MAX_BYTES)"
            )

    def fetch(self, event: ObjectEvent) -> Source:
        """GET the source (which may have been replaced since its HEAD: the caller
        compares ETags)."""
        data, info = self.store.get(event.bucket, event.key)
        return Source(data, info)

    def candidates(self, event: ObjectEvent) -> list[str]:
        """The event's other decodings that this config would handle at all."""
        return [
            key
            for key in event.alt_keys
            if self.keys.accepts(key) and not self.keys.is_own_output(event.bucket, key)
        ]

    def _find_alternative(self, event: ObjectEvent) -> tuple[ObjectEvent, ObjectInfo] | None:
        """The first other decoding of the key that exists, with its HEAD."""
        for key in self.candidates(event):
            try:
                head = self.store.head(event.bucket, key)
            except ObjectNotFound:
                continue
            log.warning(
                "key_found_by_other_decoding",
                extra={"object": event.uri, "found": key, "source": event.source},
            )
            return replace(event, key=key, alt_keys=()), head
        return None
