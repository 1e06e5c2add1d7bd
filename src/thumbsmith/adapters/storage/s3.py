"""S3 (and S3-compatible: MinIO, SeaweedFS, R2, moto) as a :class:`Store`.

The client comes from :func:`thumbsmith.adapters.aws.s3_client`; every botocore error is
mapped by :func:`thumbsmith.adapters.aws.map_error`, so callers decide what to retry
from ``.permanent`` alone and never see a botocore exception.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from thumbsmith.adapters.aws import map_error
from thumbsmith.errors import BucketNotFound, ObjectNotFound
from thumbsmith.service.ports import ObjectInfo

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def strip_etag(etag: str | None) -> str:
    """``"abc"`` -> ``abc``: S3 quotes ETags, the local store and events do not."""
    return (etag or "").strip().strip('"')


# --- user metadata -----------------------------------------------------------------
# S3 user metadata travels in HTTP headers, which are ASCII only; botocore refuses other
# values outright. The source key recorded beside each rendition may be any unicode, so
# non-ASCII values are sent as RFC 2047 encoded-words, the form S3 itself returns for
# such values, and decoded again on the way back.
_RFC2047_PREFIX = "=?UTF-8?B?"
_RFC2047_SUFFIX = "?="


def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if value.isascii() and value.isprintable():
            out[key] = value
        else:
            b64 = base64.b64encode(value.encode("utf-8")).decode("ascii")
            out[key] = f"{_RFC2047_PREFIX}{b64}{_RFC2047_SUFFIX}"
    return out


def decode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if value.upper().startswith(_RFC2047_PREFIX) and value.endswith(_RFC2047_SUFFIX):
            # Not decodable: not ours after all; keep it as S3 sent it.
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                value = base64.b64decode(
                    value[len(_RFC2047_PREFIX) : -len(_RFC2047_SUFFIX)], validate=True
                ).decode("utf-8")
        out[key.lower()] = value
    return out


def _where(bucket: str, key: str | None) -> str:
    return f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"


class S3Store:
    """A :class:`~thumbsmith.service.ports.Store` on one boto3 S3 client (thread-safe).

    A HEAD on a missing bucket is a bare 404, the same as a missing key. The first 404
    seen in a bucket is therefore checked with HEAD bucket, and the answer is cached, so
    a missing bucket is reported as one (with its name) at the cost of one extra call.
    """

    def __init__(self, client: S3Client, *, page_size: int = 1000) -> None:
        self.client = client
        self.page_size = page_size
        self._known_buckets: set[str] = set()

    # --- helpers -----------------------------------------------------------------
    def _fail(self, exc: Exception, bucket: str, key: str | None, action: str) -> Exception:
        mapped = map_error(exc, where=_where(bucket, key), action=action, bucket=bucket)
        if isinstance(mapped, ObjectNotFound) and not self._bucket_exists(bucket):
            return BucketNotFound(f"bucket {bucket!r} does not exist ({action} s3://{bucket})")
        return mapped

    def _bucket_exists(self, bucket: str) -> bool:
        if bucket in self._known_buckets:
            return True
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            mapped = map_error(exc, where=_where(bucket, None), action="HEAD bucket", bucket=bucket)
            # Denied or flaky: we cannot tell, so do not claim the bucket is missing.
            return not isinstance(mapped, ObjectNotFound | BucketNotFound)
        self._known_buckets.add(bucket)
        return True

    @staticmethod
    def _info(bucket: str, key: str, resp: Mapping[str, Any], size_field: str) -> ObjectInfo:
        last_modified = resp.get("LastModified")
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(resp.get(size_field, 0) or 0),
            etag=strip_etag(resp.get("ETag")),
            metadata=decode_metadata(resp.get("Metadata") or {}),
            last_modified=last_modified if isinstance(last_modified, datetime) else None,
            content_type=resp.get("ContentType"),
            cache_control=resp.get("CacheControl"),
            content_disposition=resp.get("ContentDisposition"),
        )

    # --- Store ---------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        try:
            resp = self.client.get_object(Bucket=bucket, Key=key)
            # The body streams; a reset half way through is as transient as a 503.
            data = resp["Body"].read()
        except Exception as exc:
            raise self._fail(exc, bucket, key, "GET") from exc
        self._known_buckets.add(bucket)
        info = self._info(bucket, key, resp, "ContentLength")
        return data, info

    def head(self, bucket: str, key: str) -> ObjectInfo:
        try:
            resp = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, bucket, key, "HEAD") from exc
        self._known_buckets.add(bucket)
        return self._info(bucket, key, resp, "ContentLength")

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
        meta = encode_metadata(metadata or {})
        extra: dict[str, Any] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
        if content_disposition:
            # botocore does not check it, and a non-ASCII header breaks the signature on
            # real S3: callers build it ASCII-only (RFC 6266 filename + RFC 8187 filename*).
            extra["ContentDisposition"] = content_disposition
        if tags:
            extra["Tagging"] = urlencode(dict(tags))
        try:
            # One PUT is atomic on S3: readers see the old object or the new one.
            resp = self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata=meta,
                **extra,
            )
        except Exception as exc:
            raise self._fail(exc, bucket, key, "PUT") from exc
        self._known_buckets.add(bucket)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=strip_etag(resp.get("ETag")),
            metadata=dict(metadata or {}),
            content_type=content_type,
            cache_control=cache_control,
            content_disposition=content_disposition,
        )

    def delete(self, bucket: str, key: str) -> None:
        try:
            # S3 answers 204 for a key that is not there: deleting twice is fine.
            self.client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, bucket, key, "DELETE") from exc

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": self.page_size}
            ):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    last_modified = item.get("LastModified")
                    yield ObjectInfo(
                        bucket=bucket,
                        key=key,
                        size=int(item.get("Size", 0)),
                        etag=strip_etag(item.get("ETag")),
                        last_modified=last_modified,
                    )
        except Exception as exc:
            mapped = map_error(exc, where=_where(bucket, prefix), action="LIST", bucket=bucket)
            if isinstance(mapped, ObjectNotFound):
                mapped = BucketNotFound(f"bucket {bucket!r} does not exist (LIST)")
            raise mapped from exc
