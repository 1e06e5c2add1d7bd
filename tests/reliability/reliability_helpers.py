"""Helpers shared by the reliability tests (imported, not a conftest, so mypy/ruff see it)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]

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
        return int(s.getsockname()[1])


def small_jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A tiny distinct JPEG: 300 of them render in seconds."""
    buf = io.BytesIO()
    Image.new("RGB", size, (seed % 256, (seed // 256) % 256, 160)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def vm_hwm_mb(pid: int) -> int:
    """Peak resident set of a live process, in MB (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0
