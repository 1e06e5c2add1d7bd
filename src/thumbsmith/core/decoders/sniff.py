"""Format from magic bytes, dimensions and frame count from the header, without decoding.

Everything here reads a few header fields with ``struct``; nothing allocates in
proportion to the image, so a 65536x65536 PNG or a GIF with 10,000 frames costs the
same microseconds as a thumbnail. The file extension is never consulted: names lie.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple

from thumbsmith.core.decoders.jpeg_markers import frame_header
from thumbsmith.errors import CorruptImage, UnsupportedFormat

# Walking a malformed file must stop somewhere; a real file never gets near these.
_MAX_CHUNKS = 1_000_000
_MAX_BOXES = 10_000


class Header(NamedTuple):
    """What the header says. EPS sizes are PostScript points (1/72 inch)."""

    format: str
    width: int
    height: int
    frames: int = 1

    @property
    def pixels(self) -> int:
        """Pixels summed over every frame the file declares."""
        return self.width * self.height * self.frames


def sniff_format(data: bytes) -> str | None:
    """Format name from magic bytes only, or ``None`` if it is not an allowed format."""
    head = data[:64]
    if head.startswith(b"\xff\xd8"):
        # Not FF D8 FF: libjpeg skips junk between SOI and the next marker (with a
        # warning), so the frame-header walk decides, not the third byte.
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 18:
        # "BM" alone is too weak (text can start with it): demand a known DIB header size.
        dib_size = struct.unpack_from("<I", head, 14)[0]
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "bmp"
        return None
    if head[4:8] == b"ftyp":
        return _heif_kind(data)
    if head.startswith(b"\xc5\xd0\xd3\xc6"):
        return "eps"
    if head.startswith(b"%!PS-Adobe-") and is_eps_like(data):
        return "eps"
    return None


_FIRST_LINE = re.compile(rb"\A%!PS-Adobe-[^\r\n]*")
_HEADER_BBOX = re.compile(rb"^%%BoundingBox:", re.MULTILINE)
_END_COMMENTS = re.compile(rb"^%%EndComments", re.MULTILINE)


def is_eps_like(postscript: bytes) -> bool:
    """PostScript that may be rendered as EPS: an ``EPSF`` first line, or DSC PostScript
    (``%!PS-Adobe-2.0``, say) that declares a ``%%BoundingBox`` in its header comments.

    Old EPS files often say only ``%!PS-Adobe-2.0``; Pillow and ImageMagick treat them
    as EPS when they carry a box. PostScript without one is a document, not a picture:
    its size would have to be computed by running it, so it stays rejected.
    """
    first = _FIRST_LINE.match(postscript[:256])
    if first is None:
        return False
    if b"EPSF" in first.group(0):
        return True
    header = postscript[:65536]
    end = _END_COMMENTS.search(header)
    if end is not None:
        header = header[: end.start()]
    if _HEADER_BBOX.search(header) is None:
        return False
    try:
        eps_bounding_box(postscript)
    except ValueError:
        return False
    return True


def sniff(data: bytes) -> Header:
    """Format, width, height and frame count, read from the header only.

    Raises UnsupportedFormat for anything outside the allowlist (svg, pdf, psd, jp2,
    text named .jpg, empty files) and CorruptImage when an allowed format's header is
    broken.
    """
    if len(data) < 8:
        raise UnsupportedFormat(
            f"{len(data)} bytes is too short to be an image" if data else "the file is empty"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedFormat(f"not an accepted image format ({_describe(data)})")
    try:
        header = _PARSERS[fmt](data)
    # OverflowError: a 64-bit offset (BigTIFF, ISO-BMFF) beyond what an index can hold.
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise CorruptImage(f"{fmt} header is truncated or malformed: {exc}") from exc
    if header.width <= 0 or header.height <= 0:
        raise CorruptImage(f"{fmt} header gives no usable size ({header.width}x{header.height})")
    return header


def _describe(data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"8BPS"):
        return "Photoshop PSD"
    if head.startswith((b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith(b"%!"):
        return "PostScript that is not EPS: no EPSF line and no %%BoundingBox"
    stripped = data[:512].lstrip()
    if stripped.startswith(b"<"):
        return "SVG" if b"<svg" in data[:4096].lower() else "XML/HTML text"
    return f"starts with {head[:8].hex(' ')}"


# --- per-format header parsers ---------------------------------------------------------


def _png(data: bytes) -> Header:
    if data[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    width, height = struct.unpack_from(">II", data, 16)
    frames = 1
    # An APNG's acTL must come before the first IDAT, so stop there.
    for kind, body, _ in _chunks(data, 8, riff=False):
        if kind == b"acTL":
            frames = max(1, struct.unpack_from(">I", data, body)[0])
            break
        if kind in (b"IDAT", b"IEND"):
            break
    return Header("png", width, height, frames)


def _chunks(data: bytes, pos: int, *, riff: bool) -> Iterator[tuple[bytes, int, int]]:
    """(kind, body offset, body length) of each chunk from ``pos``, at most _MAX_CHUNKS.

    PNG chunks are length (big-endian), kind, body, CRC; RIFF chunks (WebP) are kind,
    length (little-endian), body, and a pad byte after an odd length.
    """
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > len(data):
            return
        if riff:
            kind, size = struct.unpack_from("<4sI", data, pos)
            following = pos + 8 + size + (size & 1)
        else:
            size, kind = struct.unpack_from(">I4s", data, pos)
            following = pos + 12 + size
        yield kind, pos + 8, size
        pos = following


def _jpeg(data: bytes) -> Header:
    # The same frame header libjpeg decodes, junk between markers and all.
    frame = frame_header(data)
    return Header("jpeg", frame.width, frame.height)


def _gif(data: bytes) -> Header:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    frames = 0
    end = len(data)
    while pos < end:
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            frames += 1
            fw, fh, fflags = struct.unpack_from("<HHB", data, pos + 5)
            # Logical screen 0x0 happens in the wild: libvips then uses the frame size.
            width, height = max(width, fw), max(height, fh)
            pos += 10
            if fflags & 0x80:
                pos += 3 << ((fflags & 7) + 1)
            pos = _skip_sub_blocks(data, pos + 1)  # +1: LZW minimum code size
        else:
            break  # garbage after the last frame: decoders stop here too
    if frames == 0:
        raise ValueError("no image in GIF")
    return Header("gif", width, height, frames)


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    end = len(data)
    while pos < end:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            break
    return pos


def _webp(data: bytes) -> Header:
    kind = data[12:16]
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        w, h = struct.unpack_from("<HH", data, 26)
        return Header("webp", w & 0x3FFF, h & 0x3FFF)
    if kind == b"VP8L":
        if data[20] != 0x2F:
            raise ValueError("bad VP8L signature")
        (bits,) = struct.unpack_from("<I", data, 21)
        return Header("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        flags = data[20]
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        frames = 1
        if flags & 0x02:  # animation: count ANMF chunks
            anmf = sum(kind == b"ANMF" for kind, _, _ in _chunks(data, 12, riff=True))
            frames = max(anmf, 1)
        return Header("webp", w, h, frames)
    raise ValueError(f"unknown WebP chunk {kind!r}")


def _tiff(data: bytes) -> Header:
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    if big:
        (offset,) = struct.unpack_from(order + "Q", data, 8)
        count_fmt, entry_size, next_fmt = "Q", 20, "Q"
    else:
        (offset,) = struct.unpack_from(order + "I", data, 4)
        count_fmt, entry_size, next_fmt = "H", 12, "I"
    count_size = struct.calcsize(count_fmt)
    first: tuple[int, int] | None = None
    pixels = 0
    frames = 0
    seen: set[int] = set()
    while offset and offset not in seen and frames < _MAX_CHUNKS:
        seen.add(offset)
        (n,) = struct.unpack_from(order + count_fmt, data, offset)
        width = height = 0
        for i in range(min(n, 4096)):
            entry = offset + count_size + i * entry_size
            tag, typ = struct.unpack_from(order + "HH", data, entry)
            if tag in (256, 257):
                value_at = entry + (12 if big else 8)
                value = struct.unpack_from(order + ("H" if typ == 3 else "I"), data, value_at)[0]
                if tag == 256:
                    width = value
                else:
                    height = value
        frames += 1
        pixels += width * height
        if first is None:
            first = (width, height)
        (offset,) = struct.unpack_from(order + next_fmt, data, offset + count_size + n * entry_size)
    if first is None:
        raise ValueError("no IFD")
    # Pages may differ in size: report the first page's, and enough frames that
    # width*height*frames covers every page's pixels.
    w, h = first
    frames_for_limit = max(frames, -(-pixels // max(1, w * h)))
    return Header("tiff", w, h, frames_for_limit)


def _bmp(data: bytes) -> Header:
    (dib_size,) = struct.unpack_from("<I", data, 14)
    if dib_size == 12:
        w, h = struct.unpack_from("<HH", data, 18)
    else:
        w, h = struct.unpack_from("<ii", data, 18)
    return Header("bmp", abs(w), abs(h))


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MIAF_BRANDS = {b"mif1", b"msf1", b"miaf"}


def _heif_kind(data: bytes) -> str | None:
    (size,) = struct.unpack_from(">I", data, 0)
    if size < 16 or size > 4096:
        return None
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, min(size, len(data)) - 3, 4)}
    if major in _AVIF_BRANDS:
        return "avif"
    if major in _HEIF_BRANDS:
        return "heic"
    if major in _MIAF_BRANDS or compatible & (_AVIF_BRANDS | _HEIF_BRANDS):
        if compatible & _AVIF_BRANDS:
            return "avif"
        if compatible & _HEIF_BRANDS:
            return "heic"
    return None


def _heif(data: bytes) -> Header:
    # ISO-BMFF boxes: meta (full box) > iprp > ipco > ispe (full box, width, height).
    # The largest ispe bounds every image in the file, grids included.
    sizes = _find_ispe(data, 0, len(data), depth=0)
    if not sizes:
        raise ValueError("no ispe box: not a valid HEIF image")
    fmt = _heif_kind(data) or "heic"
    w = max(s[0] for s in sizes)
    h = max(s[1] for s in sizes)
    return Header(fmt, w, h)


_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}


def _find_ispe(data: bytes, start: int, end: int, depth: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    pos = start
    for _ in range(_MAX_BOXES):
        if pos + 8 > end:
            break
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} overruns its parent")
        if kind == b"ispe":
            found.append(struct.unpack_from(">II", data, pos + header + 4))
        elif kind in _CONTAINERS and depth < 4:
            found += _find_ispe(data, pos + header + _CONTAINERS[kind], pos + size, depth + 1)
        pos += size
    return found


_BBOX = re.compile(
    rb"%%(HiRes)?BoundingBox:[ \t]*(-?[\d.]+)[ \t]+(-?[\d.]+)[ \t]+(-?[\d.]+)[ \t]+(-?[\d.]+)"
)


def eps_postscript(data: bytes) -> bytes:
    """The PostScript section of an EPS; DOS binary EPS carries it at an offset."""
    if data[:4] != b"\xc5\xd0\xd3\xc6":
        return data
    ps_offset, ps_length = struct.unpack_from("<II", data, 4)
    if ps_offset < 30 or ps_length == 0 or ps_offset + ps_length > len(data):
        raise ValueError("DOS EPS header points outside the file")
    return data[ps_offset : ps_offset + ps_length]


def eps_bounding_box(postscript: bytes) -> tuple[float, float, float, float]:
    """``%%BoundingBox`` (or the HiRes one) in points: llx, lly, urx, ury."""
    # The header comments come first; "(atend)" boxes sit in the trailer.
    for chunk in (postscript[:65536], postscript[-65536:]):
        boxes = {bool(m.group(1)): m for m in _BBOX.finditer(chunk)}
        match = boxes.get(True) or boxes.get(False)
        if match:
            llx, lly, urx, ury = (float(match.group(i)) for i in range(2, 6))
            return llx, lly, urx, ury
    raise ValueError("no %%BoundingBox")


def _eps(data: bytes) -> Header:
    llx, lly, urx, ury = eps_bounding_box(eps_postscript(data))
    return Header("eps", round(urx - llx), round(ury - lly))


_PARSERS = {
    "jpeg": _jpeg,
    "png": _png,
    "gif": _gif,
    "webp": _webp,
    "tiff": _tiff,
    "bmp": _bmp,
    "heic": _heif,
    "avif": _heif,
    "eps": _eps,
}
