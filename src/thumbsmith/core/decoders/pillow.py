"""Pillow decoders for what pyvips-binary lacks (HEIC through pillow-heif, BMP).

Their pixels are handed to libvips straight away, so nothing after the decode knows
which library read the file.
"""

from __future__ import annotations

import io
import struct

import pyvips

from thumbsmith.errors import CorruptImage


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
