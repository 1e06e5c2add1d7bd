"""Object keys round-trip through every event shape, in each source's encoding.

Each shape is built from the fixtures in tests/events (AWS's and MinIO's documented
shapes) with only the key replaced. Notification keys (S3, SQS, SNS, SNS -> SQS, MinIO)
are form-encoded as AWS documents, with ``/`` kept or escaped (moto escapes it);
EventBridge keys percent-encoded with ``+`` left alone (what production events show);
Batch Operations keys form- or percent-encoded. Where a source's rule is not settled,
the real key must at least be among the decodings processing tries (``alt_keys``).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from support.aws import load_event, make_buckets, retarget
from support.helpers import jpeg
from thumbsmith import aws_lambda
from thumbsmith import settings as S
from thumbsmith.adapters.storage.local import LocalStore
from thumbsmith.runners.bootstrap import processor, s3_store
from thumbsmith.service.events import EventKind, ObjectEvent, batch_task, parse
from thumbsmith.service.process import Processor

KEYS = [
    "images/red flower.jpg",
    "images/c++ logo.png",
    "images/100% off.jpg",
    "images/#1 pick.jpg",
    unicodedata.normalize("NFC", "images/café/写真.jpg"),
    unicodedata.normalize("NFD", "images/café/写真.jpg"),
    "images/🐈‍⬛ cat 👍🏽.jpg",
    "images/a+b %2B c#d&e=f?.jpg",  # a literal "%2B" in the key itself
]
IDS = ["space", "plus", "percent", "hash", "nfc", "nfd", "emoji", "mixed"]

Encode = Callable[[str], str]
FORM: dict[str, Encode] = {
    "form": lambda k: quote_plus(k, safe="/"),
    "form-slash-escaped": lambda k: quote_plus(k, safe=""),
}
PERCENT: dict[str, Encode] = {"percent": lambda k: quote(k, safe="/")}


def notification(encoded: str) -> dict[str, Any]:
    record = load_event("s3-put.json")["Records"][0]
    record["s3"]["object"]["key"] = encoded
    return {"Records": [record]}


def via_sqs(body: dict[str, Any]) -> dict[str, Any]:
    record = load_event("sqs-s3.json")["Records"][0]
    record["body"] = json.dumps(body)
    return {"Records": [record]}


def via_sns(message: dict[str, Any]) -> dict[str, Any]:
    record = load_event("sns-s3.json")["Records"][0]
    record["Sns"]["Message"] = json.dumps(message)
    return {"Records": [record]}


def sns_envelope(message: dict[str, Any]) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(load_event("sqs-sns-s3.json")["Records"][0]["body"])
    envelope["Message"] = json.dumps(message)
    return envelope


def minio(encoded: str, key: str) -> dict[str, Any]:
    event = load_event("minio-put.json")
    event["Key"] = f"photos/{key}"
    event["Records"][0]["s3"]["object"]["key"] = encoded
    return event


def eventbridge(encoded: str) -> dict[str, Any]:
    event = load_event("eventbridge-object-created.json")
    event["detail"]["object"]["key"] = encoded
    return event


NOTIFICATION_SHAPES: dict[str, Callable[[str, str], object]] = {
    "s3": lambda enc, key: notification(enc),
    "sqs": lambda enc, key: via_sqs(notification(enc)),
    "sns": lambda enc, key: via_sns(notification(enc)),
    "sns-sqs-raw": lambda enc, key: via_sqs(notification(enc)),
    "sns-sqs-envelope": lambda enc, key: via_sqs(sns_envelope(notification(enc))),
    "sqs-body-alone": lambda enc, key: json.dumps(sns_envelope(notification(enc))),
    "minio": minio,
}


def only(payload: object) -> ObjectEvent:
    (event,) = parse(payload)
    return event


@pytest.mark.parametrize("key", KEYS, ids=IDS)
@pytest.mark.parametrize("encoding", [*FORM, *PERCENT])
@pytest.mark.parametrize("shape", NOTIFICATION_SHAPES)
def test_notification_shapes_decode_exactly(shape: str, encoding: str, key: str) -> None:
    encoded = {**FORM, **PERCENT}[encoding](key)
    event = only(NOTIFICATION_SHAPES[shape](encoded, key))
    assert event.key == key
    assert event.alt_keys == ()  # AWS documents this encoding: nothing else to try


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_eventbridge_percent_encoding_decodes_exactly(key: str) -> None:
    event = only(eventbridge(quote(key, safe="/+")))
    assert event.key == key and event.source == "eventbridge"


@pytest.mark.parametrize("key", KEYS, ids=IDS)
@pytest.mark.parametrize("encoding", ["form", "form-slash-escaped", "percent", "unencoded"])
def test_eventbridge_other_encodings_are_among_the_candidates(encoding: str, key: str) -> None:
    encoded = key if encoding == "unencoded" else {**FORM, **PERCENT}[encoding](key)
    event = only(eventbridge(encoded))
    assert key in (event.key, *event.alt_keys)
    assert len({event.key, *event.alt_keys}) == 1 + len(event.alt_keys), "no duplicates"


@pytest.mark.parametrize("key", KEYS, ids=IDS)
@pytest.mark.parametrize("fixture", ["s3-batch-v1.json", "s3-batch-v2.json"])
def test_batch_tasks_decode_form_and_percent_encoding(fixture: str, key: str) -> None:
    task = load_event(fixture)["tasks"][0]
    for encode in (*FORM.values(), *PERCENT.values()):
        event = batch_task({**task, "s3Key": encode(key)})
        assert (event.bucket, event.key) == ("amzn-s3-demo-bucket", key)
    # AWS's own example decodes with unquote: a literal "+" then means "+".
    event = batch_task({**task, "s3Key": quote(key, safe="/+")})
    assert key in (event.key, *event.alt_keys)


# --- the safety net: another decoding tried when the first is not found -------------------
def eb_event(raw_key: str, kind: EventKind = EventKind.CREATED) -> ObjectEvent:
    payload = eventbridge(raw_key)
    payload["detail"]["bucket"]["name"] = "photos"
    if kind is EventKind.REMOVED:
        payload["detail-type"] = "Object Deleted"
    return only(payload)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "photos").mkdir()
    return LocalStore(tmp_path)


@pytest.fixture
def proc(store: LocalStore) -> Processor:
    return processor(store, S.load(env={"THUMBSMITH_RENDITIONS": "thumb=160"}))


def put_source(store: LocalStore, key: str) -> None:
    store.put("photos", key, jpeg(320, 240), content_type="image/jpeg")


def has_rendition(store: LocalStore, key: str) -> bool:
    return any(o.key == f"thumb/{key}.jpg" for o in store.list("photos-output"))


def test_created_falls_back_to_the_other_decoding(
    store: LocalStore, proc: Processor, caplog: pytest.LogCaptureFixture
) -> None:
    put_source(store, "images/x y.jpg")
    # A form-encoded EventBridge key: "x+y" is tried first, is not there, "x y" is.
    with caplog.at_level("WARNING", logger="thumbsmith"):
        outcome = proc.process(eb_event("images/x+y.jpg"))
    assert outcome.status == "written"
    assert outcome.event.key == "images/x y.jpg"
    assert outcome.written == ["s3://photos-output/thumb/images/x y.jpg.jpg"]
    assert [r.getMessage() for r in caplog.records] == ["key_found_by_other_decoding"]
    assert caplog.records[0].__dict__["found"] == "images/x y.jpg"


def test_created_prefers_the_primary_decoding(store: LocalStore, proc: Processor) -> None:
    put_source(store, "images/a+b.jpg")
    put_source(store, "images/a b.jpg")
    outcome = proc.process(eb_event("images/a+b.jpg"))
    assert outcome.written == ["s3://photos-output/thumb/images/a+b.jpg.jpg"]
    assert not has_rendition(store, "images/a b.jpg")


def test_created_with_no_decoding_found_is_ignored(store: LocalStore, proc: Processor) -> None:
    outcome = proc.process(eb_event("images/gone+for%20good.jpg"))
    assert (outcome.status, outcome.reason) == ("ignored", "source no longer exists")


@pytest.mark.parametrize(
    ("existing", "gone"),
    [("images/a b.jpg", "images/a+b.jpg"), ("images/a+b.jpg", "images/a b.jpg")],
)
def test_removal_never_deletes_renditions_of_an_existing_key(
    store: LocalStore, proc: Processor, existing: str, gone: str
) -> None:
    for key in (existing, gone):
        put_source(store, key)
        assert proc.process(eb_event(quote(key, safe="/+"))).status == "written"
    store.delete("photos", gone)
    outcome = proc.process(eb_event("images/a+b.jpg", EventKind.REMOVED))
    assert outcome.status == "deleted"
    assert outcome.deleted == [f"s3://photos-output/thumb/{gone}.jpg"]
    assert has_rendition(store, existing) and not has_rendition(store, gone)


def test_removal_with_every_decoding_present_keeps_everything(
    store: LocalStore, proc: Processor
) -> None:
    for key in ("images/a b.jpg", "images/a+b.jpg"):
        put_source(store, key)
        proc.process(eb_event(quote(key, safe="/+")))
    outcome = proc.process(eb_event("images/a+b.jpg", EventKind.REMOVED))
    assert outcome.status == "ignored" and outcome.deleted == []
    assert has_rendition(store, "images/a b.jpg") and has_rendition(store, "images/a+b.jpg")


def test_handler_on_s3_finds_eventbridge_keys_in_either_encoding(s3: Any, name: str) -> None:
    settings = S.load(env={"THUMBSMITH_RENDITIONS": "thumb=160", "THUMBSMITH_RETRY_ATTEMPTS": "2"})
    make_buckets(s3, name)
    keys = {"images/c++ 100%.jpg": "images/c++%20100%25.jpg", "images/x y.jpg": "images/x+y.jpg"}
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=jpeg(320, 240))
    aws_lambda.use(processor(s3_store(settings), settings), settings)
    try:
        for key, encoded in keys.items():
            result = aws_lambda.handler(retarget(eventbridge(encoded), name), None)
            assert result["outcomes"][0]["status"] == "written", result
            thumb = s3.head_object(Bucket=f"{name}-output", Key=f"thumb/{key}.jpg")
            assert thumb["Metadata"]["thumbsmith-source-key"] == key
    finally:
        aws_lambda.use(None)
