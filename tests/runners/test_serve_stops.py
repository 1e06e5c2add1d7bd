"""How ``thumbsmith serve`` stops, in a real process: Ctrl-C lets an upload in flight
finish, one Ctrl-C that arrives twice (the process group's, then `uv run` forwarding it)
counts once, and a second Ctrl-C later forces the stop. Every way ends in exit 0 with no
traceback, and nothing is half-written."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.helpers import jpeg

BODY = jpeg(320, 240)
HALF = len(BODY) // 2


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    bucket = tmp_path / "photos"
    (bucket / "images").mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "thumbsmith", "serve", str(bucket), "--port", "0", "--workers", "1"],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    first = proc.stdout.readline() if ready else ""
    port = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
    assert port, first
    yield proc, int(port.group(1)), bucket
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _start_upload(port: int) -> socket.socket:
    """An upload whose body is half sent: a request in flight when the signal comes."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "PUT /api/upload?name=late.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"x-thumbsmith: 1\r\nContent-Type: image/jpeg\r\nContent-Length: {len(BODY)}\r\n\r\n"
    )
    conn.sendall(head.encode() + BODY[:HALF])
    time.sleep(0.3)  # the app is now reading the body
    return conn


def _clean_exit(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "Exception in" not in out, out
    return out


def test_ctrl_c_delivered_twice_counts_once_and_the_upload_in_flight_lands(
    server: tuple[subprocess.Popen[str], int, Path],
) -> None:
    proc, port, bucket = server
    conn = _start_upload(port)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)  # when `uv run` forwards what the process group already got
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert proc.poll() is None, "a doubled Ctrl-C forced the stop"
    conn.sendall(BODY[HALF:])
    answer = conn.recv(4096).decode()
    conn.close()
    assert answer.startswith("HTTP/1.1 201"), answer
    _clean_exit(proc)
    assert (bucket / "images" / "late.jpg").read_bytes() == BODY


def test_a_second_ctrl_c_later_forces_the_stop_cleanly(
    server: tuple[subprocess.Popen[str], int, Path],
) -> None:
    proc, port, bucket = server
    conn = _start_upload(port)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.5)
    assert proc.poll() is None, "the first Ctrl-C did not wait for the upload in flight"
    forced = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _clean_exit(proc)
    # Well before the 5 s the graceful stop would have waited for the upload.
    assert time.monotonic() - forced < 3
    conn.close()
    assert not any((bucket / "images").iterdir()), "half an upload was written"
