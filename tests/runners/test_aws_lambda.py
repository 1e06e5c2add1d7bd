"""The Lambda handler on real payloads: fixtures in AWS's shapes and what moto delivers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from support.aws import (
    LogCollector,
    drain,
    jpeg_size,
    load_event,
    make_buckets,
    make_queue,
    notify,
    queue_arn,
    retarget,
    sqs_lambda_event,
)
from support.helpers import corpus_bytes
from thumbsmith import aws_lambda
from thumbsmith.adapters.storage.s3 import S3Store
from thumbsmith.errors import TransientError
from thumbsmith.runners.bootstrap import processor, s3_store
from thumbsmith.service.ports import ObjectInfo
from thumbsmith.settings import Settings

SPACE = "images/red flower.jpg"
PLUS = "images/c++ logo.png"
UNICODE = "images/üñîcödé/写真.jpg"
EXAMPLE_SIZES = {SPACE: (600, 450), PLUS: (100, 100), UNICODE: (320, 240)}
SIZES = {"large": 1280, "medium": 640, "thumb": 160}


class FlakyStore:
    """An S3Store whose reads of keys containing 'flaky' fail as S3 being down would."""

    def __init__(self, inner: S3Store) -> None:
        self.inner = inner

    def _check(self, key: str) -> None:
        if "flaky" in key:
            raise TransientError("injected: S3 unavailable")

    def get(self, bucket: str, key: str) -> tuple[bytes, ObjectInfo]:
        self._check(key)
        return self.inner.get(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self._check(key)
        return self.inner.head(bucket, key)

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        return self.inner.put(
            bucket,
            key,
            data,
            content_type=content_type,
            metadata=metadata,
            cache_control=cache_control,
            content_disposition=content_disposition,
            tags=tags,
        )

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(bucket, prefix)


@pytest.fixture
def handler_store(settings: Settings) -> Iterator[S3Store]:
    store = s3_store(settings)
    aws_lambda.use(processor(FlakyStore(store), settings), settings)
    yield store
    aws_lambda.use(None)


def assert_renditions(s3: Any, bucket: str, key: str, source: tuple[int, int]) -> None:
    for name, box in SIZES.items():
        obj = s3.get_object(Bucket=f"{bucket}-output", Key=f"{name}/{key}.jpg")
        assert obj["ContentType"] == "image/jpeg"
        assert obj["CacheControl"] == "public, max-age=86400"
        w, h = jpeg_size(obj["Body"].read())
        scale = min(box / source[0], box / source[1], 1.0)
        assert (w, h) == (round(source[0] * scale), round(source[1] * scale)), name


def upload_examples(s3: Any, bucket: str) -> None:
    make_buckets(s3, bucket)
    s3.put_object(Bucket=bucket, Key=SPACE, Body=corpus_bytes("sharp__Landscape_1.jpg"))
    s3.put_object(Bucket=bucket, Key=PLUS, Body=corpus_bytes("imagers__ball.png"))
    s3.put_object(Bucket=bucket, Key=UNICODE, Body=corpus_bytes("imagers__cat.jpg"))


def test_direct_s3_put_then_duplicate_then_delete(
    s3: Any, name: str, handler_store: S3Store
) -> None:
    upload_examples(s3, name)
    result = aws_lambda.handler(retarget(load_event("s3-put.json"), name), None)
    assert result["verdict"] == "done"
    assert [o["status"] for o in result["outcomes"]] == ["written"] * 3
    assert_renditions(s3, name, SPACE, (600, 450))
    assert_renditions(s3, name, PLUS, (100, 100))
    assert_renditions(s3, name, UNICODE, (320, 240))
    meta = s3.head_object(Bucket=f"{name}-output", Key=f"thumb/{SPACE}.jpg")["Metadata"]
    assert meta["thumbsmith-source-etag"] == s3.head_object(Bucket=name, Key=SPACE)["ETag"].strip(
        '"'
    )

    # A duplicate delivery is a cheap skip.
    again = aws_lambda.handler(retarget(load_event("s3-put.json"), name), None)
    assert [o["status"] for o in again["outcomes"]] == ["skipped"] * 3

    # A removal while the source still exists (out of order) keeps the renditions...
    delete = retarget(load_event("s3-delete.json"), name)
    kept = aws_lambda.handler(delete, None)
    assert kept["outcomes"][0]["status"] == "ignored"
    # ...and once the source is really gone, they go too.
    s3.delete_object(Bucket=name, Key=SPACE)
    gone = aws_lambda.handler(delete, None)
    assert gone["outcomes"][0]["status"] == "deleted"
    listed = s3.list_objects_v2(Bucket=f"{name}-output").get("Contents", [])
    assert not [o for o in listed if o["Key"].endswith(f"{SPACE}.jpg")]


@pytest.mark.parametrize(
    "fixture",
    [
        "sns-s3.json",
        "eventbridge-object-created.json",
        "minio-put.json",
        "sqs-s3.json",
        "sqs-sns-s3.json",
    ],
)
def test_every_shape_renders(s3: Any, name: str, handler_store: S3Store, fixture: str) -> None:
    upload_examples(s3, name)
    result = aws_lambda.handler(retarget(load_event(fixture), name), None)
    if fixture.startswith("sqs"):
        assert result == {"batchItemFailures": []}
    else:
        assert result["verdict"] == "done" and result["outcomes"][0]["status"] == "written"
    expected = {
        "sns-s3.json": [SPACE],
        "eventbridge-object-created.json": [SPACE],
        "minio-put.json": [SPACE],
        "sqs-s3.json": [SPACE, PLUS, UNICODE],
        "sqs-sns-s3.json": [PLUS, UNICODE],
    }[fixture]
    for key in expected:
        assert_renditions(s3, name, key, EXAMPLE_SIZES[key])
    written = {o["Key"] for o in s3.list_objects_v2(Bucket=f"{name}-output").get("Contents", [])}
    assert len(written) == 4 * len(expected)  # three renditions and a manifest each


def test_eventbridge_delete_removes_renditions(s3: Any, name: str, handler_store: S3Store) -> None:
    make_buckets(s3, name)
    for rendition in SIZES:
        s3.put_object(Bucket=f"{name}-output", Key=f"{rendition}/{SPACE}.jpg", Body=b"old")
    result = aws_lambda.handler(retarget(load_event("eventbridge-object-deleted.json"), name), None)
    assert result["outcomes"][0]["status"] == "deleted"
    assert s3.list_objects_v2(Bucket=f"{name}-output").get("KeyCount", 0) == 0


def test_mixed_sqs_batch_reports_exactly_the_retryable(
    s3: Any,
    name: str,
    handler_store: S3Store,
    logs: LogCollector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/good.jpg", Body=corpus_bytes("sharp__Landscape_6.jpg"))
    s3.put_object(Bucket=name, Key="images/bad.jpg", Body=corpus_bytes("sharp__truncated.jpg"))
    s3.put_object(Bucket=name, Key="images/flaky.jpg", Body=corpus_bytes("imagers__cat.jpg"))
    template = load_event("sqs-s3.json")["Records"][0]
    record_body = retarget(load_event("s3-put.json"), name)["Records"][0]

    def record(message_id: str, key: str | None = None, body: str | None = None) -> Any:
        r = dict(template, messageId=message_id)
        if body is None:
            rec = dict(record_body, s3=dict(record_body["s3"], object={"key": key, "size": 1}))
            body = json.dumps({"Records": [rec]})
        r["body"] = body
        return r

    event = {
        "Records": [
            record("good", "images/good.jpg"),
            record("corrupt", "images/bad.jpg"),
            record("missing", "images/not-there.jpg"),
            record("transient", "images/flaky.jpg"),
            record("poison", body="{this is not json"),
            record("test-event", body=load_event("sqs-s3-test-event.json")["Records"][0]["body"]),
        ]
    }
    result = aws_lambda.handler(event, None)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == [
        "poison",
        "transient",
    ]
    assert_renditions(s3, name, "images/good.jpg", (600, 450))  # upright after EXIF 6
    permanent = logs.messages("permanent_failure")
    assert [(r.__dict__["object"], r.__dict__["kind"]) for r in permanent] == [
        (f"s3://{name}/images/bad.jpg", "corrupt")
    ]
    assert logs.messages("bad_event") and logs.messages("transient_failure")
    # CloudWatch EMF on stdout: namespace thumbsmith, failures by kind, processed count.
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert all(m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "thumbsmith" for m in emf)
    failures = sorted(m["kind"] for m in emf if "Failures" in m)
    assert failures == ["bad_event", "corrupt", "transient"]
    assert any(m.get("ImagesProcessed") == [1.0] or m.get("ImagesProcessed") == 1.0 for m in emf)
    assert any("ProcessingTime" in m for m in emf)
    # Nothing half-written for the corrupt one.
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=f"{name}-output").get("Contents", [])}
    assert not [k for k in listed if "bad.jpg" in k]


def test_direct_transient_raises_and_poison_does_not(
    s3: Any, name: str, handler_store: S3Store
) -> None:
    make_buckets(s3, name)
    event = retarget(load_event("s3-put.json"), name)
    event["Records"][0]["s3"]["object"]["key"] = "images/flaky.jpg"
    with pytest.raises(aws_lambda.RetryableFailure, match="S3 unavailable"):
        aws_lambda.handler(event, None)
    # An event we cannot read: a clear error, and no retry (it would fail the same way).
    result = aws_lambda.handler({"what": "is this"}, None)
    assert result["verdict"] == "poison" and "not an S3" in result["error"]


def test_recursion_guard_refuses(s3: Any, name: str, settings: Settings) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key=SPACE, Body=b"x")
    # A fixed output bucket that happens to be the source bucket: only an event tells.
    unsafe = settings.replace(output_bucket=name, key_template="images/{rendition}/{key}")
    aws_lambda.use(processor(s3_store(unsafe), unsafe), unsafe)
    try:
        with pytest.raises(aws_lambda.RetryableFailure, match="recursion guard"):
            aws_lambda.handler(retarget(load_event("s3-put.json"), name), None)
    finally:
        aws_lambda.use(None)
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 1


def test_messages_moto_delivers(s3: Any, sqs: Any, name: str, handler_store: S3Store) -> None:
    make_buckets(s3, name)
    url = make_queue(sqs, name)
    notify(s3, name, queue_arn(sqs, url))
    keys = ["images/a b+c.jpg", "images/ünï/日本.jpg"]
    for key in keys:
        s3.put_object(Bucket=name, Key=key, Body=corpus_bytes("imagers__cat.jpg"))
    s3.put_object(Bucket=name, Key="elsewhere/x.jpg", Body=b"not notified")
    messages = drain(sqs, url)
    bodies = [m["Body"] for m in messages]
    assert any("s3:TestEvent" in b for b in bodies)
    assert any("%2F" in b for b in bodies)  # moto's encoding of '/'
    result = aws_lambda.handler(sqs_lambda_event(messages, queue_arn(sqs, url)), None)
    assert result == {"batchItemFailures": []}
    for key in keys:
        assert_renditions(s3, name, key, (320, 240))
