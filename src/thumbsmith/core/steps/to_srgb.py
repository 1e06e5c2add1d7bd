"""Step ``to_srgb``: 8-bit sRGB pixels, whatever the source's colour space and depth."""

from __future__ import annotations

import struct

import pyvips

from thumbsmith.core.job import Job


def step_to_srgb(job: Job) -> None:
    job.image = to_srgb(job.require_image())


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
