"""Small real images made in-test, for tests that need an image but not a corpus file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
CORPUS = (REPO / ".." / "shared" / "corpus").resolve()


def corpus_file(name: str) -> Path:
    """A corpus file, read in place; the test skips when the corpus is absent."""
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found")
    return path


def jpeg(width: int = 800, height: int = 600, *, seed: int = 0, orientation: int = 1) -> bytes:
    img = Image.new("RGB", (width, height), (40 + seed % 200, 90, 160))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 4, height // 4, width // 2, height // 2), fill=(250, 250, 250))
    draw.text((10, 10), str(seed), fill=(0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 12.0)}  # GPS, which must never reach a rendition
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size
