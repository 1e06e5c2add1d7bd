"""Reading render hints from text: the focal point ``"0.31,0.42"``.

A focus comes from whoever owns the source (S3 user metadata ``focus``, the local
bucket's metadata record, ``convert --focus``); a bad one is reported and ignored,
never a failure: the rendition is still made, with the rendition's own position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hints:
    """What the source's owner says about it, besides its bytes (not part of any spec).

    ``focus``: the focal point, as fractions (x, y) of the upright image; a ``cover``
    crop is centred on it instead of its ``position``.
    """

    focus: tuple[float, float] | None = None


def parse_focus(text: str | None) -> tuple[tuple[float, float] | None, str]:
    """``(focus, problem)``: the point as fractions of the upright image, or ``None`` and
    why not (``""`` when there was nothing to read)."""
    if text is None or not text.strip():
        return None, ""
    parts = text.replace(" ", "").split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        return None, f"focus {text!r} is not 'x,y' (fractions of the width and height)"
    if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return None, f"focus {text!r} is outside 0..1"
    return (x, y), ""
