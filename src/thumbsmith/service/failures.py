"""The record of a source that failed for good, so a cron run does not fail on it again.

``backfill`` and ``sync`` write one when a source cannot become renditions (corrupt,
unsupported, over a limit: an :class:`~thumbsmith.errors.ImageError`) at the key the key
template gives the reserved name ``failed`` (``failed/images/cat.png.json`` by default),
in the output bucket, with the same ``thumbsmith-source-*`` and fingerprint metadata as a
rendition. Their next runs skip that source without downloading it ("known bad") while
it is the same object (its ETag) and the settings are the same (:func:`fingerprint`);
``--retry-failed`` tries it again. Live events (Lambda, the worker, watch) write none:
a bad upload there writes nothing.

Every path treats a record alike: ``process()`` deletes it once its source renders (so
it never outlives the problem), and with the source's renditions when the source is
removed; ``sync``'s orphan policy deletes it when its source is gone, as it does any
object whose metadata names a source.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from thumbsmith.core.options import RenderOptions
from thumbsmith.errors import BucketNotFound, ImageError, ObjectNotFound, ThumbsmithError
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ports import ObjectInfo, Store
from thumbsmith.service.renditions import (
    META_FINGERPRINT,
    META_SOURCE_ETAG,
    META_SOURCE_KEY,
    is_current,
)
from thumbsmith.service.rules import Rules

log = logging.getLogger("thumbsmith")

#: The failure's kind (``corrupt``, ``too_large``...), so a HEAD says why.
META_FAILURE = "thumbsmith-failure"
CONTENT_TYPE = "application/json"
#: A record changes when its source does: never served from a cache.
CACHE_CONTROL = "no-store"


class Remember(StrEnum):
    """What :meth:`Processor.process` does with failure records."""

    OFF = "off"  # live events: write none, skip nothing (a stale one is still cleared)
    SKIP = "skip"  # backfill and sync: skip a known bad source, record new failures
    RETRY = "retry"  # --retry-failed: try known bad sources again, record what still fails


@dataclass(frozen=True, slots=True)
class Record:
    """A failure record as a HEAD found it."""

    key: str
    current: bool  # of this very source object, under these settings
    kind: str


def fingerprint(manifest_fingerprint: str, options: RenderOptions, rules: Rules) -> str:
    """What a failure verdict depends on besides the source: everything the manifest's
    fingerprint covers, the rules, and every option, limits included (a raised
    ``max_pixels`` must retry a source that was too large)."""
    parts = (manifest_fingerprint, sorted(dataclasses.asdict(options).items()), rules)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class FailureRecords:
    store: Store
    keys: KeyMapper
    fingerprint: str

    def find(self, out_bucket: str, source: ObjectInfo) -> Record | None:
        """The source's record, if there is one (one HEAD)."""
        key = self.keys.failure_key(source.bucket, source.key)
        if key is None:
            return None
        try:
            info = self.store.head(out_bucket, key)
        except (ObjectNotFound, BucketNotFound):
            return None
        current = is_current(info, source.etag, self.fingerprint)
        return Record(key, current, info.metadata.get(META_FAILURE, "error"))

    def write(self, out_bucket: str, source: ObjectInfo, error: ImageError) -> None:
        """Record ``error``; a record that cannot be written is logged, never raised (the
        error itself is what the caller reports)."""
        key = self.keys.failure_key(source.bucket, source.key)
        if key is None:
            return
        body = {
            "source": {
                "bucket": source.bucket,
                "key": source.key,
                "etag": source.etag,
                "size": source.size,
            },
            "error": {"kind": error.kind, "reason": error.reason},
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "retried_when": "the source or the settings change, or with --retry-failed",
        }
        try:
            self.store.put(
                out_bucket,
                key,
                json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n",
                content_type=CONTENT_TYPE,
                cache_control=CACHE_CONTROL,
                metadata={
                    META_SOURCE_ETAG: source.etag,
                    META_SOURCE_KEY: source.key,
                    META_FINGERPRINT: self.fingerprint,
                    META_FAILURE: error.kind,
                },
            )
        except ThumbsmithError as exc:
            log.warning(
                "failure_not_recorded",
                extra={"object": source.key, "record": key, "reason": str(exc)},
            )

    def clear(self, out_bucket: str, record: Record | None) -> None:
        if record is not None:
            self.store.delete(out_bucket, record.key)
