"""Inputs of the classes issue 14 found rejected, made by our own code (nothing copied).

Each is a clean file written by Pillow and then damaged or wrapped the way files in the
wild are: junk between JPEG markers (libjpeg: "N extraneous bytes before marker"),
restart markers altered or lost and entropy bytes garbled (libjpeg: "found marker 0xd1
instead of RST5", "premature end of data segment"), a missing EOI, a cut scan; 8-bit
CIELab and hand-assembled old-style JPEG TIFFs (TIFF 6.0, section 22); PostScript with a
%%BoundingBox but no EPSF in its first line. Adapted from the session's issue-14
research script (scratch/issue14/make_samples.py), written for this project.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

W, H = 160, 120


def picture(w: int = W, h: int = H) -> Image.Image:
    """Deterministic gradients and a checkerboard, so the scan data is not trivial."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    assert px is not None
    for y in range(h):
        for x in range(w):
            px[x, y] = (x * 255 // w, y * 255 // h, ((x // 8 + y // 8) % 2) * 200 + (x * y) % 55)
    return im


def jpeg(im: Image.Image, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **options)
    return buf.getvalue()


def segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each header segment up to and including SOS."""
    out, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        out.append((marker, pos, pos + 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def scan_range(data: bytes) -> tuple[int, int]:
    """Where the (first) scan's entropy-coded data starts, and where the EOI is."""
    sos = next(s for s in segments(data) if s[0] == 0xDA)
    return sos[2], data.rindex(b"\xff\xd9")


def sof_offset(data: bytes) -> int:
    return next(s[1] for s in segments(data) if 0xC0 <= s[0] <= 0xC2)


def with_sof_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG declaring another frame size (a bomb, for the limit checks)."""
    at = sof_offset(data) + 5
    return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]


def jpeg_samples() -> dict[str, bytes]:
    base = jpeg(picture())
    sof = sof_offset(base)
    out = {
        "ok": base,
        "junk-before-sof": base[:sof] + b"junk\x00\x01\x02" + base[sof:],
        "junk-with-ff": base[:sof] + b"\x00\xff\x00ab\xff" + base[sof:],
        "fill-bytes": base[:sof] + b"\xff\xff\xff" + base[sof:],
        "junk-after-soi": base[:2] + b"\x00\x00garbage" + base[2:],
        "no-eoi": base[:-2],
    }
    s0, s1 = scan_range(base)
    garbled = bytearray(base[s0:s1])
    third = len(garbled) // 3
    garbled[third : third + 6] = b"\x13\x37\xab\xcd\x00\x42"
    out["scan-garbled"] = base[:s0] + bytes(garbled) + base[s1:]
    stray = bytearray(base[s0:s1])
    stray[len(stray) // 2 : len(stray) // 2 + 2] = b"\xff\xd9"
    out["stray-eoi-in-scan"] = base[:s0] + bytes(stray) + base[s1:]
    cut = base[: s0 + (s1 - s0) * 6 // 10]
    out["cut-mid-scan"] = cut
    out["cut-then-zero-filled"] = cut + bytes(len(base) - len(cut))
    out["cut-in-header"] = base[: sof + 5]

    rst = jpeg(picture(), restart_marker_rows=1)
    out["rst-ok"] = rst
    s0, s1 = scan_range(rst)
    scan = rst[s0:s1]
    marks = [i for i in range(len(scan) - 1) if scan[i] == 0xFF and 0xD0 <= scan[i + 1] <= 0xD7]
    i5 = marks[5]  # they cycle D0..D7: the sixth is RST5
    assert scan[i5 + 1] == 0xD5
    out["rst-wrong"] = rst[:s0] + scan[: i5 + 1] + b"\xd1" + scan[i5 + 2 :] + rst[s1:]
    out["rst-missing"] = rst[:s0] + scan[:i5] + scan[i5 + 2 :] + rst[s1:]

    prog = jpeg(picture(), progressive=True)
    scans = [i for i in range(len(prog) - 1) if prog[i : i + 2] == b"\xff\xda"]
    out["progressive-cut-between-scans"] = prog[: scans[min(3, len(scans) - 1)]]
    return out


# --- TIFF -----------------------------------------------------------------------------
def lab_tiff(im: Image.Image, orientation: int = 1) -> bytes:
    """8-bit CIELab (Photometric 8), as Pillow writes it."""
    buf = io.BytesIO()
    im.convert("LAB").save(buf, "TIFF", tiffinfo={274: orientation})
    return buf.getvalue()


def old_jpeg_tiff(im: Image.Image) -> bytes:
    """Old-style JPEG TIFF (Compression 6), assembled by hand: neither Pillow nor libtiff
    write it. One strip holding a whole baseline JFIF stream, pointed to both by
    StripOffsets/StripByteCounts and by JPEGInterchangeFormat(Length), the layout most
    old writers produced."""
    stream = jpeg(im, subsampling=0)  # 4:4:4, so YCbCrSubSampling 1,1 is honest
    w, h = im.size
    short, long_, rational = 3, 4, 5
    count = 14
    bps_at = 8 + 2 + 12 * count + 4
    xres_at = bps_at + 6
    yres_at = xres_at + 8
    data_at = yres_at + 8
    entries = [
        (256, short, 1, w),
        (257, short, 1, h),
        (258, short, 3, bps_at),
        (259, short, 1, 6),  # old-style JPEG
        (262, short, 1, 6),  # YCbCr
        (273, long_, 1, data_at),
        (277, short, 1, 3),
        (278, short, 1, h),
        (279, long_, 1, len(stream)),
        (282, rational, 1, xres_at),
        (283, rational, 1, yres_at),
        (296, short, 1, 2),
        (513, long_, 1, data_at),
        (514, long_, 1, len(stream)),
    ]
    out = bytearray(b"II*\x00" + struct.pack("<IH", 8, count))
    for tag, typ, n, value in entries:
        if typ == short and n == 1:
            out += struct.pack("<HHIHH", tag, typ, n, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, n, value)
    out += struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + struct.pack("<II", 72, 1) * 2
    assert len(out) == data_at
    return bytes(out) + stream


def with_tiff_size(data: bytes, width: int, height: int) -> bytes:
    """The same little-endian TIFF with IFD 0 declaring another size (LONG values)."""
    buf = bytearray(data)
    (ifd,) = struct.unpack_from("<I", buf, 4)
    (n,) = struct.unpack_from("<H", buf, ifd)
    for i in range(n):
        entry = ifd + 2 + 12 * i
        (tag,) = struct.unpack_from("<H", buf, entry)
        if tag in (256, 257):
            struct.pack_into("<HII", buf, entry + 2, 4, 1, width if tag == 256 else height)
    return bytes(buf)


# --- PostScript --------------------------------------------------------------------------
BLUE = (0.2, 0.5, 0.9)


def postscript(first_line: str, box: str | None = "10 20 210 170") -> bytes:
    """A blue rectangle filling the box and a red diagonal."""
    lines = [first_line]
    if box is not None:
        lines.append(f"%%BoundingBox: {box}")
    lines += [
        "%%Title: issue 14 sample",
        "%%EndComments",
        "newpath 10 20 moveto 210 20 lineto 210 170 lineto 10 170 lineto closepath",
        " ".join(f"{c:.1f}" for c in BLUE) + " setrgbcolor fill",
        "1 0 0 setrgbcolor 30 40 moveto 190 150 lineto 8 setlinewidth stroke",
        "showpage",
        "%%EOF",
    ]
    return ("\n".join(lines) + "\n").encode()
