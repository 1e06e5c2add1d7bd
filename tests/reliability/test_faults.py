"""S3 faults injected between boto3 and moto: backfill and worker still finish everything.

The proxy (faultproxy.py) answers a seeded fraction of S3 requests with 503 SlowDown,
500 InternalError, a connection reset, or a stall longer than the client's read
timeout. Renditions are then checked directly against moto, not through the proxy.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from PIL import Image

from support.faultproxy import FaultPlan, FaultProxy
from support.moto_server import make_buckets, make_queue, notify, queue_arn
from support.reliability import REPO, small_jpeg

N_OBJECTS = 60
WRAPPER = str(REPO / "tests" / "support" / "short_timeouts.py")
# About 8% of S3 requests (some 70 of the ~850 a run makes: every kind, again and again)
# in a fifth of the time 300 objects at half the rate took. Stalls are rare, as each
# costs a full read timeout.
PLAN = FaultPlan(
    slowdown=0.03, internal=0.02, reset=0.016, reset_after=0.008, stall=0.004, stall_after=0.002
)
RENDITIONS = ("large", "medium", "thumb")
RETRY_LINE = re.compile(r"botocore\.retries\.\w+: Retry needed")


@pytest.fixture
def clients(aws: str) -> tuple[Any, Any]:
    return boto3.client("s3", endpoint_url=aws), boto3.client("sqs", endpoint_url=aws)


@pytest.fixture
def proxy(aws: str) -> Iterator[FaultProxy]:
    with FaultProxy(aws, PLAN, seed=20261127) as p:
        yield p


def env_via(proxy: FaultProxy, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env["AWS_ENDPOINT_URL"] = proxy.url
    env["THUMBSMITH_RETRY_ATTEMPTS"] = "10"
    env["THUMBSMITH_POLL_WAIT"] = "1"
    env["RELIABILITY_READ_TIMEOUT"] = "2"
    env.update({f"THUMBSMITH_{k.upper()}": v for k, v in settings.items()})
    return env


def upload(s3: Any, bucket: str, n: int) -> dict[str, str]:
    """n small JPEGs under images/; returns key -> ETag (as moto has it)."""
    etags = {}
    for i in range(n):
        key = f"images/{i % 7}/obj {i:04d}.jpg"
        etags[key] = s3.put_object(Bucket=bucket, Key=key, Body=small_jpeg(i))["ETag"].strip('"')
    return etags


def check_outputs(s3: Any, bucket: str, etags: dict[str, str]) -> None:
    """Every rendition present, whole, a JPEG of the right size, made from the current source."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=f"{bucket}-output")
    listed = {o["Key"]: o["Size"] for p in pages for o in p.get("Contents", [])}
    manifests = {f"manifest/{key}.json" for key in etags}
    wanted = {f"{r}/{key}.jpg" for key in etags for r in RENDITIONS} | manifests
    assert set(listed) == wanted, (
        f"missing {sorted(wanted - set(listed))[:5]}, extra {sorted(set(listed) - wanted)[:5]}"
    )
    for out_key, size in listed.items():
        if out_key in manifests:
            continue
        resp = s3.get_object(Bucket=f"{bucket}-output", Key=out_key)
        body = resp["Body"].read()
        assert len(body) == size == resp["ContentLength"], f"{out_key} is half-written"
        with Image.open(io.BytesIO(body)) as im:
            assert im.format == "JPEG" and im.size == (64, 48), out_key
            im.load()  # a truncated JPEG fails here
        source_key = out_key.split("/", 1)[1].removesuffix(".jpg")
        assert resp["Metadata"]["thumbsmith-source-etag"] == etags[source_key]


def retries_in(log: str) -> int:
    return len(RETRY_LINE.findall(log))


@pytest.mark.timeout(600)
def test_backfill_through_s3_faults(clients: tuple[Any, Any], proxy: FaultProxy) -> None:
    s3, _ = clients
    bucket = "faults-backfill"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=f"{bucket}-output")
    etags = upload(s3, bucket, N_OBJECTS)

    r = subprocess.run(
        [
            sys.executable,
            WRAPPER,
            "backfill",
            f"s3://{bucket}/images/",
            "--workers",
            "2",
            "--no-progress",
        ],
        env=env_via(proxy),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert proxy.total_injected >= 30, proxy.injected
    assert (
        set(proxy.injected) == set(PLAN.__dataclass_fields__) - {"stall_s"}
        or len(proxy.injected) >= 4
    ), proxy.injected
    retried = retries_in(r.stderr)
    # Every injected fault is answered by a retry (a few by the listing's own paginator).
    assert retried >= proxy.total_injected * 0.9, (retried, proxy.injected)
    print(f"backfill: {proxy.total_injected} faults {dict(proxy.injected)}, {retried} retries")
    check_outputs(s3, bucket, etags)


@pytest.mark.timeout(600)
def test_worker_through_s3_faults(clients: tuple[Any, Any], proxy: FaultProxy) -> None:
    s3, sqs = clients
    bucket = "faults-worker"
    make_buckets(s3, bucket)
    url = make_queue(sqs, bucket, visibility=60, max_receive=5)
    notify(s3, bucket, queue_arn(sqs, url), events=("s3:ObjectCreated:*",))
    dlq = sqs.get_queue_url(QueueName=f"{bucket}-dlq")["QueueUrl"]
    etags = upload(s3, bucket, N_OBJECTS)

    r = subprocess.run(
        [
            sys.executable,
            WRAPPER,
            "worker",
            "--queue-url",
            url,
            "--concurrency",
            "2",
            "--idle-exit",
            "8",
        ],
        env=env_via(proxy),
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert proxy.total_injected >= 30, proxy.injected
    retried = retries_in(out)
    assert retried >= proxy.total_injected * 0.9, (retried, proxy.injected)
    print(f"worker: {proxy.total_injected} faults {dict(proxy.injected)}, {retried} retries")
    check_outputs(s3, bucket, etags)
    for q in (url, dlq):
        attrs = sqs.get_queue_attributes(
            QueueUrl=q,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert attrs == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }, (q, attrs)
