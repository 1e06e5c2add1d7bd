"""Writing one rendition object, the same way for every path that makes one (upload,
backfill, on-demand): its bytes, headers, and the metadata that records what it was made
from, so idempotence, ``sync`` and delete propagation treat every writer's output alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from thumbsmith.core.result import Rendition
from thumbsmith.service.headers import carried_metadata, content_disposition, rendition_filename
from thumbsmith.service.ports import ObjectInfo, Store

META_SOURCE_ETAG = "thumbsmith-source-etag"
META_SOURCE_KEY = "thumbsmith-source-key"
META_FINGERPRINT = "thumbsmith-fingerprint"
#: The source's user metadata naming its focal point, "x,y" in fractions of the upright
#: image (``x-amz-meta-focus: 0.31,0.42``).
META_FOCUS = "focus"


@dataclass(frozen=True, slots=True)
class StoredRendition:
    """One rendition object in the output bucket: where, and what it holds (as the
    outcome reports it and the manifest lists it)."""

    bucket: str
    key: str
    format: str
    width: int
    height: int
    bytes: int
    name: str = ""
    etag: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_current(info: ObjectInfo, source_etag: str, fingerprint: str) -> bool:
    """Whether a stored object was made from this source version with these options."""
    meta = info.metadata
    return meta.get(META_SOURCE_ETAG) == source_etag and meta.get(META_FINGERPRINT) == fingerprint


@dataclass(frozen=True, slots=True)
class RenditionWriter:
    """Puts renditions with their headers: ``Cache-Control``, a ``Content-Disposition``
    named after the source, the source's allowlisted user metadata, and thumbsmith's
    own record (source ETag and key, fingerprint)."""

    store: Store
    cache_control: str = ""
    copy_metadata: tuple[str, ...] = ()

    def put(
        self,
        bucket: str,
        key: str,
        rendition: Rendition,
        source: ObjectInfo,
        fingerprint: str,
        extra_metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> StoredRendition:
        info = self.store.put(
            bucket,
            key,
            rendition.data,
            content_type=rendition.content_type,
            cache_control=self.cache_control or None,
            content_disposition=content_disposition(
                rendition_filename(source.key, rendition.extension)
            ),
            metadata={
                **carried_metadata(source.metadata, self.copy_metadata),
                **(extra_metadata or {}),
                META_SOURCE_ETAG: source.etag,
                META_SOURCE_KEY: source.key,
                META_FINGERPRINT: fingerprint,
            },
            tags=tags,
        )
        return StoredRendition(
            bucket,
            key,
            rendition.format,
            rendition.width,
            rendition.height,
            len(rendition.data),
            rendition.name,
            info.etag,
        )
