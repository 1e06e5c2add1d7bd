"""The JPEG frame header, found the way libjpeg's marker reader finds it.

libjpeg(-turbo)'s ``jdmarker.c`` is tolerant, and libvips decodes through it, so the
size check must read the *same* frame header libjpeg will decode, or a file could pass
the limit with one size and be decoded at another:

* ``first_marker``: the file starts with exactly FF D8 (SOI).
* ``next_marker``: any non-FF bytes are skipped, then any run of FF fill bytes; the byte
  after them is the marker, except 00 (a stuffed FF 00), which is skipped as well. Skipped
  bytes only make libjpeg *warn* ("Corrupt JPEG data: N extraneous bytes before marker").
* ``read_markers``: the first SOFn is the frame (a second one is an error); APPn, COM,
  DQT, DHT, DAC, DRI and DNL are skipped by their length (a length below 2 skips only the
  length field); RSTn and TEM carry none; SOS or EOI before a frame, a second SOI and
  reserved markers are errors.

Work is bounded: each byte before the frame header is looked at a constant number of
times, in C, and at most :data:`MAX_SEGMENTS` segments are walked.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: Real files have fewer than 50 segments before the frame header.
MAX_SEGMENTS = 10_000

# SOFn carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Segments libjpeg skips (or reads) by their length field before the frame header.
_LENGTH_MARKERS = frozenset({0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)})
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0..7


class JpegFrame(NamedTuple):
    """The frame header (SOFn) libjpeg will decode, and where it ends in the file."""

    width: int
    height: int
    components: int
    marker: int  # 0xC0 baseline, 0xC2 progressive, ...
    end: int  # offset just past the SOF segment


# libjpeg's next_marker stops at the first byte that is neither 00 nor FF right after an
# FF: junk, fill bytes and stuffed FF 00 before it are all skipped. One regex search (no
# backtracking: one byte of look-behind) finds it in C, so a file of megabytes of
# FF 00 pairs costs milliseconds, not a Python loop per pair.
_MARKER = re.compile(rb"(?<=\xff)[^\x00\xff]")


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """(marker, position after it), as libjpeg's ``next_marker`` finds it from ``pos``."""
    found = _MARKER.search(data, pos + 1)
    if found is None:
        raise ValueError("the file ends before the frame header (SOF)")
    return data[found.start()], found.end()


def _sof(data: bytes, pos: int, marker: int) -> JpegFrame:
    if pos + 8 > len(data):
        raise ValueError("the frame header (SOF) is cut short")
    length = int.from_bytes(data[pos : pos + 2], "big")
    height = int.from_bytes(data[pos + 3 : pos + 5], "big")
    width = int.from_bytes(data[pos + 5 : pos + 7], "big")
    components = data[pos + 7]
    if length != 8 + 3 * components:
        raise ValueError(f"frame header length {length} does not fit {components} components")
    if height == 0:
        raise ValueError("a height given by a DNL marker is not supported")
    if components == 0:
        raise ValueError("the frame header declares no components")
    return JpegFrame(width, height, components, marker, pos + length)


def frame_header(data: bytes) -> JpegFrame:
    """The frame header; ValueError wherever libjpeg's ``jpeg_read_header`` would fail
    before reaching it."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI marker at the start")
    pos = 2
    for _ in range(MAX_SEGMENTS):
        marker, pos = _next_marker(data, pos)
        if marker in SOF_MARKERS:
            return _sof(data, pos, marker)
        if marker in _NO_LENGTH:
            continue
        if marker in _LENGTH_MARKERS:
            if pos + 2 > len(data):
                raise ValueError("the file ends inside a marker segment")
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += max(length, 2)
            continue
        if marker == 0xDA:
            raise ValueError("scan data (SOS) before the frame header (SOF)")
        if marker == 0xD9:
            raise ValueError("end of image (EOI) before any frame")
        if marker == 0xD8:
            raise ValueError("a second SOI marker")
        raise ValueError(f"unknown JPEG marker 0x{marker:02x}")
    raise ValueError(f"more than {MAX_SEGMENTS} marker segments before the frame header")


def has_end_marker(data: bytes, frame: JpegFrame) -> bool:
    """Whether an EOI (FF D9) follows the frame header anywhere in the file.

    Entropy-coded data cannot hold FF D9 (every FF there is stuffed as FF 00), so a file
    cut short mid-scan has none after its frame header, while one with a trailer after
    its EOI (MPF pictures, a phone's motion-photo video) still does.

    Searched from the end: an EOI is nearly always in the last bytes, while a search
    from the frame header stops at every FF of the scan (stuffed FF 00 pairs), which
    cost 8.6 ms on the 4 MB 12 MP bench photo, 8 % of its whole W3 render. Whether any
    EOI follows the frame header is the same answer either way.
    """
    return data.rfind(b"\xff\xd9", frame.end) >= 0


def is_cut_short(data: bytes) -> bool:
    """A readable frame header and no EOI after it: the file lacks at least its end."""
    try:
        return not has_end_marker(data, frame_header(data))
    except ValueError:
        return False


# Progressive and lossless-progressive frames (SOF2, SOF6, SOF10, SOF14) have several scans.
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})


def is_single_scan(data: bytes, frame: JpegFrame) -> bool:
    """Whether libjpeg can decode rows as it reads: a sequential frame with one scan.

    As with EOI, entropy-coded data cannot hold FF DA, so every one after the frame
    header is a scan header. With several scans libjpeg reads them all (to the EOI)
    before it gives the first row.
    """
    return frame.marker not in _PROGRESSIVE and data.count(b"\xff\xda", frame.end) <= 1


def without_padding(data: bytes, start: int) -> bytes:
    """``data`` without the zero and FF bytes that pad it after ``start``.

    A scan ends on a byte of data, its last bits filled with 1s: a lone FF at the end is
    never data (data FF is stuffed as FF 00), while an FF 00 pair is, and so is a zero
    byte after a run of codes. Only zero bytes past the last FF 00 are dropped: if some
    of them were data, the zeros the caller appends stand in for them (up to its padding).
    """
    kept = max(start, len(data.rstrip(b"\x00\xff")))
    stuffed = data.rfind(b"\xff\x00", kept)
    return data[: stuffed + 2 if stuffed >= 0 else kept]
