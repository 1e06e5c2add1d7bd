"""boto3 clients and the one mapping of botocore errors onto thumbsmith's typed errors.

boto3 is imported when a client is built, not when this module is imported, so a
Lambda cold start that never touches AWS (a bad event, a test event) does not pay for it.

Endpoints: an empty endpoint leaves the choice to botocore, which honours
``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_SQS`` by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from thumbsmith.errors import (
    AccessDenied,
    BucketNotFound,
    ConfigError,
    ObjectNotFound,
    StorageError,
    ThumbsmithError,
    TransientError,
)

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

CONNECT_TIMEOUT = 5.0

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_NO_QUEUE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "NonExistentQueue",
    "QueueDoesNotExist",
}
_DENIED = {
    "403",
    "AccessDenied",
    "AccessDeniedException",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AccountProblem",
}
# Codes AWS documents as "try again" that may still surface after botocore's own retries.
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Retries, timeouts and endpoint shared by every client of one service."""

    endpoint_url: str = ""
    retry_attempts: int = 8
    read_timeout: float = 60.0
    long_poll_wait: int = 0  # SQS: a long poll legitimately waits this long first

    def config(self) -> Config:
        """Adaptive retry mode: standard mode (exponential backoff with jitter on
        throttling, 5xx and connection errors) plus client-side rate limiting once
        throttling starts, which is what a fleet of workers hammering one prefix needs."""
        from botocore.config import Config

        return Config(
            retries={"max_attempts": self.retry_attempts, "mode": "adaptive"},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=self.read_timeout + self.long_poll_wait,
            # One client is shared by the threads of a process; room for all of them.
            max_pool_connections=32,
        )


def _client(service: str, options: ClientOptions) -> Any:
    """A client of ``service``; no region (SQS and EventBridge need one, S3 falls back to
    us-east-1) is a start-up error naming the variable, not botocore's NoRegionError."""
    import boto3
    from botocore.exceptions import NoRegionError

    try:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=options.endpoint_url or None,
            config=options.config(),
        )
    except NoRegionError:
        raise ConfigError(
            f"no AWS region for {SERVICE_NAMES.get(service, service)}: set AWS_DEFAULT_REGION "
            "(e.g. export AWS_DEFAULT_REGION=us-east-1), or region in ~/.aws/config"
        ) from None


SERVICE_NAMES = {"s3": "S3", "sqs": "SQS", "events": "EventBridge"}


def s3_client(options: ClientOptions) -> S3Client:
    client: S3Client = _client("s3", options)
    return client


def sqs_client(options: ClientOptions) -> SQSClient:
    client: SQSClient = _client("sqs", options)
    return client


def events_client(options: ClientOptions) -> Any:
    """EventBridge; botocore honours ``AWS_ENDPOINT_URL_EVENTS`` when no endpoint is set."""
    return _client("events", options)


def map_error(exc: Exception, *, where: str, action: str, bucket: str | None = None) -> Exception:
    """A botocore exception -> the typed thumbsmith error that says what went wrong.

    ``where`` names the object or queue (``s3://b/k``, a queue URL); ``bucket`` is given
    for S3 calls so a missing bucket is named as one. Returns ``exc`` unchanged when it
    is not a botocore error, so a bug is never disguised as a storage problem.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        error: Mapping[str, Any] = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = str(error.get("Message", "") or code)
        return _client_error(code, status, message, where=where, action=action, bucket=bucket)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AccessDenied(f"{action} {where}: no usable AWS credentials ({exc})")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return TransientError(f"{action} {where}: cannot reach the endpoint ({exc})")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"{action} {where}: {exc}")
    return exc


def _client_error(
    code: str, status: int, message: str, *, where: str, action: str, bucket: str | None
) -> ThumbsmithError:
    if code in _NO_BUCKET:
        return BucketNotFound(f"bucket {bucket!r} does not exist ({action} {where})")
    if code in _NO_QUEUE:
        return ConfigError(f"queue {where!r} does not exist")
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
