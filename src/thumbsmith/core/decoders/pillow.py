"""Pillow decoders for what pyvips-binary lacks (HEIC through pillow-heif, BMP, and the
TIFF variants its tiffload cannot read).

Their pixels are handed to libvips straight away, so nothing after the decode knows
which library read the file.
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

import pyvips

from thumbsmith.core.decoders.jpeg_markers import is_cut_short
from thumbsmith.errors import CorruptImage

if TYPE_CHECKING:
    from PIL import Image


def heic_to_vips(data: bytes) -> pyvips.Image:
    import pillow_heif  # heavy import, only for HEIC

    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        if len(heif) == 0:
            # A well-formed box tree whose items libheif cannot decode: pillow-heif would
            # raise IndexError on the first attribute read.
            raise CorruptImage("HEIC decoder: the file holds no decodable image")
        mode = heif.mode
        width, height = heif.size
        pixels = bytes(heif.data)
        stride = heif.stride
        icc = heif.info.get("icc_profile")
    # EOFError: libheif's "Unexpected end of file" on an item whose data is cut short.
    except (ValueError, RuntimeError, OSError, SyntaxError, IndexError, EOFError) as exc:
        raise CorruptImage(f"HEIC decoder: {exc}") from exc
    bands = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}.get(mode)
    if bands is None:
        raise CorruptImage(f"HEIC pixel mode {mode} is not supported")
    row = width * bands
    if stride != row:  # rows are padded: repack them tightly for libvips
        pixels = b"".join(pixels[y * stride : y * stride + row] for y in range(height))
    return _vips_from_pixels(pixels, width, height, bands, icc)


def bmp_to_vips(data: bytes) -> pyvips.Image:
    from PIL import BmpImagePlugin, Image  # only BMP needs Pillow here

    try:
        # The BMP plugin by class, not Image.open: Pillow's own sniffing could pick
        # another plugin (it famously reads TGA, which has no magic number).
        im: Image.Image = BmpImagePlugin.BmpImageFile(io.BytesIO(data))
        im.load()
        icc = im.info.get("icc_profile")
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode not in ("RGB", "RGBA", "L", "LA"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        pixels = im.tobytes()
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError) as exc:
        raise CorruptImage(f"BMP decoder: {exc}") from exc
    return _vips_from_pixels(pixels, im.width, im.height, len(im.getbands()), icc)


def _vips_from_pixels(
    pixels: bytes, width: int, height: int, bands: int, icc: bytes | None
) -> pyvips.Image:
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    image = image.copy(interpretation="b-w" if bands <= 2 else "srgb")
    if icc:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    return image


# --- TIFF variants this libvips build cannot decode --------------------------------------
_COMPRESSION, _PHOTOMETRIC, _BITS, _ORIENTATION = 259, 262, 258, 274
_JPEG_STREAM = 513  # JPEGInterchangeFormat: where old-style JPEG's JFIF stream starts
_OLD_JPEG = 6
_CIELAB = 8
_MAX_ENTRIES = 4096


def tiff_first_ifd(data: bytes) -> dict[int, int]:
    """Compression, Photometric, BitsPerSample (first value) and JPEGInterchangeFormat
    of the first IFD."""
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    offset_fmt = order + ("Q" if big else "I")
    (offset,) = struct.unpack_from(offset_fmt, data, 8 if big else 4)
    (count,) = struct.unpack_from(order + ("Q" if big else "H"), data, offset)
    first, size, value_at = (offset + 8, 20, 12) if big else (offset + 2, 12, 8)
    tags: dict[int, int] = {}
    for i in range(min(count, _MAX_ENTRIES)):
        entry = first + i * size
        tag, typ = struct.unpack_from(order + "HH", data, entry)
        if tag not in (_COMPRESSION, _PHOTOMETRIC, _BITS, _JPEG_STREAM):
            continue
        (n,) = struct.unpack_from(offset_fmt, data, entry + 4)
        fmt = order + ("H" if typ == 3 else "I")
        at = entry + value_at
        if n * struct.calcsize(fmt) > (8 if big else 4):  # 3+ SHORTs live at an offset
            (at,) = struct.unpack_from(offset_fmt, data, at)
        tags[tag] = struct.unpack_from(fmt, data, at)[0]
    return tags


def tiff_needs_pillow(data: bytes) -> str | None:
    """Why pyvips-binary's tiffload cannot decode this TIFF, or None if it can.

    Measured with libvips 8.18: 8-bit CIELab fails as the header is read ("bad labq
    format"); old-style JPEG (compression 6) opens, then fails only once pixels are
    read, deep in the pipeline. So the choice is made from the first IFD, up front.
    """
    try:
        tags = tiff_first_ifd(data)
    except (struct.error, OverflowError):
        return None  # tiffload reports the broken header
    if tags.get(_COMPRESSION) == _OLD_JPEG:
        return "old-style JPEG compression"
    if tags.get(_PHOTOMETRIC) == _CIELAB and tags.get(_BITS, 1) == 8:
        return "8-bit CIELab"
    return None


def old_jpeg_cut_short(data: bytes) -> bool:
    """Whether an old-style JPEG TIFF's JFIF stream stops before its end of image.

    libtiff's OJPEG codec lets libjpeg paint the missing rows grey and reports no error,
    so Pillow would hand back a picture whose bottom does not exist. The stream is
    found by JPEGInterchangeFormat, as the codec finds it (without that tag the codec
    reads strips, and libtiff's read errors reach Pillow as decoder errors).
    """
    try:
        tags = tiff_first_ifd(data)
    except (struct.error, OverflowError):
        return False
    start = tags.get(_JPEG_STREAM)
    if tags.get(_COMPRESSION) != _OLD_JPEG or start is None:
        return False
    return is_cut_short(data[start:])


def tiff_to_vips(data: bytes, size: tuple[int, int]) -> tuple[pyvips.Image, int]:
    """The first page of a TIFF decoded by Pillow, and its orientation (1..8).

    ``size`` is the first page's size as sniffing read it (and the limits checked): the
    decode is refused if Pillow reads another, so the limits hold whoever decodes.
    CIELab comes out as sRGB pixels; other modes keep their ICC profile for ``to_srgb``.
    """
    from PIL import Image, TiffImagePlugin

    if old_jpeg_cut_short(data):
        raise CorruptImage("the TIFF's old-style JPEG data is cut short (no end of image)")
    try:
        tiff = TiffImagePlugin.TiffImageFile(io.BytesIO(data))
        # Pillow reports (and later applies) the orientation: 5..8 swap the sides.
        turned = tiff.tag_v2.get(_ORIENTATION) in (5, 6, 7, 8)
        if tiff.size != (size[::-1] if turned else size):
            raise CorruptImage(f"TIFF decoder (Pillow) reads {tiff.size}, the header says {size}")
        tiff.load()
        # Pillow drops the tag once it has turned the pixels; a tag left is still to apply.
        orientation = tiff.tag_v2.get(_ORIENTATION, 1)
        im: Image.Image = tiff
        icc = im.info.get("icc_profile")
        if im.mode == "LAB":
            im, icc = _lab_to_srgb(im), None  # the pixels are sRGB now
        elif im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
            im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
        pixels = im.tobytes()
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError) as exc:
        raise CorruptImage(f"TIFF decoder (Pillow): {exc}") from exc
    image = _vips_from_pixels(pixels, im.width, im.height, len(im.getbands()), icc)
    if im.mode == "CMYK":
        image = image.copy(interpretation="cmyk")  # to_srgb converts it, profile or not
    return image, orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def _lab_to_srgb(im: Image.Image) -> Image.Image:
    """CIELab to sRGB with LittleCMS, D50 white: the ICC connection space, which is what
    CIELab TIFFs written by ICC-based software use."""
    from PIL import ImageCms

    lab = ImageCms.createProfile("LAB", colorTemp=5000)
    srgb = ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(
        lab, srgb, "LAB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
    )
    out = ImageCms.applyTransform(im, transform)
    assert out is not None  # only None when converting in place
    return out
