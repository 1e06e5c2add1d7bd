"""Payload shapes -> ObjectEvents, from fixtures in AWS's documented shapes (tests/events)."""

from __future__ import annotations

import json

import pytest

from support.aws import load_event
from thumbsmith.errors import BadEvent
from thumbsmith.service.events import EventKind, ObjectEvent, parse

SPACE = "images/red flower.jpg"
PLUS = "images/c++ logo.png"
UNICODE = "images/üñîcödé/写真.jpg"


def keys(events: list[ObjectEvent]) -> list[str]:
    return [e.key for e in events]


def test_s3_put_decodes_keys_once() -> None:
    events = parse(load_event("s3-put.json"))
    assert keys(events) == [SPACE, PLUS, UNICODE]
    assert {e.kind for e in events} == {EventKind.CREATED}
    assert events[0].bucket == "amzn-s3-demo-bucket"
    assert events[0].etag == "0123456789abcdef0123456789abcdef"
    assert events[0].size == 1024
    assert events[0].sequencer == "0A1B2C3D4E5F678901"
    assert events[2].etag == "9b2cf535f27731c974343645a3985328-2"


def test_literal_percent_survives_single_decode() -> None:
    # A key that really contains "%2F" arrives as "%252F"; decoding twice would break it.
    record = load_event("s3-put.json")["Records"][0]
    record["s3"]["object"]["key"] = "images/100%25+off%252F.jpg"
    assert keys(parse({"Records": [record]})) == ["images/100% off%2F.jpg"]


def test_s3_delete() -> None:
    (event,) = parse(load_event("s3-delete.json"))
    assert event == ObjectEvent(
        "amzn-s3-demo-bucket",
        SPACE,
        EventKind.REMOVED,
        sequencer="0A1B2C3D4E5F678904",
        source="s3",
    )


def test_sqs_batch_of_s3_bodies() -> None:
    events = parse(load_event("sqs-s3.json"))
    assert keys(events) == [SPACE, PLUS, UNICODE]
    assert events[0].source == "sqs/s3"


def test_sqs_test_event_gives_nothing() -> None:
    assert parse(load_event("sqs-s3-test-event.json")) == []
    body = load_event("sqs-s3-test-event.json")["Records"][0]["body"]
    assert parse(body) == []


def test_sns_to_lambda() -> None:
    (event,) = parse(load_event("sns-s3.json"))
    assert event.key == SPACE and event.source == "sns/s3"


def test_sns_to_sqs_raw_and_enveloped() -> None:
    events = parse(load_event("sqs-sns-s3.json"))
    assert keys(events) == [PLUS, UNICODE]
    # Each SQS body on its own too (what the worker sees).
    bodies = [r["body"] for r in load_event("sqs-sns-s3.json")["Records"]]
    assert keys(parse(bodies[0])) == [PLUS]
    assert keys(parse(bodies[1])) == [UNICODE]


def test_eventbridge_created_and_deleted() -> None:
    (created,) = parse(load_event("eventbridge-object-created.json"))
    assert created.kind is EventKind.CREATED and created.key == SPACE
    assert created.etag == "b1946ac92492d2347c6235b4d2611184" and created.size == 5
    (deleted,) = parse(load_event("eventbridge-object-deleted.json"))
    assert deleted.kind is EventKind.REMOVED and deleted.key == SPACE


def test_eventbridge_other_types_are_skipped() -> None:
    event = load_event("eventbridge-object-created.json")
    event["detail-type"] = "Object Tags Added"
    assert parse(event) == []


def test_minio_webhook() -> None:
    (event,) = parse(load_event("minio-put.json"))
    assert (event.bucket, event.key, event.kind) == ("photos", SPACE, EventKind.CREATED)
    assert event.source == "minio"
    # The same body as raw bytes, as an HTTP endpoint would receive it.
    assert parse(json.dumps(load_event("minio-put.json")).encode()) == [event]


def test_moto_shape_percent_2f_and_duplicate_multipart_records() -> None:
    # What moto delivers: '/' as %2F (quote_plus), no sequencer, two records per
    # multipart upload.
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:CompleteMultipartUpload",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "thumbsmith",
            "bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
            "object": {"key": "images%2Fa+b%2B.jpg", "size": 3, "eTag": "abc-2"},
        },
    }
    events = parse(json.dumps({"Records": [record, record]}))
    assert keys(events) == ["images/a b+.jpg"]
    assert events[0].sequencer is None


def test_other_s3_event_names_are_skipped() -> None:
    record = load_event("s3-put.json")["Records"][0]
    record["eventName"] = "ObjectRestore:Completed"
    assert parse({"Records": [record]}) == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"hello": "world"}, "not an S3, SQS, SNS or EventBridge event"),
        ({"Records": []}, "non-empty list"),
        ({"Records": [{"eventSource": "aws:kinesis"}]}, "unknown source"),
        ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "without eventName"),
        (
            {"source": "aws.ec2", "detail-type": "EC2 Instance State-change", "detail": {}},
            "not aws.s3",
        ),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_events_are_clear(payload: object, fragment: str) -> None:
    with pytest.raises(BadEvent) as info:
        parse(payload)
    assert fragment in str(info.value)
    assert "received:" in str(info.value)


def test_bad_event_quote_is_truncated() -> None:
    with pytest.raises(BadEvent) as info:
        parse({"junk": "x" * 5000})
    assert len(str(info.value)) < 500 and "chars)" in str(info.value)
