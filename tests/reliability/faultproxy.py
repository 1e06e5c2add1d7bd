"""A fault-injecting reverse proxy for S3 between boto3 and the moto server.

For a configured fraction of S3 requests it answers 503 SlowDown or 500 InternalError
(S3's XML error bodies), resets the connection (SO_LINGER 0, no response), or stalls
longer than the client's read timeout, before or after forwarding (so a PUT that
landed can still look failed to the client). The choice comes from a seeded RNG. SQS
requests pass through untouched: the issue is about S3's behaviour.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("slowdown", "internal", "reset", "reset_after", "stall", "stall_after")

_ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message><RequestId>FAULT{n}</RequestId>"
    "<HostId>fault-proxy</HostId></Error>"
)


@dataclass
class FaultPlan:
    """Fractions of S3 requests that get each fault; the rest are forwarded as they are."""

    slowdown: float = 0.0
    internal: float = 0.0
    reset: float = 0.0
    reset_after: float = 0.0
    stall: float = 0.0
    stall_after: float = 0.0
    stall_s: float = 3.0

    def pick(self, rng: random.Random) -> str | None:
        x = rng.random()
        for fault in FAULTS:
            x -= getattr(self, fault)
            if x < 0:
                return fault
        return None


def _is_sqs(handler: BaseHTTPRequestHandler) -> bool:
    # botocore's SQS speaks JSON with X-Amz-Target; older clients post a form with Action=.
    target = handler.headers.get("X-Amz-Target", "")
    ctype = handler.headers.get("Content-Type", "")
    return target.startswith("AmazonSQS") or "x-www-form-urlencoded" in ctype


class FaultProxy:
    def __init__(self, upstream: str, plan: FaultPlan, *, seed: int = 0) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.plan = plan
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        #: (method, path without query) of every S3 request that reached moto.
        self.requests: Counter[tuple[str, str]] = Counter()
        self.enabled = True
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reset(self) -> None:
                # RST instead of FIN: the client sees "connection reset by peer".
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

            def _error(self, status: int, code: str, message: str, n: int) -> None:
                body = _ERROR_BODY.format(code=code, message=message, n=n).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = None
                if proxy.enabled and not _is_sqs(self):
                    with proxy.lock:
                        fault = proxy.plan.pick(proxy.rng)
                        if fault:
                            proxy.injected[fault] += 1
                        n = sum(proxy.injected.values())
                if fault == "slowdown":
                    return self._error(503, "SlowDown", "Please reduce your request rate.", n)
                if fault == "internal":
                    return self._error(500, "InternalError", "We encountered an internal error.", n)
                if fault == "reset":
                    return self._reset()
                if fault == "stall":
                    time.sleep(proxy.plan.stall_s)
                    return self._reset()
                status, headers, data = self._forward(body)
                if fault == "reset_after":
                    return self._reset()
                if fault == "stall_after":
                    time.sleep(proxy.plan.stall_s)
                    return self._reset()
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                lengths = {k.lower(): v for k, v in headers}
                head = self.command == "HEAD"
                length = lengths.get("content-length", "0") if head else str(len(data))
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _forward(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
                host, port = proxy.upstream.split(":")
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = proxy.upstream
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                with proxy.lock:
                    proxy.forwarded += 1
                    if not _is_sqs(self) and resp.status < 300:
                        proxy.requests[(self.command, self.path.split("?", 1)[0])] += 1
                return resp.status, resp.getheaders(), data

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())
