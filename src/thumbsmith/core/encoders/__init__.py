"""From upright sRGB pixels to bytes, one module per output format."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from thumbsmith.core.encoders.avif import encode_avif
from thumbsmith.core.encoders.jpeg import encode_jpeg
from thumbsmith.core.encoders.png import encode_png
from thumbsmith.core.encoders.webp import encode_webp
from thumbsmith.core.options import RenderOptions

Encoder = Callable[[pyvips.Image, RenderOptions, int | None], bytes]

ENCODERS: dict[str, Encoder] = {
    "jpeg": encode_jpeg,
    "webp": encode_webp,
    "avif": encode_avif,
    "png": encode_png,
}
