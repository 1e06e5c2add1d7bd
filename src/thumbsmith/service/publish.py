"""After the renditions: the manifest, written last, then the "renditions ready" event.

Order and what a crash leaves behind:

1. A rendition set that must change loses its manifest *first* (DELETE), so a manifest
   never describes renditions half way through being replaced.
2. The renditions are written.
3. The manifest is written, with the same ``thumbsmith-source-*`` / fingerprint metadata
   as the renditions (so ``sync`` knows it as thumbsmith's), and, when notifiers are set,
   ``thumbsmith-notified: pending``.
4. Every notifier is called; when all took the event the manifest is put again without
   the mark (same bytes, same ETag).

A crash before 3 leaves no manifest: the rerun finds current renditions and a missing
manifest, and writes only the manifest. A crash or a failed notification after 3 leaves
the mark: the rerun finds everything current but ``pending`` and sends the event again
(from the manifest as stored) instead of skipping it. Notifications are therefore at
least once; ``X-Thumbsmith-Delivery`` (webhook) and the event's content let receivers
drop repeats.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from thumbsmith.errors import BucketNotFound, NotifyError, ObjectNotFound
from thumbsmith.service import manifest
from thumbsmith.service.ports import DELETED, READY, Notifier, Store

log = logging.getLogger("thumbsmith")

PENDING = "pending"


class State(Enum):
    CURRENT = "current"  # made from this source with these settings, and announced
    PENDING = "pending"  # current, but a notification has not gone through yet
    MISSING = "missing"  # absent
    STALE = "stale"  # present, but of another source version or other settings


@dataclass(frozen=True, slots=True)
class Found:
    state: State
    key: str


class ManifestPublisher:
    """Writes and removes manifests and sends notifications, for :class:`Processor`."""

    def __init__(self, store: Store, notifiers: Sequence[Notifier] = ()) -> None:
        self.store = store
        self.notifiers = tuple(notifiers)

    def find(self, bucket: str, key: str, expected: Mapping[str, str]) -> Found:
        """The manifest at ``key`` is current if its metadata holds ``expected`` (the
        source ETag and the fingerprint the renditions carry too)."""
        try:
            meta = self.store.head(bucket, key).metadata
        except (ObjectNotFound, BucketNotFound):
            return Found(State.MISSING, key)
        if any(meta.get(name) != value for name, value in expected.items()):
            return Found(State.STALE, key)
        if self.notifiers and meta.get(manifest.META_NOTIFIED) == PENDING:
            return Found(State.PENDING, key)
        return Found(State.CURRENT, key)

    def withdraw(self, bucket: str, found: Found) -> None:
        """Step 1: before renditions that a manifest lists are replaced."""
        if found.state is not State.MISSING:
            self.store.delete(bucket, found.key)

    def publish(
        self,
        body: Mapping[str, Any],
        bucket: str,
        key: str,
        metadata: Mapping[str, str],
        *,
        subject: str,
    ) -> None:
        """Steps 3 and 4."""
        data = manifest.encode(body)
        meta = dict(metadata)
        if self.notifiers:
            meta[manifest.META_NOTIFIED] = PENDING
        self._put(bucket, key, data, meta)
        if self.notifiers:
            self.notify(READY, body, subject=subject)
            meta.pop(manifest.META_NOTIFIED)
            self._put(bucket, key, data, meta)

    def resend(self, bucket: str, key: str, metadata: Mapping[str, str], *, subject: str) -> None:
        """A current manifest whose notification did not go through: send it again."""
        data, _ = self.store.get(bucket, key)
        self.notify(READY, json.loads(data), subject=subject)
        meta = {k: v for k, v in metadata.items() if k != manifest.META_NOTIFIED}
        self._put(bucket, key, data, meta)

    def notify(self, detail_type: str, detail: Mapping[str, Any], *, subject: str) -> None:
        """Every notifier gets the event, even after one failed; then the failures raise."""
        failures: list[str] = []
        permanent = True
        for notifier in self.notifiers:
            try:
                notifier.send(detail_type, detail, subject=subject)
            except NotifyError as exc:
                log.warning(
                    "notify_failed",
                    extra={"object": subject, "notifier": notifier.name, "reason": exc.reason},
                )
                failures.append(exc.reason)
                permanent = permanent and exc.permanent
        if failures:
            error = NotifyError(
                f"{detail_type} not delivered (renditions and manifest are written): "
                + "; ".join(failures)
            )
            error.permanent = permanent
            raise error

    def _put(self, bucket: str, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        self.store.put(
            bucket,
            key,
            data,
            content_type=manifest.CONTENT_TYPE,
            cache_control=manifest.CACHE_CONTROL,
            metadata=metadata,
        )

    def removed(self, bucket: str, key: str, keys: Sequence[str], manifest_key: str) -> None:
        if self.notifiers:
            detail = manifest.deleted(bucket, key, keys, manifest_key)
            self.notify(DELETED, detail, subject=f"s3://{bucket}/{key}")
