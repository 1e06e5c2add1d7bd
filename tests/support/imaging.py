"""Helpers for the imaging tests (the corpus helpers are in tests/helpers.py)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from thumbsmith.core import configure
from thumbsmith.core.spec import parse_renditions

SPECS = parse_renditions("large=1280,medium=640,thumb=160")

configure(concurrency=1)


def pixels(jpeg: bytes) -> np.ndarray:
    """Decoded RGB pixels of an output JPEG, as float (height, width, 3)."""
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG"
        assert im.mode == "RGB"
        return np.asarray(im, dtype=np.float64)
