"""One forwarding HTTP proxy for tests: boto3 -> proxy -> moto (or any upstream).

Subclasses decide, per request, whether to answer themselves (``before``), what to do
after the upstream answered (``after``), and see every forwarded request (``seen``).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Headers = list[tuple[str, str]]
_HOP = {"transfer-encoding", "connection", "content-length"}


class ForwardingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.before(self):
                    return
                status, headers, data = proxy.forward(self, body)
                proxy.seen(self, status)
                if proxy.after(self):
                    return
                send(self, status, headers, data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- hooks --------------------------------------------------------------------------
    def before(self, handler: BaseHTTPRequestHandler) -> bool:
        """Answer the request here instead of forwarding it (return True)."""
        return False

    def seen(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        """Called for every request the upstream answered."""

    def after(self, handler: BaseHTTPRequestHandler) -> bool:
        """Replace the upstream's answer (return True), e.g. with a reset."""
        return False

    # --- plumbing -----------------------------------------------------------------------
    def forward(
        self, handler: BaseHTTPRequestHandler, body: bytes | None
    ) -> tuple[int, Headers, bytes]:
        host, port = self.upstream.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        headers["Host"] = self.upstream
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.getheaders(), data

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, headers: Headers, data: bytes) -> None:
    """Relay an upstream answer; HEAD keeps the upstream's Content-Length and no body."""
    handler.send_response(status)
    for key, value in headers:
        if key.lower() not in _HOP:
            handler.send_header(key, value)
    if handler.command == "HEAD":
        length = {k.lower(): v for k, v in headers}.get("content-length", "0")
    else:
        length = str(len(data))
    handler.send_header("Content-Length", length)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)
