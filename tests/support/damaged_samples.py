"""Damaged inputs of the classes issue 22 found mishandled, made by our own code.

- A camera-sized JPEG with restart markers (as cameras write them, with an EXIF
  thumbnail ahead of the frame) damaged the way card and transfer errors damage files:
  one restart interval short ("premature end of data segment"), the restart marker after
  it wrong ("found marker 0xd1 instead of RST5"), and the EOI lost, padded or not.
- TIFFs whose strips cannot be read: offsets or byte counts past the end of the file, or
  strips cut short, uncompressed, LZW and deflate, and the variants Pillow decodes.

Everything starts from a clean file written by Pillow; nothing is copied.
"""

from __future__ import annotations

import io
import re
import struct
from functools import cache

import numpy as np
from PIL import Image

from support import real_world_samples as samples
from thumbsmith.core.decoders.jpeg_markers import frame_header

CAMERA = (3648, 2736)  # 10 MP, 4:3


def photo(size: tuple[int, int]) -> Image.Image:
    """Gradients in R and G, a fine grain in B: detail everywhere, fast to make, and the
    same every time."""
    across = Image.linear_gradient("L").rotate(90).resize(size)
    down = Image.linear_gradient("L").resize(size)
    noise = np.random.default_rng(22).integers(64, 192, (size[1], size[0]), dtype=np.uint8)
    grain = Image.fromarray(noise)
    return Image.merge("RGB", (across, down, grain))


def exif_with_thumbnail(thumb: bytes) -> bytes:
    """An APP1 Exif segment whose IFD1 holds a JPEG thumbnail (its own SOI ... EOI)."""
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<HI", 0, 14)  # IFD0: no entries, next IFD (IFD1) at 14
    ifd1 = struct.pack("<H", 2)
    ifd1 += struct.pack("<HHII", 513, 4, 1, 14 + 2 + 24 + 4)  # JPEGInterchangeFormat
    ifd1 += struct.pack("<HHII", 514, 4, 1, len(thumb))  # ...Length
    payload = b"Exif\x00\x00" + tiff + ifd1 + struct.pack("<I", 0) + thumb
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


@cache
def camera_jpeg(progressive: bool = False) -> bytes:
    """A clean 10 MP camera-like JPEG: an EXIF thumbnail, a restart marker every MCU row."""
    im = photo(CAMERA)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, progressive=progressive, restart_marker_rows=1)
    thumb = samples.jpeg(im.resize((160, 120)))
    data = buf.getvalue()
    return data[:2] + exif_with_thumbnail(thumb) + data[2:]


def first_scan(data: bytes) -> tuple[int, int]:
    """Where the main picture's first scan data starts and ends (past the thumbnail)."""
    sos = data.index(b"\xff\xda", frame_header(data).end)
    start = sos + 2 + struct.unpack_from(">H", data, sos + 2)[0]
    end = data.find(b"\xff\xda", start)
    return start, end if end > 0 else data.rindex(b"\xff\xd9")


def restart_markers(data: bytes) -> list[int]:
    start, end = first_scan(data)
    return [m.start() for m in re.finditer(rb"\xff[\xd0-\xd7]", data[:end]) if m.start() >= start]


#: The damaged restart interval is the 46th (one MCU row each: rows 720..735); the marker
#: that ends it is the 46th, RST5 (they cycle RST0..RST7).
DAMAGED_BAND = (16 * 45, 16 * 46)


def with_restart_damage(data: bytes) -> bytes:
    """The 46th interval short by its first 40 bytes (the rest decodes as garbage until
    the marker cuts it off), and the RST5 that ends it written as RST1."""
    before, at = restart_markers(data)[44:46]
    assert data[at + 1] == 0xD5
    return data[: before + 2] + data[before + 42 : at] + b"\xff\xd1" + data[at + 2 :]


def eoi_lost(data: bytes, padding: bytes = b"") -> bytes:
    """The same file without its final EOI, then ``padding`` (a card's zeroed cluster)."""
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + padding


# --- TIFF -------------------------------------------------------------------------------
def tiff(im: Image.Image, compression: str | None = None, rows_per_strip: int = 16) -> bytes:
    """A little-endian TIFF by Pillow, in strips of ``rows_per_strip`` rows."""
    buf = io.BytesIO()
    im.save(buf, "TIFF", compression=compression, tiffinfo={278: rows_per_strip})
    return buf.getvalue()


def _entry(data: bytes, tag: int) -> tuple[int, int, int]:
    """(entry offset, type, count) of ``tag`` in IFD 0 of a little-endian TIFF."""
    (ifd,) = struct.unpack_from("<I", data, 4)
    (n,) = struct.unpack_from("<H", data, ifd)
    for i in range(n):
        at = ifd + 2 + 12 * i
        found, typ, count = struct.unpack_from("<HHI", data, at)
        if found == tag:
            return at, typ, count
    raise KeyError(tag)


def _values_at(data: bytes, tag: int) -> tuple[int, str, int]:
    """Where ``tag``'s values are, their struct format and their count."""
    at, typ, count = _entry(data, tag)
    fmt = "<H" if typ == 3 else "<I"
    inline = count * struct.calcsize(fmt) <= 4
    return (at + 8 if inline else struct.unpack_from("<I", data, at + 8)[0]), fmt, count


def strip_table(data: bytes, tag: int) -> list[int]:
    where, fmt, count = _values_at(data, tag)
    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, data, where + i * size)[0] for i in range(count)]


def with_strip_table(data: bytes, tag: int, values: list[int]) -> bytes:
    where, fmt, count = _values_at(data, tag)
    assert len(values) == count
    out = bytearray(data)
    for i, value in enumerate(values):
        struct.pack_into(fmt, out, where + i * struct.calcsize(fmt), value)
    return bytes(out)


STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279


def tiff_damages(data: bytes) -> dict[str, bytes]:
    """The strip damage libtiff reports as "Read error on strip N" and the like."""
    offsets = strip_table(data, STRIP_OFFSETS)
    counts = strip_table(data, STRIP_BYTE_COUNTS)
    half = len(offsets) // 2
    return {
        # every strip, or the lower half, somewhere past the end of the file
        "offsets-past-end": with_strip_table(
            data, STRIP_OFFSETS, [len(data) + 1000 + i for i in range(len(offsets))]
        ),
        "lower-strips-past-end": with_strip_table(
            data, STRIP_OFFSETS, offsets[:half] + [len(data) + 64] * (len(offsets) - half)
        ),
        # the counts run past the end, as in a file cut short after its IFD
        "byte-counts-past-end": with_strip_table(
            data, STRIP_BYTE_COUNTS, [c + len(data) for c in counts]
        ),
        # each strip's data cut to a third
        "strips-cut-short": with_strip_table(
            data, STRIP_BYTE_COUNTS, [max(1, c // 3) for c in counts]
        ),
    }
