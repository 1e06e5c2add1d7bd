"""One way to start a real moto server on 127.0.0.1, shared by every suite that needs S3/SQS.

boto3 reaches it over HTTP through ``AWS_ENDPOINT_URL`` and dummy credentials, exactly as
a user pointing thumbsmith at MinIO would; nothing is patched in-process.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

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
