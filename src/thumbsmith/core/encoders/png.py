"""PNG encoding (lossless, zlib level 6), alpha kept, no metadata."""

from __future__ import annotations

import pyvips

from thumbsmith.core.options import RenderOptions


def encode_png(image: pyvips.Image, options: RenderOptions, quality: int | None = None) -> bytes:
    """Encode upright sRGB pixels (plus alpha). PNG is lossless: ``quality`` is unused
    (the signature matches the other encoders)."""
    del options, quality
    return bytes(image.pngsave_buffer(compression=6, keep="none"))
