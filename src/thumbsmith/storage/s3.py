"""S3 (and S3-compatible: MinIO, R2, moto) as a :class:`~thumbsmith.storage.Store`.

boto3 is imported when a store is built, not when this module is imported, so a Lambda
cold start that never touches S3 (a bad event, a test event) does not pay for it.

Endpoints: an empty ``s3_endpoint_url``/``sqs_endpoint_url`` setting leaves the choice to
botocore, which honours ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3`` and
``AWS_ENDPOINT_URL_SQS`` by itself; a non-empty setting wins over those.

Errors are mapped once, here, onto thumbsmith's typed errors, so callers decide what to
retry from ``.permanent`` alone and never see a botocore exception.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from thumbsmith.errors import (
    AccessDenied,
    BucketNotFound,
    ObjectNotFound,
    StorageError,
    TransientError,
)
from thumbsmith.settings import Settings
from thumbsmith.storage import ObjectInfo

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

CONNECT_TIMEOUT = 5.0

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_DENIED = {
    "403",
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AccountProblem",
}
# Codes S3 documents as "try again" that may still surface after botocore's own retries.
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}


def client_config(settings: Settings, *, long_poll: bool = False) -> Config:
    """Retries and timeouts shared by every S3 and SQS client thumbsmith builds.

    Adaptive mode is standard mode (exponential backoff with jitter on throttling, 5xx
    and connection errors) plus client-side rate limiting once throttling starts, which
    is what a fleet of workers hammering one prefix needs.
    """
    from botocore.config import Config

    return Config(
        retries={"max_attempts": settings.retry_attempts, "mode": "adaptive"},
        connect_timeout=CONNECT_TIMEOUT,
        # A long poll legitimately waits poll_wait seconds before answering.
        read_timeout=settings.read_timeout + (settings.poll_wait if long_poll else 0),
        # One client is shared by the threads of a process; room for all of them.
        max_pool_connections=32,
    )


def _endpoint(service: Literal["s3", "sqs"], settings: Settings) -> str | None:
    url = settings.s3_endpoint_url if service == "s3" else settings.sqs_endpoint_url
    # None, not "": botocore then applies AWS_ENDPOINT_URL[_S3|_SQS] itself.
    return url or None


def s3_client(settings: Settings) -> S3Client:
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=_endpoint("s3", settings), config=client_config(settings)
    )


def sqs_client(settings: Settings) -> SQSClient:
    import boto3

    return boto3.session.Session().client(
        "sqs",
        endpoint_url=_endpoint("sqs", settings),
        config=client_config(settings, long_poll=True),
    )


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


# --- error mapping -----------------------------------------------------------------
def map_error(exc: Exception, *, bucket: str, key: str | None = None, action: str) -> Exception:
    """A botocore exception -> the typed thumbsmith error that says what went wrong.

    Returns ``exc`` unchanged when it is not a botocore error, so a bug is never
    disguised as a storage problem.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
    if isinstance(exc, ClientError):
        error: Mapping[str, Any] = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(error.get("Message", "") or code)
        if code in _NO_BUCKET:
            return BucketNotFound(f"bucket {bucket!r} does not exist ({action} {where})")
        if code in _NOT_FOUND or status == 404:
            return ObjectNotFound(f"no such object {where}")
        if code in _DENIED or status == 403:
            return AccessDenied(
                f"access denied: {action} {where} ({code}: {message}); check the "
                "credentials and the bucket/IAM policy"
            )
        if code in _TRANSIENT or status >= 500 or status == 429:
            return TransientError(f"{action} {where} failed after retries: {code} {message}")
        return StorageError(f"{action} {where} failed: {code} {message}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AccessDenied(f"{action} {where}: no usable AWS credentials ({exc})")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return TransientError(f"{action} {where}: cannot reach S3 ({exc})")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{action} {where}: {exc}")
    return exc


class S3Store:
    """A :class:`~thumbsmith.storage.Store` on one boto3 S3 client (thread-safe).

    A HEAD on a missing bucket is a bare 404, the same as a missing key. The first 404
    seen in a bucket is therefore checked with HEAD bucket, and the answer is cached, so
    a missing bucket is reported as one (with its name) at the cost of one extra call.
    """

    def __init__(self, client: S3Client, *, page_size: int = 1000) -> None:
        self.client = client
        self.page_size = page_size
        self._known_buckets: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        return cls(s3_client(settings))

    # --- helpers -----------------------------------------------------------------
    def _fail(self, exc: Exception, bucket: str, key: str | None, action: str) -> Exception:
        mapped = map_error(exc, bucket=bucket, key=key, action=action)
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
            mapped = map_error(exc, bucket=bucket, action="HEAD bucket")
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
    ) -> ObjectInfo:
        meta = encode_metadata(metadata or {})
        extra: dict[str, Any] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
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
            mapped = map_error(exc, bucket=bucket, key=prefix, action="LIST")
            if isinstance(mapped, ObjectNotFound):
                mapped = BucketNotFound(f"bucket {bucket!r} does not exist (LIST)")
            raise mapped from exc
