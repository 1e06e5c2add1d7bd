"""JPEG encoding: progressive, optimised Huffman tables, metadata stripped by default."""

from __future__ import annotations

import pyvips

from thumbsmith.core.options import RenderOptions
from thumbsmith.core.steps.flatten import flatten


def encode_jpeg(image: pyvips.Image, options: RenderOptions, quality: int | None = None) -> bytes:
    """Encode upright sRGB pixels; alpha, if any, is flattened onto the background.

    With ``strip_metadata`` (the default) nothing but the pixels is written: no EXIF
    (GPS, serial numbers), no XMP/IPTC, and no ICC profile since the pixels are sRGB.
    Without it EXIF is kept, with Orientation forced to 1 because the pixels are
    already upright. An ICC profile is never written: it would describe the source.
    """
    if image.hasalpha():
        image = flatten(image, options.background)
    keep = "none"
    if not options.strip_metadata and image.get_typeof("exif-data") != 0:
        image = image.copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", 1)
        keep = "exif"
    return bytes(
        image.jpegsave_buffer(
            Q=quality or options.quality,
            interlace=options.progressive,
            optimize_coding=options.optimize,
            subsample_mode="auto",
            keep=keep,
        )
    )
