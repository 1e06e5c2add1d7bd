"""Decompression bombs are rejected before any large allocation: peak RSS < 100 MB.

tests/core/test_sniff_limits.py already rejects these shapes from the header (and
measures RSS for three corpus bombs). Here each of the four bombs of the issue is
measured alone, in a fresh process, through render() and through Processor.process()
on a local store, which is the path an upload takes.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

PEAK_RSS_LIMIT_MB = 100


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_4_gigapixel() -> bytes:
    """65536 x 65536 RGB (4.29 gigapixels, 12.9 GB decoded) with a real zlib stream."""
    ihdr = struct.pack(">IIBBBBB", 65536, 65536, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (65536 * 3)
    idat = zlib.compress(row * 64, 9)  # the first 64 rows; a decoder would want them all
    chunks = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def jpeg_64250() -> bytes:
    """A baseline JPEG header declaring 64250 x 64250, then a little scan data."""
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 64250, 64250, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + dqt + sof + sos + b"\x00" * 2048 + b"\xff\xd9"


def gif_10000_frames() -> bytes:
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * 10_000 + b"\x3b"


def avif_17000() -> bytes:
    """A minimal AVIF box tree (ftyp, meta > iprp > ipco > ispe) declaring 17000 x 17000."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    ispe = box(b"ispe", b"\x00\x00\x00\x00" + struct.pack(">II", 17000, 17000))
    meta = box(b"meta", b"\x00\x00\x00\x00" + box(b"iprp", box(b"ipco", ispe)))
    return box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1") + meta + box(b"mdat", b"\x00" * 4096)


BOMBS = {
    "png-4-gigapixel": png_4_gigapixel,
    "jpeg-64250x64250": jpeg_64250,
    "gif-10000-frames": gif_10000_frames,
    "avif-17000x17000": avif_17000,
}

PROBE = r"""
import json, sys
from pathlib import Path
path, mode = Path(sys.argv[1]), sys.argv[2]
from thumbsmith.errors import ImageTooLarge
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
if mode == "render":
    from thumbsmith.core import render
    from thumbsmith.core.spec import parse_renditions
    call = lambda: render(path.read_bytes(), parse_renditions("large=1280,medium=640,thumb=160"),
                          name=path.name)
else:
    from thumbsmith.service.events import EventKind, ObjectEvent
    from thumbsmith.runners.bootstrap import processor as build
    from thumbsmith.settings import load
    from thumbsmith.adapters.storage.local import LocalStore
    import thumbsmith.core.rendering  # loaded up front, so "before" includes libvips itself
    root = path.parent / "root"
    (root / "photos" / "images").mkdir(parents=True)
    (root / "photos" / "images" / path.name).write_bytes(path.read_bytes())
    store = LocalStore(root)
    processor = build(store, load(env={}))
    event = ObjectEvent("photos", "images/" + path.name, EventKind.CREATED)
    call = lambda: processor.process(event)
before = hwm()
try:
    call()
except ImageTooLarge as exc:
    error = str(exc)
else:
    error = None
written = []
if mode == "process" and (root / "photos-output").exists():
    written = [str(p) for p in (root / "photos-output").rglob("*")]
print(json.dumps({"before": before, "peak": hwm(), "error": error, "written": written}))
"""


@pytest.mark.parametrize("mode", ["render", "process"])
@pytest.mark.parametrize("bomb", list(BOMBS))
def test_bomb_is_rejected_before_any_large_allocation(tmp_path: Path, bomb: str, mode: str) -> None:
    data = BOMBS[bomb]()
    assert len(data) < 200_000, "a bomb is small on disk; that is the point"
    path = tmp_path / f"{bomb}.img"
    path.write_bytes(data)
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["error"], f"{bomb} was not rejected as ImageTooLarge"
    assert out["written"] == [], "a rejected source must leave no rendition"
    assert out["peak"] < PEAK_RSS_LIMIT_MB, f"peak RSS {out['peak']} MB while rejecting {bomb}"
    # The rejection itself must not grow the process: the header is all that is read.
    assert out["peak"] - out["before"] < 10, out
