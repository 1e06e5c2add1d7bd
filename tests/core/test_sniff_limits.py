"""Magic-byte sniffing and header limits, with small synthetic bombs."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zlib

import pytest
from PIL import Image

from support.helpers import CORPUS, corpus_bytes
from support.imaging import SPECS
from thumbsmith.core import RenderOptions, render, sniff, sniff_format
from thumbsmith.errors import CorruptImage, ImageTooLarge, UnsupportedFormat


def png_header(width: int, height: int, extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", b"x")


def jpeg_header(width: int, height: int) -> bytes:
    sof = struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + (
        b"\xff\xc0" + sof + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    )


def gif_with_frames(frames: int, size: int = 1) -> bytes:
    head = b"GIF89a" + struct.pack("<HHBBB", size, size, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, size, size, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * frames + b"\x3b"


def encoded(fmt: str, mode: str = "RGB", size: tuple[int, int] = (40, 30), **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "red" if mode != "L" else 128).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "pil_format"),
    [
        ("jpeg", "JPEG"),
        ("png", "PNG"),
        ("gif", "GIF"),
        ("webp", "WEBP"),
        ("tiff", "TIFF"),
        ("bmp", "BMP"),
    ],
)
def test_sniff_reads_format_and_size(fmt: str, pil_format: str) -> None:
    header = sniff(encoded(pil_format))
    assert (header.format, header.width, header.height, header.frames) == (fmt, 40, 30, 1)


def test_sniff_ignores_the_name(corpus: object) -> None:
    assert sniff(corpus_bytes("sharp__Flag_of_the_Netherlands-png-named-as.jpg")).format == "png"
    assert sniff(corpus_bytes("thumbor__image-webp-named-as.png")).format == "webp"


@pytest.mark.parametrize(
    ("file", "fmt", "frames"),
    [
        ("imagers__ball.png", "png", 20),
        ("sharp__rotating-squares.gif", "gif", 30),
        ("sharp__rotating-squares.webp", "webp", 9),
        ("sharp__G31D_MULTI.TIF", "tiff", 2),
        ("libheif__example.heic", "heic", 1),
        ("sharp__pitm.avif", "avif", 1),
        ("mei__BlazRobar_icons_dos_binary.eps", "eps", 1),
    ],
)
def test_sniff_counts_frames(corpus: object, file: str, fmt: str, frames: int) -> None:
    header = sniff(corpus_bytes(file))
    assert (header.format, header.frames) == (fmt, frames)


@pytest.mark.parametrize(
    "data",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03",
        b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ",
        # PostScript that is not EPS: no EPSF line, no %%BoundingBox (issue 14 accepts
        # "%!PS-Adobe-3.0" *with* a box; see test_real_world_inputs.py).
        b"%!PS-Adobe-3.0\n%%Title: a document\nshowpage\n",
        b"just some text that someone named photo.jpg\n",
        b"BM but really a text file about bitmaps",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",  # MP4 video
    ],
)
def test_sniff_rejects_what_is_not_allowed(data: bytes) -> None:
    assert sniff_format(data) is None
    with pytest.raises(UnsupportedFormat):
        render(data, SPECS, name="x.jpg")


@pytest.mark.parametrize("data", [b"", b"\n", b"\xff\xd8"])
def test_empty_and_tiny_files_are_rejected_clearly(data: bytes) -> None:
    with pytest.raises((UnsupportedFormat, CorruptImage)) as info:
        render(data, SPECS, name="tiny.jpg")
    assert "tiny.jpg" in str(info.value)


def test_broken_header_is_corrupt() -> None:
    with pytest.raises(CorruptImage):
        sniff(b"\x89PNG\r\n\x1a\n\x00\x00")


# --- limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (png_header(65536, 65536), "4,294,967,296 pixels"),
        (jpeg_header(64250, 64250), "pixels"),
        (gif_with_frames(10_000), "10000 frames"),
    ],
    ids=["png-65536", "jpeg-sof-64250", "gif-10000-frames"],
)
def test_synthetic_bombs_are_rejected_from_the_header(data: bytes, expect: str) -> None:
    start = time.monotonic()
    with pytest.raises(ImageTooLarge) as info:
        render(data, SPECS, name="bomb")
    assert expect in str(info.value)
    assert time.monotonic() - start < 0.5


def test_jpeg_sof_is_parsed() -> None:
    assert tuple(sniff(jpeg_header(64250, 64250))) == ("jpeg", 64250, 64250, 1)


def test_apng_frames_count_towards_pixels() -> None:
    actl = struct.pack(">I", 8) + b"acTL" + struct.pack(">II", 500, 0) + b"\x00\x00\x00\x00"
    header = sniff(png_header(1000, 1000, actl))
    assert header.frames == 500
    with pytest.raises(ImageTooLarge, match="500 frames"):
        render(png_header(1000, 1000, actl), SPECS, RenderOptions(max_frames=1000))


def test_pixel_limit_sums_frames() -> None:
    data = gif_with_frames(50, size=100)
    assert sniff(data).pixels == 50 * 100 * 100
    with pytest.raises(ImageTooLarge):
        render(data, SPECS, RenderOptions(max_pixels=100 * 100 * 49))
    assert render(data, SPECS, RenderOptions(max_pixels=100 * 100 * 50))


def test_byte_limit() -> None:
    data = encoded("PNG")
    with pytest.raises(ImageTooLarge, match="bytes"):
        render(data, SPECS, RenderOptions(max_bytes=len(data) - 1))


def test_frame_limit() -> None:
    with pytest.raises(ImageTooLarge, match="frames"):
        render(gif_with_frames(11), SPECS, RenderOptions(max_frames=10))


RSS_SCRIPT = """
import sys
from pathlib import Path
from thumbsmith.errors import ImageTooLarge
from thumbsmith.core import render
from thumbsmith.core.spec import parse_renditions
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
before = hwm()
for name in sys.argv[1:]:
    try:
        render(Path(name).read_bytes(), parse_renditions("a=1280"), name=name)
    except ImageTooLarge:
        pass
    else:
        raise SystemExit(name + " was not rejected")
print(before, hwm())
"""


def test_rejecting_bombs_allocates_nothing_big(corpus: object) -> None:
    names = [
        "sharp__65536-uint32-limit.png",
        "thumbor__16384x16384.png",
        "sharp__giant-image.jpg",
    ]
    files = [str(CORPUS / n) for n in names]
    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, *files], capture_output=True, text=True, check=True
    )
    before, after = map(int, result.stdout.split())
    assert after - before < 20, f"peak RSS grew {after - before} MB while rejecting"
    assert after < 100


def test_heif_fuzz_sample_is_not_read_as_tga(corpus: object) -> None:
    with pytest.raises(UnsupportedFormat):
        render(corpus_bytes("libheif__github_46_2.heic"), SPECS, name="x.heic")


def test_huge_avif_header_is_rejected_before_decoding() -> None:
    # A minimal AVIF box tree declaring a 17000x17000 image.
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    ispe = box(b"ispe", b"\x00\x00\x00\x00" + struct.pack(">II", 17000, 17000))
    meta = box(b"meta", b"\x00\x00\x00\x00" + box(b"iprp", box(b"ipco", ispe)))
    data = box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1") + meta
    assert tuple(sniff(data)) == ("avif", 17000, 17000, 1)
    with pytest.raises(ImageTooLarge):
        render(data, SPECS, name="big.avif")
