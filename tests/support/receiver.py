"""A real ``thumbsmith receive`` subprocess for the tests, and a sender that retries
the way MinIO's ``queue_dir`` does (until it gets a 2xx)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TOKEN = "test-receive-token-5f1c"


class Receiver:
    """``thumbsmith receive`` on 127.0.0.1; its stdout (JSON log lines of the parent and
    of its render children) is collected in ``lines``."""

    def __init__(self, env: dict[str, str], *, port: int = 0, workers: int = 2) -> None:
        self.env = env
        # Only the store's own endpoint and credentials: none of the moto fixture's
        # (its AWS_SESSION_TOKEN would make SeaweedFS refuse every request).
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "THUMBSMITH_"))
        }
        full = {
            **inherited,
            **env,
            "THUMBSMITH_RECEIVE_TOKEN": TOKEN,
            "THUMBSMITH_RETRY_ATTEMPTS": "2",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thumbsmith",
                "receive",
                "--listen",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60) or not self.port:
            self.kill()
            raise RuntimeError("receiver did not start:\n" + "\n".join(self.lines[-30:]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("listening on "):
                self.port = int(line.rsplit(":", 1)[1].split("/")[0])
                self._ready.set()
        self._ready.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in path.read_text().split()]
        return []

    def logs(self, message: str) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("message") == message:
                        out.append(record)
        return out

    def post(self, body: bytes | str, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
        return post(self.url, body, token)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def post(
    url: str, body: bytes | str, token: str | None = TOKEN, timeout: float = 60
) -> tuple[int, dict[str, Any]]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", "/events", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"raw": data.decode(errors="replace")}
    return resp.status, parsed


def post_until_accepted(
    get_url: Any, body: str, deadline: float, stop: threading.Event | None = None
) -> int:
    """POST until a 2xx, every 0.2 s, through connection errors and 5xx (MinIO retries
    every 3 s forever; shorter here). Returns the number of attempts."""
    attempts = 0
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        attempts += 1
        try:
            status, _ = post(get_url(), body, timeout=30)
        except OSError:
            status = 0
        if 200 <= status < 300:
            return attempts
        time.sleep(0.2)
    raise TimeoutError(f"not accepted before the deadline: {body[:200]}")


def minio_body(bucket: str, key: str, event: str = "s3:ObjectCreated:Put") -> str:
    """A MinIO webhook body (its EventName/Key/Records shape; the key query-escaped)."""
    from urllib.parse import quote_plus

    record = {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": "2026-12-01T09:30:00.123Z",
        "eventName": event,
        "userIdentity": {"principalId": "minioadmin"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "Config",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key), "sequencer": "187D1A2B3C4D5E6F"},
        },
    }
    return json.dumps({"EventName": event, "Key": f"{bucket}/{key}", "Records": [record]})


def peak_rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
