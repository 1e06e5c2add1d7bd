"""Helpers for the tests against the moto server (imported by conftest and tests)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from support.http_proxy import ForwardingProxy
from support.moto_server import make_buckets, make_queue, notify, queue_arn

__all__ = ["make_buckets", "make_queue", "notify", "queue_arn"]


@dataclass(frozen=True)
class Backend:
    """An S3 server a test talks to (moto or SeaweedFS): its name, a boto3 client, and
    the environment (endpoint, credentials) under which thumbsmith reaches it by itself."""

    name: str
    s3: Any
    env: dict[str, str]


REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"


def drain(sqs: Any, url: str, *, wait: int = 0) -> list[dict[str, Any]]:
    """Receive (and delete) everything on a queue."""
    out: list[dict[str, Any]] = []
    while True:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        messages = resp.get("Messages", [])
        if not messages:
            return out
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out.extend(messages)


def queue_depth(sqs: Any, url: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


# --- a slow / counting HTTP proxy in front of moto ------------------------------------
class SlowProxy(ForwardingProxy):
    """Forwards to moto; GETs whose path contains ``marker`` wait ``delay`` seconds.

    Lets a test make one job slow (longer than the visibility timeout) or watch how many
    times an object was fetched, without any hook in thumbsmith itself.
    """

    def __init__(self, upstream: str, marker: str, delay: float) -> None:
        super().__init__(upstream)
        self.marker = marker
        self.delay = delay
        self.requests: Counter[tuple[str, str]] = Counter()
        self.started = threading.Event()

    def before(self, handler: BaseHTTPRequestHandler) -> bool:
        path = handler.path.split("?", 1)[0]
        with self.lock:
            self.requests[(handler.command, path)] += 1
        if handler.command == "GET" and self.marker in path:
            self.started.set()
            time.sleep(self.delay)
        return False

    def gets(self, fragment: str) -> int:
        return sum(n for (m, p), n in self.requests.items() if m == "GET" and fragment in p)


def free_port_url() -> str:
    """A URL nothing listens on (bound, then closed at once)."""
    from support.moto_server import free_port

    return f"http://127.0.0.1:{free_port()}"


def retarget(event: dict[str, Any], bucket: str) -> dict[str, Any]:
    """A fixture event with its example bucket names replaced by a test bucket."""
    text = json.dumps(event)
    for example in ("amzn-s3-demo-bucket", '"photos"'):
        text = text.replace(example, f'"{bucket}"' if example.startswith('"') else bucket)
    out: dict[str, Any] = json.loads(text)
    return out


def sqs_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source mapping hands the function for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def jpeg_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        return im.size


class LogCollector(logging.Handler):
    """Collects the records of the 'thumbsmith' logger (Powertools stops propagation)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, msg: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == msg]


@contextlib.contextmanager
def collecting_logs() -> Iterator[LogCollector]:
    """The 'thumbsmith' logger's records while the block runs."""
    collector = LogCollector()
    logger = logging.getLogger("thumbsmith")
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)


def worker_env(**settings: str) -> dict[str, str]:
    """The environment for a worker subprocess: moto via AWS_* (set by the fixture)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("THUMBSMITH_")}
    env.update({"THUMBSMITH_POLL_WAIT": "1", "THUMBSMITH_RETRY_ATTEMPTS": "2"})
    env.update({f"THUMBSMITH_{k.upper()}": v for k, v in settings.items()})
    return env


def start_worker(url: str, *args: str, env: dict[str, str]) -> Any:
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "worker", "--queue-url", url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def json_lines(output: str) -> list[dict[str, Any]]:
    out = []
    for line in output.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
