"""One way to start a real moto server on 127.0.0.1, shared by every suite that needs S3/SQS.

boto3 reaches it over HTTP through ``AWS_ENDPOINT_URL`` and dummy credentials, exactly as
a user pointing thumbsmith at MinIO would; nothing is patched in-process.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """A ThreadedMotoServer on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_buckets(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=f"{bucket}-output")


def make_queue(sqs: Any, name: str, *, visibility: int = 30, max_receive: int = 2) -> str:
    """A queue with a DLQ (redrive after ``max_receive`` receives); returns its URL."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url: str = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
            ),
        },
    )["QueueUrl"]
    return url


def queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def notify(
    s3: Any,
    bucket: str,
    arn: str,
    events: tuple[str, ...] = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"),
) -> None:
    """S3 -> SQS for ``events`` under images/ (lowercase 'prefix', as AWS documents it)."""
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "thumbsmith",
                    "QueueArn": arn,
                    "Events": list(events),
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}},
                }
            ]
        },
    )
