"""From upright sRGB pixels to bytes, one module per output format: the registry's
``encoders/<name>.py``, whose ``encode_<name>`` makes the bytes."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pyvips

from thumbsmith.core.formats import OUTPUTS
from thumbsmith.core.options import RenderOptions

Encoder = Callable[[pyvips.Image, RenderOptions, int | None], bytes]

ENCODERS: dict[str, Encoder] = {
    f.name: getattr(importlib.import_module(f.encoder_module), f"encode_{f.name}") for f in OUTPUTS
}
