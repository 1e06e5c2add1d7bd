"""Turning allowed bytes into upright, 8-bit, 3-band sRGB pixels on libvips.

libvips does the work where its build has the loader. HEIC (HEVC) and BMP are decoded
by Pillow (+ pillow-heif), since pyvips-binary lacks those loaders, and EPS by
Ghostscript; their pixels are then handed to libvips, so everything after ``open``
is one code path.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import pyvips

from thumbsmith.errors import CorruptImage
from thumbsmith.imaging.engine import VIPS_LOADERS

#: Every loader reads the header only until pixels are asked for, then streams top to
#: bottom; ``fail_on="truncated"`` turns short files into errors instead of grey bars,
#: while tolerating libjpeg's warnings (odd quantisation tables, broken EXIF).
LOAD_OPTIONS: dict[str, Any] = {"access": "sequential", "fail_on": "truncated"}

JPEG_SHRINKS = (8, 4, 2)


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
    options.update(extra)
    return loader(data, **options)


def orientation_of(image: pyvips.Image) -> int:
    """EXIF orientation, with anything outside 1..8 (0 happens) read as 1."""
    if image.get_typeof("orientation") == 0:
        return 1
    value = image.get("orientation")
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def open_source(fmt: str, data: bytes) -> Opened:
    """Header-only open of a libvips format, or a full Pillow decode of HEIC/BMP."""
    if fmt in VIPS_LOADERS:
        image = open_vips(fmt, data)
        # libheif applies HEIF's own irot/imir transforms, so its EXIF tag is stale.
        return Opened(image, 1 if fmt == "avif" else orientation_of(image))
    if fmt == "heic":
        return Opened(_heic_to_vips(data), 1)
    if fmt == "bmp":
        return Opened(_bmp_to_vips(data), 1)
    raise CorruptImage(f"no decoder for {fmt}")  # eps is opened by the caller


#: Formats whose decoder can scale while decoding.
SCALABLE = ("jpeg", "webp")


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


# --- Pillow decoders for what pyvips-binary lacks ------------------------------------


def _heic_to_vips(data: bytes) -> pyvips.Image:
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


def _bmp_to_vips(data: bytes) -> pyvips.Image:
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


# --- colour ----------------------------------------------------------------------------


def is_srgb_profile(icc: bytes) -> bool:
    """True for an RGB profile whose description names sRGB (no transform needed)."""
    try:
        if icc[16:20] != b"RGB ":
            return False
        (count,) = struct.unpack_from(">I", icc, 128)
        for i in range(min(count, 100)):
            sig, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * i)
            if sig != b"desc":
                continue
            tag = icc[offset : offset + size]
            if tag[:4] == b"desc":
                (n,) = struct.unpack_from(">I", tag, 8)
                text = tag[12 : 12 + n].decode("latin-1")
            elif tag[:4] == b"mluc":
                # first record: language, country, length, offset
                length, start = struct.unpack_from(">II", tag, 20)
                text = tag[start : start + length].decode("utf-16-be", "replace")
            else:
                return False
            return "srgb" in text.lower()
    except (struct.error, UnicodeDecodeError):
        return False
    return False


def to_srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB (3 bands, plus alpha if any), whatever the source's space and depth.

    Embedded profiles are honoured (a wide-gamut or CMYK source never ships raw
    numbers); CMYK without one uses libvips' built-in CMYK profile. An sRGB-tagged or
    untagged 8-bit RGB image is returned untouched: no needless round trip.
    """
    icc: bytes | None = None
    if image.get_typeof("icc-profile-data") != 0:
        icc = image.get("icc-profile-data")
    cmyk = image.interpretation == "cmyk"
    if icc is not None and not is_srgb_profile(icc):
        try:
            image = image.icc_transform(
                "srgb",
                embedded=True,
                intent="perceptual",
                depth=8,
                **({"input_profile": "cmyk"} if cmyk else {}),
            )
        except pyvips.Error:
            # A profile that does not fit the pixels (e.g. RGB profile on grey):
            # fall back to the untagged path below rather than reject the photo.
            cmyk = image.interpretation == "cmyk"
            icc = None
    if icc is None and cmyk:
        image = image.icc_transform("srgb", input_profile="cmyk", intent="perceptual", depth=8)
    if image.interpretation != "srgb" or image.format != "uchar":
        # b-w -> 3 bands; rgb16/grey16 -> 8 bit by scaling, not by truncating cast.
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def flatten(image: pyvips.Image, background: tuple[int, int, int]) -> pyvips.Image:
    """Alpha composited onto ``background`` (JPEG has no alpha); exactly 3 bands out."""
    if image.hasalpha():
        image = image.flatten(background=list(background))
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    elif image.bands < 3:
        image = image.colourspace("srgb") if image.bands == 1 else image.bandjoin([image] * 2)
    return image


def orient(image: pyvips.Image, orientation: int) -> pyvips.Image:
    """Upright pixels for EXIF orientation 1..8; the tag is gone afterwards."""
    if orientation == 1:
        return image
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image.autorot()
