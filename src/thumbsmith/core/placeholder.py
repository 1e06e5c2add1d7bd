"""What a page paints while a rendition loads: a ThumbHash, a colour and a tiny data URI.

All three come from one small image, the smallest output's pixels, so they cost well
under a millisecond per source beyond the render itself (bench/README.md).

ThumbHash is Evan Wallace's algorithm (https://evanw.github.io/thumbhash/, MIT); this is
a port of his reference ``rgbaToThumbHash`` (thumbhash.js), with JavaScript's
``Math.round`` (half up), checked against the author's npm decoder in the tests. It is
ported rather than imported because the PyPI ports crash on alpha (thumbhash 0.1.2),
disagree with the reference (thash) or pin an old Pillow (thumbhash-python).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pyvips

#: ThumbHash's encoder takes at most 100x100 pixels; more adds cost and no detail.
THUMBHASH_MAX = 100
#: The data URI's long side and WebP quality: about 100 bytes for a photo, and the
#: browser (or next/image's blur) smooths it anyway.
LQIP_SIZE = 16
LQIP_QUALITY = 40


@dataclass(frozen=True, slots=True)
class Placeholder:
    thumbhash: str  # standard base64 of the ThumbHash bytes
    color: str  # '#rrggbb': the alpha-weighted mean colour
    data_uri: str  # 'data:image/webp;base64,...'
    data_uri_width: int
    data_uri_height: int


def placeholder(image: pyvips.Image) -> Placeholder:
    """The placeholder of upright sRGB pixels (any size; the smallest output is ideal)."""
    small = _rgba_within(image, THUMBHASH_MAX)
    rgba = bytes(small.write_to_memory())
    thumbhash, mean = rgba_to_thumbhash(small.width, small.height, rgba)
    lqip = _rgba_within(small, LQIP_SIZE)
    if not _has_transparency(rgba):
        lqip = lqip.extract_band(0, n=3)
    webp = bytes(lqip.webpsave_buffer(Q=LQIP_QUALITY, effort=4, keep="none"))
    return Placeholder(
        thumbhash=base64.b64encode(thumbhash).decode("ascii"),
        color="#{:02x}{:02x}{:02x}".format(*(_jround(c * 255) for c in mean)),
        data_uri="data:image/webp;base64," + base64.b64encode(webp).decode("ascii"),
        data_uri_width=lqip.width,
        data_uri_height=lqip.height,
    )


def _rgba_within(image: pyvips.Image, size: int) -> pyvips.Image:
    """4-band uchar sRGB, scaled down to fit a ``size`` box (never up)."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.bands in (1, 2):
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if not image.hasalpha():
        image = image.bandjoin(255)
    scale = size / max(image.width, image.height)
    if scale < 1:
        width = max(1, round(image.width * scale))
        height = max(1, round(image.height * scale))
        image = image.resize(width / image.width, vscale=height / image.height, kernel="linear")
    return image.copy_memory()


def _has_transparency(rgba: bytes) -> bool:
    return any(a != 255 for a in rgba[3::4])


def _jround(x: float) -> int:
    """JavaScript's Math.round (ties go up), not Python's round (ties go to even)."""
    return math.floor(x + 0.5)


def rgba_to_thumbhash(w: int, h: int, rgba: bytes) -> tuple[bytes, tuple[float, float, float]]:
    """The ThumbHash of ``w`` x ``h`` RGBA bytes (not premultiplied), and the mean RGB (0..1).

    Follows the reference encoder step by step; only the DCT is done separably (rows,
    then columns), which is the same sum in a different order.
    """
    if not (0 < w <= THUMBHASH_MAX and 0 < h <= THUMBHASH_MAX) or len(rgba) != w * h * 4:
        raise ValueError(f"{w}x{h} with {len(rgba)} bytes is not RGBA within 100x100")
    alpha = [a / 255 for a in rgba[3::4]]
    reds, greens, blues = rgba[0::4], rgba[1::4], rgba[2::4]
    avg_a = sum(alpha)
    avg = [0.0, 0.0, 0.0]
    if avg_a:
        for c, band in enumerate((reds, greens, blues)):
            avg[c] = sum(a / 255 * v for a, v in zip(alpha, band, strict=True)) / avg_a
    has_alpha = avg_a < w * h
    l_limit = 5 if has_alpha else 7
    lx = max(1, _jround(l_limit * w / max(w, h)))
    ly = max(1, _jround(l_limit * h / max(w, h)))
    # Composite onto the mean colour, then split into luminance and two chroma channels.
    r = [avg[0] * (1 - a) + a / 255 * v for a, v in zip(alpha, reds, strict=True)]
    g = [avg[1] * (1 - a) + a / 255 * v for a, v in zip(alpha, greens, strict=True)]
    b = [avg[2] * (1 - a) + a / 255 * v for a, v in zip(alpha, blues, strict=True)]
    lum = [(ri + gi + bi) / 3 for ri, gi, bi in zip(r, g, b, strict=True)]
    p = [(ri + gi) / 2 - bi for ri, gi, bi in zip(r, g, b, strict=True)]
    q = [ri - gi for ri, gi in zip(r, g, strict=True)]
    l_dc, l_ac, l_scale = _encode_channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(q, w, h, 3, 3)
    landscape = w > h
    header24 = (
        _jround(63 * l_dc)
        | (_jround(31.5 + 31.5 * p_dc) << 6)
        | (_jround(31.5 + 31.5 * q_dc) << 12)
        | (_jround(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_jround(63 * p_scale) << 3)
        | (_jround(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    acs = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alpha, w, h, 5, 5)
        out.append(_jround(15 * a_dc) | (_jround(15 * a_scale) << 4))
        acs.append(a_ac)
    nibbles = [_jround(15 * f) for ac in acs for f in ac]
    if len(nibbles) % 2:
        nibbles.append(0)
    out += [nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2)]
    return bytes(out), (avg[0], avg[1], avg[2])


def _encode_channel(
    channel: Sequence[float], w: int, h: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DC term, AC terms normalised to 0..1, and their scale (the reference's order)."""
    cos, pi = math.cos, math.pi
    fxs = [[cos(pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
    rows = [channel[y * w : (y + 1) * w] for y in range(h)]
    # row_sums[cx][y] = sum over x of channel[y][x] * fx[cx][x]
    row_sums = [[math.fsum(map(float.__mul__, row, fx)) for row in rows] for fx in fxs]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        fy = [cos(pi / h * cy * (y + 0.5)) for y in range(h)]
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = math.fsum(map(float.__mul__, row_sums[cx], fy)) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale
