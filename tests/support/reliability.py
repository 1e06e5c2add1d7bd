"""Helpers shared by the reliability tests (imported, not a conftest, so mypy/ruff see it)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from support.moto_server import AWS_ENV, free_port

REPO = Path(__file__).resolve().parents[2]

__all__ = ["AWS_ENV", "REPO", "free_port", "small_jpeg", "vm_hwm_mb"]


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
