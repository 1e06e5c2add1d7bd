"""Matched quality: the WebP and AVIF quality that looks as good as the JPEG beside them.

A ``<picture>`` lists AVIF, WebP and JPEG and the browser picks one, so each format of a
rendition should look the same. JPEG q85 is the anchor; :data:`MATCHED` holds, per
format and size class, the lowest quality at which, over every photo of the corpus and
the bench images, >= 90 % of the renditions have an SSIM (luma, against a float
reference) at most 0.005 below the JPEG q85's and none more than 0.02 below
(``bench/parity.py``, the table in bench/README.md). AVIF's quality moves SSIM in
steps, so each value was measured, never interpolated.

``"match"`` (:data:`MATCH`) is the default of ``webp_quality`` and ``avif_quality``; a
number there, or a rendition's own ``avif@45``, wins. This is the one table of quality
facts, to fold into the format registry later.
"""

from __future__ import annotations

from typing import Literal

MATCH: Literal["match"] = "match"
#: A format's quality setting: a number 1..100, or matched to JPEG q85.
Quality = int | Literal["match"]
#: The JPEG quality the others are matched to.
JPEG_ANCHOR = 85

#: Size classes by the rendition box's longer side, smallest first: (name, up to px).
#: The box, not the output, decides, so a rendition's quality (and its fingerprint) is
#: known before any source is read.
SIZE_CLASSES: tuple[tuple[str, int], ...] = (("small", 320), ("large", 16384))

#: Per format and size class, the quality that matches JPEG q85 at AVIF effort 3 and
#: WebP effort 2 (the encoders' defaults), from bench/parity.py over 36 photos (2026-12-04):
#: share of renditions within 0.005 / worst gap / bytes against the JPEG's (median):
#: WebP small 90 % / -0.015 / 1.05x, large 91 % / -0.008 / 1.15x; AVIF small 93 % /
#: -0.014 / 0.67x, large 98 % / -0.007 / 0.71x. One below fails the rule in each cell;
#: AVIF effort 4 needs the same quality or one step more (no fewer bytes, 3x the time).
MATCHED: dict[str, dict[str, int]] = {
    "webp": {"small": 86, "large": 89},
    "avif": {"small": 66, "large": 67},
}


def size_class(width: int | None, height: int | None) -> str:
    """The class of a ``width`` x ``height`` box (one side may be unbounded: ``1280x``)."""
    side = max(width or 0, height or 0)
    return next((name for name, most in SIZE_CLASSES if side <= most), SIZE_CLASSES[-1][0])


def resolve(fmt: str, setting: Quality, width: int | None, height: int | None) -> int:
    """The quality a ``fmt`` rendition in a ``width`` x ``height`` box gets from the
    setting ``setting`` (a number wins; ``"match"`` reads :data:`MATCHED`)."""
    if setting != MATCH:
        return int(setting)
    if fmt not in MATCHED:
        raise ValueError(f"no matched quality for {fmt!r}: give a number")
    return MATCHED[fmt][size_class(width, height)]


def describe(fmt: str, setting: Quality) -> str:
    """One line for ``thumbsmith config``: what ``setting`` gives ``fmt``, per class."""
    if setting != MATCH:
        return f"{fmt} {setting}"
    by_class = ", ".join(
        f"{MATCHED[fmt][name]} ({name}: box <= {most} px)"
        if i < len(SIZE_CLASSES) - 1
        else f"{MATCHED[fmt][name]} ({name})"
        for i, (name, most) in enumerate(SIZE_CLASSES)
    )
    return f"{fmt} match: {by_class}"
