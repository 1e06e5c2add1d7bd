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
from typing import Any
from urllib.parse import quote_plus

from thumbsmith.adapters.queue.sqs import BATCH, SqsQueue
from thumbsmith.service.keys import KeyMapper
from thumbsmith.service.ports import ObjectInfo, Store

log = logging.getLogger("thumbsmith")


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


def enqueue(store: Store, bucket: str, prefix: str, queue: SqsQueue, keys: KeyMapper) -> int:
    """Send one ``ObjectCreated:Put`` event per object under ``prefix``; return the count.

    Objects the processor would ignore (folders, thumbsmith's own renditions) are not
    sent. Re-running is harmless: the consumer skips renditions already up to date.
    """
    wanted = (
        info
        for info in store.list(bucket, prefix)
        if not info.key.endswith("/") and not keys.is_own_output(bucket, info.key)
    )
    count = 0
    for chunk in _chunks(wanted, BATCH):
        queue.send_batch([json.dumps(s3_event(info, queue.region)) for info in chunk])
        count += len(chunk)
        log.debug("enqueued batch", extra={"count": count})
    return count
