"""No credentials or request signatures in what thumbsmith logs, even at DEBUG.

Runs backfill (CLI, with and without -v) and the worker against moto with distinctive
fake credentials and THUMBSMITH_LOG_LEVEL=DEBUG, and greps everything they print.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest

from support.reliability import small_jpeg

ACCESS_KEY = "AKIAFAKERELIABILITY7"
SECRET_KEY = "s3cr3t/FAKE+reliability+KEYdonotlog0123456"
SESSION = "FAKESESSIONTOKENreliability0123456789"
NEEDLES = [ACCESS_KEY, SECRET_KEY, SESSION, "X-Amz-Signature", "Authorization:", "Signature="]


def secret_env(aws: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env.update(
        AWS_ENDPOINT_URL=aws,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=SESSION,
        THUMBSMITH_LOG_LEVEL="DEBUG",
        THUMBSMITH_POLL_WAIT="1",
    )
    return env


def leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n.lower() in text.lower()]


@pytest.fixture
def seeded(aws: str) -> tuple[Any, str]:
    s3 = boto3.client("s3", endpoint_url=aws)
    bucket = "secrets"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=f"{bucket}-output")
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"images/{i}.jpg", Body=small_jpeg(i))
    s3.put_object(Bucket=bucket, Key="images/bad.jpg", Body=b"not an image")
    return s3, bucket


def test_backfill_logs_no_secrets(aws: str, seeded: tuple[Any, str]) -> None:
    _, bucket = seeded
    cmd = [sys.executable, "-m", "thumbsmith", "backfill", f"s3://{bucket}/images/"]
    r = subprocess.run(
        [*cmd, "--workers", "1", "--no-progress"],
        env=secret_env(aws),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "bad.jpg" in r.stderr  # it did run and log
    assert leaks(r.stdout + r.stderr) == []


def test_backfill_verbose_logs_no_secrets(aws: str, seeded: tuple[Any, str]) -> None:
    """-v turns on DEBUG for everything, botocore included."""
    _, bucket = seeded
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "thumbsmith",
            "-v",
            "backfill",
            f"s3://{bucket}/images/",
            "--workers",
            "1",
            "--no-progress",
        ],
        env=secret_env(aws),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert leaks(r.stdout + r.stderr) == []


def test_worker_logs_no_secrets(aws: str, seeded: tuple[Any, str]) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws)
    url = sqs.create_queue(QueueName="secrets")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="garbage")
    from thumbsmith.runners.enqueue import s3_event
    from thumbsmith.service.ports import ObjectInfo

    for key in ("images/0.jpg", "images/bad.jpg"):
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(s3_event(ObjectInfo("secrets", key, 1, "x")))
        )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "thumbsmith",
            "worker",
            "--queue-url",
            url,
            "--concurrency",
            "1",
            "--idle-exit",
            "3",
            "--max-messages",
            "3",
        ],
        env=secret_env(aws),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = r.stdout + r.stderr
    assert "permanent_failure" in out
    assert leaks(out) == []
