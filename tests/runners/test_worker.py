"""``thumbsmith worker`` as a real subprocess against the moto server."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from support.aws import (
    SlowProxy,
    jpeg_size,
    json_lines,
    make_buckets,
    make_queue,
    notify,
    queue_arn,
    queue_depth,
    start_worker,
    worker_env,
)
from support.helpers import BY_FILE, CORPUS, jpeg, upright_size

BOXES = {"large": 1280, "medium": 640, "thumb": 160}


def manifest() -> dict[str, dict[str, Any]]:
    if not BY_FILE:
        pytest.skip(f"corpus not found at {CORPUS}")
    return BY_FILE


def expected(size: tuple[int, int], box: int) -> tuple[int, int]:
    scale = min(box / size[0], box / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def output_keys(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=f"{bucket}-output")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


# Keys with spaces, '+', '%' and unicode, and one multipart upload (moto: two events).
OK_FILES = {
    "images/summer holiday/beach 1.jpg": "sharp__Landscape_1.jpg",
    "images/c++ & co/100% ball.png": "imagers__ball.png",
    "images/ünïcödé/写真 (1).jpg": "mei__Samsung_GT-I9000_orientation6.jpg",
    "images/alpha.webp": "sharp__5_webp_a.webp",
    "images/cmyk.jpg": "sharp__Channel_digital_image_CMYK_color.jpg",
    "images/anim.gif": "sharp__animated-loop-3.gif",
    "images/big.jpg": "sharp__blackbug.png",
}
MULTIPART_KEY = "images/multi part.jpg"
CORRUPT_KEY = "images/broken+truncated.jpg"


def test_end_to_end_notifications_worker_and_delete(s3: Any, sqs: Any, name: str) -> None:
    files = manifest()
    make_buckets(s3, name)
    url = make_queue(sqs, name, visibility=30, max_receive=2)
    dlq = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    notify(s3, name, queue_arn(sqs, url))

    for key, file in OK_FILES.items():
        s3.put_object(Bucket=name, Key=key, Body=(CORPUS / file).read_bytes())
    upload = s3.create_multipart_upload(Bucket=name, Key=MULTIPART_KEY)
    part = s3.upload_part(
        Bucket=name,
        Key=MULTIPART_KEY,
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=(CORPUS / "imagers__cat.jpg").read_bytes(),
    )
    s3.complete_multipart_upload(
        Bucket=name,
        Key=MULTIPART_KEY,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    s3.put_object(Bucket=name, Key=CORRUPT_KEY, Body=(CORPUS / "sharp__truncated.jpg").read_bytes())
    s3.put_object(Bucket=name, Key="not-images/ignored.jpg", Body=b"no notification")

    proc = start_worker(url, "--concurrency", "2", "--idle-exit", "3", env=worker_env())
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out

    expected_sizes = {key: upright_size(files[f]) for key, f in OK_FILES.items()}
    expected_sizes[MULTIPART_KEY] = (320, 240)
    keys = output_keys(s3, name)
    assert keys == {f"{r}/{k}.jpg" for r in BOXES for k in expected_sizes} | {
        f"manifest/{k}.json" for k in expected_sizes
    }
    for key, size in expected_sizes.items():
        for rendition, box in BOXES.items():
            obj = s3.get_object(Bucket=f"{name}-output", Key=f"{rendition}/{key}.jpg")
            assert obj["ContentType"] == "image/jpeg"
            assert jpeg_size(obj["Body"].read()) == expected(size, box), (key, rendition)

    logs = json_lines(out)
    permanent = [entry for entry in logs if entry.get("message") == "permanent_failure"]
    assert [(e["object"], e["kind"]) for e in permanent] == [
        (f"s3://{name}/{CORRUPT_KEY}", "corrupt")
    ]
    written = [e for e in logs if e.get("message") == "written"]
    assert all({"object", "renditions", "ms", "bytes_in", "bytes_out"} <= e.keys() for e in written)
    assert queue_depth(sqs, url) == (0, 0)
    assert queue_depth(sqs, dlq) == (0, 0)  # the corrupt upload was not retried

    # Deleting a source removes its renditions.
    gone = "images/summer holiday/beach 1.jpg"
    s3.delete_object(Bucket=name, Key=gone)
    proc = start_worker(url, "--concurrency", "1", "--idle-exit", "2", env=worker_env())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert output_keys(s3, name) == keys - {f"{r}/{gone}.jpg" for r in BOXES} - {
        f"manifest/{gone}.json"
    }


def test_sigterm_mid_job_and_job_longer_than_visibility(
    moto_url: str, s3: Any, sqs: Any, name: str
) -> None:
    """One job takes 14 s against a 10 s visibility timeout, and SIGTERM lands during it.

    The worker must extend the visibility (so the message is not handed out twice), finish
    the job, delete the message only after the renditions exist, stop polling, and exit 0.
    """
    make_buckets(s3, name)
    url = make_queue(sqs, name, visibility=10)
    notify(s3, name, queue_arn(sqs, url))
    # Made here rather than read from the corpus: this test is about timing, not formats.
    s3.put_object(Bucket=name, Key="images/slow.jpg", Body=jpeg(320, 240))

    with SlowProxy(moto_url, marker="/images/slow.jpg", delay=14) as proxy:
        env = worker_env(s3_endpoint_url=proxy.url, visibility_timeout="10")
        proc = start_worker(url, "--concurrency", "2", env=env)
        try:
            assert proxy.started.wait(60), "the job never fetched its source"
            # Past the 10 s visibility timeout: without extension the free slot would have
            # received the message again by now. Then SIGTERM, 3 s before the job ends.
            time.sleep(11)
            proc.send_signal(signal.SIGTERM)
            # Sent after the signal: a stopping worker must leave it on the queue.
            after = {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": name}, "object": {"key": "images/after.jpg"}},
                    }
                ]
            }
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(after))
            out, _ = proc.communicate(timeout=60)
        finally:
            proc.kill()
        gets = proxy.gets("/images/slow.jpg")

    assert proc.returncode == 0, out
    assert gets == 1, "the slow job ran twice"
    logs = json_lines(out)
    written = [e for e in logs if e.get("message") == "written"]
    assert [e["object"] for e in written] == [f"s3://{name}/images/slow.jpg"]
    assert output_keys(s3, name) == {f"{r}/images/slow.jpg.jpg" for r in BOXES} | {
        "manifest/images/slow.jpg.json"
    }
    stopped = [e for e in logs if e.get("message") == "worker stopped"]
    assert stopped and stopped[0]["stats"]["extended"] >= 1
    # The slow message was deleted; the one sent after SIGTERM is still there.
    time.sleep(0.5)
    visible, hidden = queue_depth(sqs, url)
    assert visible + hidden == 1
    left = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=0)["Messages"]
    assert "images/after.jpg" in left[0]["Body"]


def test_poison_message_goes_to_dlq_through_redrive(sqs: Any, name: str) -> None:
    url = make_queue(sqs, name, visibility=30, max_receive=2)
    dlq = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="this is not an event")
    proc = start_worker(url, "--concurrency", "1", "--idle-exit", "3", env=worker_env())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert any(e.get("message") == "bad_event" for e in json_lines(out))
    assert queue_depth(sqs, url) == (0, 0)
    assert queue_depth(sqs, dlq)[0] == 1


def test_missing_queue_is_a_clear_error(moto_url: str) -> None:
    url = f"{moto_url}/123456789012/no-such-queue"
    proc = start_worker(url, "--idle-exit", "1", env=worker_env())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "no-such-queue" in out


def test_max_messages_stops_after_n(sqs: Any, name: str) -> None:
    url = make_queue(sqs, name)
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": name})
    for _ in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    proc = start_worker(url, "--concurrency", "1", "--max-messages", "2", env=worker_env())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    time.sleep(0.2)
    assert sum(queue_depth(sqs, url)) == 1
