"""S3 Batch Operations invocations (schemas 1.0 and 2.0) through the Lambda handler, on moto.

The fixtures (tests/events/s3-batch-v1.json, -v2.json) follow the examples in AWS's
"Invoke AWS Lambda function" page of the S3 Batch Operations guide, field for field; the
answer is checked against the response shape that page documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.aws import jpeg_size, load_event, make_buckets, retarget
from support.faultproxy import FaultPlan, FaultProxy
from support.helpers import jpeg
from thumbsmith import aws_lambda
from thumbsmith.runners.bootstrap import processor, s3_store
from thumbsmith.settings import Settings

SPACE = "images/red flower.jpg"
SIZES = {"large": 1280, "medium": 640, "thumb": 160}
RESULT_CODES = {"Succeeded", "TemporaryFailure", "PermanentFailure"}


def assert_batch_response(response: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The documented shape, exactly; returns the one result."""
    assert set(response) == {
        "invocationSchemaVersion",
        "treatMissingKeysAs",
        "invocationId",
        "results",
    }
    assert response["invocationSchemaVersion"] == event["invocationSchemaVersion"]
    assert response["invocationId"] == event["invocationId"]
    assert response["treatMissingKeysAs"] in RESULT_CODES
    (result,) = response["results"]
    assert set(result) == {"taskId", "resultCode", "resultString"}
    assert result["taskId"] == event["tasks"][0]["taskId"]
    assert result["resultCode"] in RESULT_CODES
    assert isinstance(result["resultString"], str) and len(result["resultString"]) <= 1024
    return dict(result)


def batch_event(fixture: str, bucket: str, key: str | None = None) -> dict[str, Any]:
    event = retarget(load_event(fixture), bucket)
    if key is not None:
        event["tasks"][0]["s3Key"] = key
    return event


@pytest.fixture
def use_handler(settings: Settings) -> Iterator[None]:
    aws_lambda.use(processor(s3_store(settings), settings), settings)
    yield
    aws_lambda.use(None)


@pytest.mark.usefixtures("use_handler")
@pytest.mark.parametrize("fixture", ["s3-batch-v1.json", "s3-batch-v2.json"])
def test_batch_task_makes_the_renditions(s3: Any, name: str, fixture: str) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key=SPACE, Body=jpeg(800, 600))
    event = batch_event(fixture, name)
    result = assert_batch_response(aws_lambda.handler(event, None), event)
    assert result["resultCode"] == "Succeeded"
    assert result["resultString"].startswith("written: ")
    for rendition, box in SIZES.items():
        out_key = f"{rendition}/{SPACE}.jpg"
        assert f"s3://{name}-output/{out_key}" in result["resultString"]
        body = s3.get_object(Bucket=f"{name}-output", Key=out_key)["Body"].read()
        assert jpeg_size(body) == (min(box, 800), round(min(box, 800) * 3 / 4))
    # The same task again (Batch retries, or a second job): up to date, still Succeeded.
    again = assert_batch_response(aws_lambda.handler(event, None), event)
    assert again["resultCode"] == "Succeeded" and again["resultString"].startswith("skipped")


@pytest.mark.usefixtures("use_handler")
@pytest.mark.parametrize("fixture", ["s3-batch-v1.json", "s3-batch-v2.json"])
def test_missing_key_and_corrupt_image_fail_permanently(s3: Any, name: str, fixture: str) -> None:
    make_buckets(s3, name)
    s3.put_object(Bucket=name, Key="images/bad.jpg", Body=jpeg(800, 600)[:900])
    missing = batch_event(fixture, name, "images/not-there.jpg")
    result = assert_batch_response(aws_lambda.handler(missing, None), missing)
    assert result["resultCode"] == "PermanentFailure"
    assert "not_found" in result["resultString"] and "not-there.jpg" in result["resultString"]

    corrupt = batch_event(fixture, name, "images/bad.jpg")
    result = assert_batch_response(aws_lambda.handler(corrupt, None), corrupt)
    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"].startswith("corrupt: ")
    assert s3.list_objects_v2(Bucket=f"{name}-output").get("KeyCount", 0) == 0


@pytest.mark.usefixtures("use_handler")
def test_task_without_a_key_fails_permanently_with_a_clear_reason(s3: Any, name: str) -> None:
    event = batch_event("s3-batch-v2.json", name)
    del event["tasks"][0]["s3Key"]
    result = assert_batch_response(aws_lambda.handler(event, None), event)
    assert result["resultCode"] == "PermanentFailure"
    assert "without s3Key" in result["resultString"]


def test_long_reasons_are_cut_to_1024_characters(s3: Any, name: str, settings: Settings) -> None:
    make_buckets(s3, name)
    key = "images/" + "x" * 1000 + ".png"
    s3.put_object(Bucket=name, Key=key, Body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    aws_lambda.use(processor(s3_store(settings), settings), settings)
    try:
        event = batch_event("s3-batch-v2.json", name, key)
        result = assert_batch_response(aws_lambda.handler(event, None), event)
    finally:
        aws_lambda.use(None)
    assert result["resultCode"] == "PermanentFailure"
    assert len(result["resultString"]) == 1024


@pytest.mark.parametrize("fixture", ["s3-batch-v1.json", "s3-batch-v2.json"])
def test_throttled_s3_is_a_temporary_failure(
    moto_url: str, name: str, settings: Settings, fixture: str
) -> None:
    # Every S3 request answered 503 SlowDown (S3's XML error), as a throttled S3 does.
    with FaultProxy(moto_url, FaultPlan(slowdown=1.0)) as slow:
        throttled = settings.replace(s3_endpoint_url=slow.url)
        aws_lambda.use(processor(s3_store(throttled), throttled), throttled)
        try:
            event = batch_event(fixture, name)
            result = assert_batch_response(aws_lambda.handler(event, None), event)
        finally:
            aws_lambda.use(None)
    assert result["resultCode"] == "TemporaryFailure"  # Batch retries the task
    assert result["resultString"].startswith("transient: ")
    assert slow.injected["slowdown"] >= 2, "botocore retried before giving up"
