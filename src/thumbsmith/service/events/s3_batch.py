"""S3 Batch Operations tasks (invocation schema 1.0 and 2.0), one object each.

Keys are URL-encoded; Powertools found by testing real jobs that ``unquote_plus`` is
right (its PR 3572), while AWS's own example uses ``unquote``: the other decoding rides
along as ``ObjectEvent.alt_keys``. The Lambda runner routes Batch invocations here
itself (:mod:`thumbsmith.runners.s3_batch`): they are answered per task, not parsed as
one payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, unquote_plus

from thumbsmith.service.events.model import ObjectEvent, bad, decodings


def batch_task(task: Mapping[str, Any]) -> ObjectEvent:
    """One S3 Batch Operations task (invocation schema 1.0 or 2.0) -> an ObjectEvent.

    Schema 1.0 names the bucket by ARN (``arn:aws:s3:::bucket``, which may carry a
    region and account), 2.0 by name (``s3Bucket``). Raises :class:`BadEvent`.
    """
    raw_key = task.get("s3Key")
    arn, name = task.get("s3BucketArn"), task.get("s3Bucket")
    bucket = str(arn).split(":", 5)[5] if isinstance(arn, str) and arn.count(":") >= 5 else name
    if not isinstance(raw_key, str) or not raw_key or not isinstance(bucket, str) or not bucket:
        raise bad("S3 Batch Operations task without s3Key or bucket", task)
    key, alt_keys = decodings(raw_key, unquote_plus, unquote)
    return ObjectEvent(bucket=bucket, key=key, source="s3-batch", alt_keys=alt_keys)
