"""``thumbsmith backfill s3://BUCKET/PREFIX --enqueue QUEUE_URL``: fan a backfill out.

Instead of processing every object here, send one S3-shaped ``ObjectCreated:Put``
notification per object to SQS, so the Lambda or a worker fleet does the work through
exactly the path a live upload takes. Keys are URL-encoded the way S3 encodes them, so
the consumer's single decode gives the key back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from thumbsmith.errors import (
    AccessDenied,
    ConfigError,
    StorageError,
    ThumbsmithError,
    TransientError,
)
from thumbsmith.keys import KeyMapper
from thumbsmith.settings import Settings
from thumbsmith.storage import ObjectInfo, Store

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

log = logging.getLogger("thumbsmith")

BATCH = 10  # SendMessageBatch's limit
_RESEND_ATTEMPTS = 5


def s3_event(info: ObjectInfo, region: str = "us-east-1") -> dict[str, Any]:
    """The notification S3 would have sent for this object's upload."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    obj: dict[str, Any] = {"key": quote_plus(info.key, safe="/"), "size": info.size}
    if info.etag:
        obj["eTag"] = info.etag
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now,
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "thumbsmith-backfill"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "thumbsmith-backfill",
                    "bucket": {"name": info.bucket, "arn": f"arn:aws:s3:::{info.bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def _chunks(items: Iterable[ObjectInfo], size: int) -> Iterator[list[ObjectInfo]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _send(
    sqs: SQSClient, queue_url: str, entries: list[SendMessageBatchRequestEntryTypeDef]
) -> None:
    """Send one batch; resend the entries SQS reports failed (throttled, internal)."""
    pending = entries
    for _ in range(_RESEND_ATTEMPTS):
        resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=pending)
        failed = resp.get("Failed", [])
        if not failed:
            return
        sender_fault = [f for f in failed if f.get("SenderFault")]
        if sender_fault:
            first = sender_fault[0]
            raise TransientError(
                f"SQS refused {len(sender_fault)} message(s): {first.get('Code')} "
                f"{first.get('Message', '')}"
            )
        ids = {f["Id"] for f in failed}
        pending = [e for e in pending if e["Id"] in ids]
    raise TransientError(f"SQS kept failing {len(pending)} message(s) of a batch")


def map_error(exc: Exception, queue_url: str) -> ThumbsmithError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return ConfigError(f"queue {queue_url!r} does not exist")
        if status == 403 or "AccessDenied" in code:
            return AccessDenied(f"access denied sending to {queue_url!r} ({code})")
        if status >= 500 or "Throttl" in code:
            return TransientError(f"sending to {queue_url!r} failed after retries ({code})")
        return StorageError(f"sending to {queue_url!r} failed: {code} {exc}")
    return TransientError(f"cannot reach SQS at {queue_url!r}: {exc}")


def enqueue(store: Store, bucket: str, prefix: str, queue_url: str, settings: Settings) -> int:
    """Send one ``ObjectCreated:Put`` event per object under ``prefix``; return the count.

    Objects the processor would ignore (folders, thumbsmith's own renditions) are not
    sent. Re-running is harmless: the consumer skips renditions already up to date.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from thumbsmith.storage.s3 import sqs_client

    sqs = sqs_client(settings)
    region = sqs.meta.region_name or "us-east-1"
    keys = KeyMapper.from_settings(settings)
    wanted = (
        info
        for info in store.list(bucket, prefix)
        if not info.key.endswith("/") and not keys.is_own_output(bucket, info.key)
    )
    count = 0
    for chunk in _chunks(wanted, BATCH):
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": json.dumps(s3_event(info, region))}
            for i, info in enumerate(chunk)
        ]
        try:
            _send(sqs, queue_url, entries)
        except (ClientError, BotoCoreError) as exc:
            raise map_error(exc, queue_url) from exc
        count += len(entries)
        log.debug("enqueued batch", extra={"count": count})
    return count
