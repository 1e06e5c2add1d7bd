"""Envelopes around S3 notifications: SQS records (S3 -> SQS), SNS records (S3 -> SNS ->
Lambda) and SNS envelopes (SNS -> SQS without raw message delivery, SNS -> HTTP). With raw
delivery the SQS body is the notification itself, which the nested parse reads as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from thumbsmith.service.events.model import ObjectEvent, bad
from thumbsmith.service.events.source import EventSource, Nested


def _source(record: dict[str, Any]) -> object:
    return record.get("eventSource") or record.get("EventSource")


def is_sqs_record(record: dict[str, Any]) -> bool:
    return _source(record) == "aws:sqs"


def sqs_record(record: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    yield from nested(SQSRecord(record).body, "sqs")


def is_sns_record(record: dict[str, Any]) -> bool:
    return _source(record) == "aws:sns"


def sns_record(record: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord

    yield from nested(SNSEventRecord(record).sns.message, "sns")


def is_sns_envelope(data: dict[str, Any]) -> bool:
    return "Message" in data and "TopicArn" in data


def sns_envelope(data: dict[str, Any], via: str, nested: Nested) -> Iterator[ObjectEvent]:
    if data.get("Type") == "SubscriptionConfirmation":
        raise bad("SNS subscription confirmation, not an S3 event", data)
    yield from nested(data["Message"], "sns")


SQS_RECORD = EventSource("sqs record", is_sqs_record, sqs_record)
SNS_RECORD = EventSource("sns record", is_sns_record, sns_record)
SNS_ENVELOPE = EventSource("sns envelope", is_sns_envelope, sns_envelope)
