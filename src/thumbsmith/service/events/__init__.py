"""Event sources -> :class:`ObjectEvent`, one module per source.

Every way of running thumbsmith (Lambda, worker, backfill, watch, convert, receive) builds
``ObjectEvent``s and hands them to :meth:`thumbsmith.service.process.Processor.process`.
:func:`parse` understands, nested in any of the ways AWS nests them:

* S3 notification records, also as MinIO sends them (:mod:`.s3`);
* SQS records whose body is any of these, SNS records and SNS envelopes (:mod:`.envelopes`);
* EventBridge ``Object Created`` / ``Object Deleted`` events (:mod:`.eventbridge`);
* SeaweedFS filer notifications (:mod:`.seaweedfs`);
* and, through :func:`batch_task`, the tasks of an S3 Batch Operations invocation
  (:mod:`.s3_batch`).

Keys are decoded in each source's module, exactly once, by that source's rule; nothing
downstream decodes again. Where the rule is not settled (EventBridge, Batch), the other
plausible decodings ride along as ``ObjectEvent.alt_keys``. A new source (Ceph RGW push,
GCS Pub/Sub) is one module with an :class:`~.source.EventSource` and one line in
:data:`.parse.SHAPES`. What to do with the message that carried the events is decided
in :mod:`thumbsmith.service.dispatch`.
"""

from thumbsmith.service.events.model import EventKind, ObjectEvent, decodings, quote_payload
from thumbsmith.service.events.parse import parse
from thumbsmith.service.events.s3_batch import batch_task
from thumbsmith.service.events.seaweedfs import SEAWEED_BUCKETS, seaweed_filer_events

__all__ = [
    "SEAWEED_BUCKETS",
    "EventKind",
    "ObjectEvent",
    "batch_task",
    "decodings",
    "parse",
    "quote_payload",
    "seaweed_filer_events",
]
