"""AVIF encoding (libheif + aom, AV1), 8 bit, alpha kept, no metadata."""

from __future__ import annotations

import pyvips

from thumbsmith.core.options import RenderOptions
from thumbsmith.core.quality import resolve


def encode_avif(image: pyvips.Image, options: RenderOptions, quality: int | None = None) -> bytes:
    """Encode upright sRGB pixels (plus alpha) at ``quality``, or, without one, at the
    options' (``"match"``: the output's size class, core/quality.py).

    aom's effort dominates the cost: effort 3 with 4:2:0 chroma gave bytes within 4% of
    effort 4 with 4:4:4 at the same SSIM in a quarter of the time; effort 4 and up cost
    3-15x for < 3-8% fewer bytes (bench/README.md, the AVIF curve and the parity sweep).
    ``subsample_mode="auto"`` is 4:2:0 below quality 90 and 4:4:4 above it.
    """
    return bytes(
        image.heifsave_buffer(
            compression="av1",
            Q=quality or resolve("avif", options.avif_quality, image.width, image.height),
            effort=options.avif_effort,
            subsample_mode="auto",
            bitdepth=8,
            keep="none",
        )
    )
