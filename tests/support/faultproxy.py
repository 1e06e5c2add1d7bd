"""A fault-injecting reverse proxy for S3 between boto3 and the moto server.

For a configured fraction of S3 requests it answers 503 SlowDown or 500 InternalError
(S3's XML error bodies), resets the connection (SO_LINGER 0, no response), or stalls
longer than the client's read timeout, before or after forwarding (so a PUT that
landed can still look failed to the client). The choice comes from a seeded RNG. SQS
requests pass through untouched: the issue is about S3's behaviour.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from support.http_proxy import ForwardingProxy, send

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


class FaultProxy(ForwardingProxy):
    def __init__(self, upstream: str, plan: FaultPlan, *, seed: int = 0) -> None:
        super().__init__(upstream)
        self.plan = plan
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        #: (method, path without query) of every S3 request that reached moto.
        self.requests: Counter[tuple[str, str]] = Counter()
        self.enabled = True
        self._faults: dict[int, str] = {}  # handler id -> the fault picked for it

    def before(self, handler: BaseHTTPRequestHandler) -> bool:
        fault = None
        if self.enabled and not _is_sqs(handler):
            with self.lock:
                fault = self.plan.pick(self.rng)
                if fault:
                    self.injected[fault] += 1
                n = sum(self.injected.values())
        if fault == "slowdown":
            _error(handler, 503, "SlowDown", "Please reduce your request rate.", n)
        elif fault == "internal":
            _error(handler, 500, "InternalError", "We encountered an internal error.", n)
        elif fault == "reset":
            _reset(handler)
        elif fault == "stall":
            time.sleep(self.plan.stall_s)
            _reset(handler)
        else:
            if fault:
                self._faults[id(handler)] = fault
            return False
        return True

    def seen(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        with self.lock:
            self.forwarded += 1
            if not _is_sqs(handler) and status < 300:
                self.requests[(handler.command, handler.path.split("?", 1)[0])] += 1

    def after(self, handler: BaseHTTPRequestHandler) -> bool:
        fault = self._faults.pop(id(handler), None)
        if fault == "stall_after":
            time.sleep(self.plan.stall_s)
        if fault in ("reset_after", "stall_after"):
            _reset(handler)
            return True
        return False

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())


def _reset(handler: BaseHTTPRequestHandler) -> None:
    # RST instead of FIN: the client sees "connection reset by peer".
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str, n: int) -> None:
    body = _ERROR_BODY.format(code=code, message=message, n=n).encode()
    send(handler, status, [("Content-Type", "application/xml")], body)
