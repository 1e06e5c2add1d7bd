"""Opening allowed bytes as a lazy libvips image, through the one loader sniffing chose.

libvips does the work where its build has the loader. HEIC (HEVC), BMP and the TIFF
variants pyvips-binary's tiffload cannot read (8-bit CIELab, old-style JPEG) are decoded
by Pillow (:mod:`thumbsmith.core.decoders.pillow`), and EPS by Ghostscript; their pixels
are then handed to libvips, so every step after ``load`` is one code path.

JPEG decode policy. libjpeg recovers from damage inside the picture (junk between
markers, a wrong or missing restart marker, a corrupt run of entropy data: "premature
end of data segment") and still decodes every row; those files decode, as in browsers.
A file that *ends* early is rejected instead of getting grey rows: with
``fail_on="truncated"`` libvips fails when libjpeg asks for bytes past the end. A file
without its final EOI marker (no FF D9 after the frame header) needs more care, since
libjpeg reads a little past the last code it decodes:

* one scan (baseline, as cameras write): trailing padding (zero or FF bytes, which a scan
  never ends with) is dropped and :data:`SCAN_PADDING` zero bytes appended, with no EOI
  and ``fail_on="truncated"``. A whole scan never needs those bytes, so it decodes, with
  whatever recoverable damage it has inside; a scan cut short reads through them, runs
  dry and fails. (The earlier policy, before EOI-less files were handled, accepted such
  files when they were zero-padded; the strict one below rejected them for any warning.)
* several scans (progressive): libjpeg reads to the EOI before the first row, so the EOI
  is appended and ``fail_on="warning"``: a scan cut short meets that EOI inside its data,
  warns, and the warning is an error. Any other libjpeg warning in such a file (junk
  between markers, a wrong restart marker) rejects it too: nothing then tells the cut
  from the damage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvips

from thumbsmith.core.decoders import pillow
from thumbsmith.core.decoders.jpeg_markers import (
    frame_header,
    has_end_marker,
    is_single_scan,
    without_padding,
)
from thumbsmith.core.formats import VIPS_LOADERS
from thumbsmith.errors import CorruptImage

#: Every loader reads the header only until pixels are asked for, then streams top to
#: bottom; ``fail_on="truncated"`` turns short files into errors instead of grey bars,
#: while tolerating libjpeg's warnings (odd quantisation tables, broken EXIF).
LOAD_OPTIONS: dict[str, Any] = {"access": "sequential", "fail_on": "truncated"}

JPEG_SHRINKS = (8, 4, 2)
#: Zero bytes after a one-scan JPEG that lacks its EOI. libjpeg-turbo's bit reader keeps
#: up to 57 bits ahead of the code it decodes (8 bytes; 7 measured), so a whole scan
#: never *needs* these: twice that leaves a margin, and a cut scan still runs dry soon.
SCAN_PADDING = 16


@dataclass(frozen=True, slots=True)
class Opened:
    """A lazily opened source: the header is read, the pixels not yet."""

    image: pyvips.Image
    orientation: int  # EXIF orientation, already sanitised to 1..8


def open_vips(fmt: str, data: bytes, **extra: Any) -> pyvips.Image:
    """Call the one loader ``fmt`` maps to; libvips' own detection never runs."""
    loader = getattr(pyvips.Image, VIPS_LOADERS[fmt])
    options = dict(LOAD_OPTIONS)
    if fmt in ("gif", "webp", "tiff"):
        options["n"] = 1  # first frame/page only
    # Not for HEIF: there "n" counts from page 0, while the default is the *primary*
    # image, which need not be page 0 (sharp issue 4487, a pitm box).
    if fmt == "jpeg":
        data, options["fail_on"] = jpeg_input(data)
    elif fmt == "tiff":
        # tiffload ignores libtiff's *errors* below "error" ("Read error on strip 0",
        # "Not enough data"): a strip it cannot read comes out black, not as a failure.
        # libtiff's warnings (unknown tags, odd values) stay harmless.
        options["fail_on"] = "error"
    options.update(extra)
    return loader(data, **options)


def jpeg_input(data: bytes) -> tuple[bytes, str]:
    """The bytes to hand jpegload and its ``fail_on`` (see the module's policy)."""
    try:
        frame = frame_header(data)
    except ValueError:
        return data, "truncated"  # sniffing refuses it first; libjpeg would say why
    if has_end_marker(data, frame):
        return data, "truncated"
    if is_single_scan(data, frame):
        return without_padding(data, frame.end) + bytes(SCAN_PADDING), "truncated"
    return data + b"\xff\xd9", "warning"


def orientation_of(image: pyvips.Image) -> int:
    """EXIF orientation, with anything outside 1..8 (0 happens) read as 1."""
    if image.get_typeof("orientation") == 0:
        return 1
    value = image.get("orientation")
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def open_source(fmt: str, data: bytes, size: tuple[int, int] = (0, 0)) -> Opened:
    """Header-only open of a libvips format, or a full Pillow decode of HEIC/BMP and of
    TIFFs that tiffload cannot read. ``size`` is the header's (first page's) size."""
    if fmt == "tiff":
        return _open_tiff(data, size)
    if fmt in VIPS_LOADERS:
        image = open_vips(fmt, data)
        # libheif applies HEIF's own irot/imir transforms, so its EXIF tag is stale.
        return Opened(image, 1 if fmt == "avif" else orientation_of(image))
    if fmt == "heic":
        return Opened(pillow.heic_to_vips(data), 1)
    if fmt == "bmp":
        return Opened(pillow.bmp_to_vips(data), 1)
    raise CorruptImage(f"no decoder for {fmt}")  # eps is opened by the caller


def _open_tiff(data: bytes, size: tuple[int, int]) -> Opened:
    """libvips' tiffload, or Pillow where tiffload is known to fail or fails to open.

    The up-front choice matters for old-style JPEG, which tiffload opens and only fails
    on once pixels are read; a header-time failure of any other kind gets Pillow's try
    too, and is reported with libvips' reason if Pillow cannot read it either.
    """
    if pillow.tiff_needs_pillow(data):
        return Opened(*pillow.tiff_to_vips(data, size))
    try:
        image = open_vips("tiff", data)
    except pyvips.Error as exc:
        try:
            return Opened(*pillow.tiff_to_vips(data, size))
        except CorruptImage:
            raise exc from None
    return Opened(image, orientation_of(image))


def open_scaled(fmt: str, data: bytes, factor: float) -> Opened:
    """Open a JPEG or WebP to decode up to ``factor`` times smaller (shrink-on-load).

    JPEG shrinks in the DCT (1/2, 1/4, 1/8), WebP scales while decoding; either way
    the full-size pixels never exist.
    """
    extra: dict[str, Any] = {}
    if fmt == "jpeg":
        extra["shrink"] = next((s for s in JPEG_SHRINKS if s <= factor), 1)
    elif fmt == "webp" and factor > 1.0:
        extra["scale"] = 1.0 / factor
    image = open_vips(fmt, data, **extra)
    return Opened(image, orientation_of(image))
