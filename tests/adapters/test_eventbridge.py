"""EventBridge on the moto server: a rule routes "Renditions Ready" to SQS, with the
manifest as the event's detail; a removal sends "Renditions Deleted"; S3 headers."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from support.aws import drain, make_buckets
from support.helpers import jpeg
from thumbsmith.adapters.notify.eventbridge import MAX_ENTRY_BYTES, EventBridgeNotifier
from thumbsmith.errors import NotifyError
from thumbsmith.runners.bootstrap import processor, s3_store
from thumbsmith.service.events import EventKind, ObjectEvent
from thumbsmith.settings import Settings


@pytest.fixture
def events(moto_url: str) -> Any:
    return boto3.client("events")


def bus_to_queue(events: Any, sqs: Any, name: str, detail_types: list[str]) -> str:
    events.create_event_bus(Name=name)
    url: str = sqs.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["thumbsmith"], "detail-type": detail_types}
    events.put_rule(Name=f"{name}-rule", EventBusName=name, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=f"{name}-rule", EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}]
    )
    return url


def test_renditions_ready_reaches_sqs_with_the_manifest(
    s3: Any, sqs: Any, events: Any, name: str, settings: Settings
) -> None:
    make_buckets(s3, name)
    url = bus_to_queue(events, sqs, name, ["Renditions Ready", "Renditions Deleted"])
    s3.put_object(Bucket=name, Key="images/cat.jpg", Body=jpeg(), ContentType="image/jpeg")
    settings = settings.replace(notify_eventbridge_bus=name)
    proc = processor(s3_store(settings), settings)

    proc.process(ObjectEvent(name, "images/cat.jpg", EventKind.CREATED))
    [message] = drain(sqs, url, wait=1)
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("thumbsmith", "Renditions Ready")
    stored = s3.get_object(Bucket=f"{name}-output", Key="manifest/images/cat.jpg.json")
    assert event["detail"] == json.loads(stored["Body"].read())
    assert event["resources"] == [f"arn:aws:s3:::{name}/images/cat.jpg"]

    # The rendition's headers, as S3 returns them.
    head = s3.head_object(Bucket=f"{name}-output", Key="large/images/cat.jpg.jpg")
    assert head["ContentDisposition"] == 'inline; filename="cat.jpg"'
    assert head["CacheControl"] == settings.cache_control

    s3.delete_object(Bucket=name, Key="images/cat.jpg")
    proc.process(ObjectEvent(name, "images/cat.jpg", EventKind.REMOVED))
    [message] = drain(sqs, url, wait=1)
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Renditions Deleted"
    assert event["detail"]["source"] == {"bucket": name, "key": "images/cat.jpg"}


def test_missing_bus_fails_as_transient(events: Any, name: str) -> None:
    notifier = EventBridgeNotifier(events, f"{name}-no-such-bus")
    with pytest.raises(NotifyError) as err:
        notifier.send("Renditions Ready", {"version": 1}, subject="s3://b/k")
    assert not err.value.permanent
    assert f"{name}-no-such-bus" in str(err.value)


def test_an_event_over_256_kib_is_refused_before_sending(events: Any, name: str) -> None:
    events.create_event_bus(Name=name)
    notifier = EventBridgeNotifier(events, name)
    with pytest.raises(NotifyError, match="256 KiB") as err:
        notifier.send("Renditions Ready", {"pad": "x" * MAX_ENTRY_BYTES}, subject="s3://b/k")
    assert err.value.permanent


def test_non_ascii_file_name_reaches_s3_intact(s3: Any, name: str, settings: Settings) -> None:
    """The header is ASCII, so botocore signs it right; the real name is in filename*."""
    make_buckets(s3, name)
    key = "images/猫 größe.jpg"
    s3.put_object(Bucket=name, Key=key, Body=jpeg(), ContentType="image/jpeg")
    processor(s3_store(settings), settings).process(ObjectEvent(name, key, EventKind.CREATED))
    head = s3.head_object(Bucket=f"{name}-output", Key=f"thumb/{key}.jpg")
    assert head["ContentDisposition"] == (
        "inline; filename=\"groe.jpg\"; filename*=UTF-8''%E7%8C%AB%20gr%C3%B6%C3%9Fe.jpg"
    )
