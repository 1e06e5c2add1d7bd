"""What a page paints while a rendition loads: a ThumbHash, a colour and a tiny data URI.

All three come from one small image, the smallest output's pixels: a few milliseconds
per source beyond the render itself (bench/README.md).

ThumbHash is Evan Wallace's algorithm (https://evanw.github.io/thumbhash/, MIT); this is
a port of his reference ``rgbaToThumbHash`` (thumbhash.js), with JavaScript's
``Math.round`` (half up), checked against the author's npm decoder in the tests. It is
ported rather than imported because the PyPI ports crash on alpha (thumbhash 0.1.2),
disagree with the reference (thash) or pin an old Pillow (thumbhash-python).
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass

import pyvips

#: ThumbHash's encoder takes at most 100x100 pixels; more adds cost and no detail.
THUMBHASH_MAX = 100
#: Below this many pixels on a side, ThumbHash's cosines alias: its DCT takes up to 7
#: terms a side, and on 1 px the third (cos 2 pi (x + 1/2)) is -1, the same as the mean
#: with its sign turned, so a 1x1 white pixel decodes to grey.
THUMBHASH_TINY = 7
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
    if image.bands == 3 and image.format == "uchar":
        # Opaque (every JPEG-only set: flattened before any resize): a path of ~8 libvips
        # calls instead of ~40. Each call costs 50-150 us of pyvips and libvips set-up,
        # far more than the arithmetic on 100x75 pixels: 1-2 ms instead of 6-10 ms.
        if image.interpretation != "srgb":
            image = image.copy(interpretation="srgb")
        small = _within(image, THUMBHASH_MAX).copy_memory()
        thumbhash, mean = _opaque_thumbhash(_enlarged_if_tiny(small))
        lqip = _within(small, LQIP_SIZE)
    else:
        small = _rgba_within(image, THUMBHASH_MAX)
        thumbhash, mean = _thumbhash(_enlarged_if_tiny(small))
        lqip = _rgba_within(small, LQIP_SIZE)
        if small[3].min() == 255:
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
    """RGBA uchar, scaled down to fit a ``size`` box (never up).

    The pipeline's outputs are sRGB already (``to_srgb``), so the bands are only
    rearranged, never converted: a colourspace call could fail on a source whose
    interpretation tag is odd (a fuzzed PNG's "multiband") and cost the renditions.
    """
    if image.format != "uchar":
        image = image.cast("uchar")
    bands = [image[i] for i in range(min(image.bands, 4))]
    if len(bands) <= 2:  # grey, or grey + alpha
        bands = [bands[0], bands[0], *bands]
    if len(bands) == 3:
        bands.append(bands[0].new_from_image(255))
    image = bands[0].bandjoin(bands[1:]).copy(interpretation="srgb")
    return _within(image, size).copy_memory()


def _within(image: pyvips.Image, size: int) -> pyvips.Image:
    """``image`` scaled down (linear) to fit a ``size`` box, never up; lazy."""
    scale = size / max(image.width, image.height)
    if scale < 1:
        width = max(1, round(image.width * scale))
        height = max(1, round(image.height * scale))
        image = image.resize(width / image.width, vscale=height / image.height, kernel="linear")
    return image


def _enlarged_if_tiny(image: pyvips.Image) -> pyvips.Image:
    """A 1-6 px side enlarged as far as 100 px allows, as the reference's own page does
    (it draws every image at 100 px before hashing). By whole pixels (each repeated k x
    k times): the aspect ratio and the mean colour stay exactly the source's."""
    k = THUMBHASH_MAX // max(image.width, image.height)
    if min(image.width, image.height) >= THUMBHASH_TINY or k < 2:
        return image
    return image.zoom(k, k).copy_memory()


def _jround(x: float) -> int:
    """JavaScript's Math.round (ties go up), not Python's round (ties go to even)."""
    return math.floor(x + 0.5)


def rgba_to_thumbhash(w: int, h: int, rgba: bytes) -> tuple[bytes, tuple[float, float, float]]:
    """The ThumbHash of ``w`` x ``h`` RGBA bytes (not premultiplied), and the mean RGB (0..1).

    Follows the reference encoder step by step, in double precision; the per-pixel work
    and the DCT run in libvips, in a handful of operations (each pyvips call costs tens
    of microseconds, the arithmetic on 100x100 pixels much less).
    """
    if not (0 < w <= THUMBHASH_MAX and 0 < h <= THUMBHASH_MAX) or len(rgba) != w * h * 4:
        raise ValueError(f"{w}x{h} with {len(rgba)} bytes is not RGBA within 100x100")
    # A copy libvips owns: an image over Python's bytes could outlive them in its cache.
    image = pyvips.Image.new_from_memory(rgba, w, h, 4, "uchar").copy_memory()
    if rgba[3::4] == b"\xff" * (w * h):  # opaque: the path placeholder() takes for RGB
        return _opaque_thumbhash(image.extract_band(0, n=3).copy_memory())
    return _thumbhash(image)


def _thumbhash(image: pyvips.Image) -> tuple[bytes, tuple[float, float, float]]:
    """:func:`rgba_to_thumbhash` of a 4-band uchar image within 100x100."""
    w, h = image.width, image.height
    px = image.cast("double")
    alpha = px[3] / 255
    weighted = px.extract_band(0, n=3) * (alpha / 255)
    # One pass for the four sums: stats() row 1 + band, column 2, is that band's sum.
    sums = [row[2] for row in alpha.bandjoin(weighted).stats().tolist()[1:]]
    avg_a = sums[0]
    avg = [total / avg_a if avg_a else 0.0 for total in sums[1:]]
    has_alpha = avg_a < w * h
    l_limit = 5 if has_alpha else 7
    lx = max(1, _jround(l_limit * w / max(w, h)))
    ly = max(1, _jround(l_limit * h / max(w, h)))
    # Composite onto the mean colour, then luminance and two chroma channels (and alpha).
    rgb = alpha.linear([-a for a in avg], avg) + weighted
    lpq = rgb.recomb([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, -1], [1, -1, 0]])
    sizes = [(max(3, lx), max(3, ly)), (3, 3), (3, 3)] + [(5, 5)] * has_alpha
    lpqa = lpq.bandjoin(alpha).copy_memory()  # computed once, read by every channel
    channels = [lpqa[c] for c in range(len(sizes))]
    return _pack(_dct(channels, w, h, sizes), lx, ly, w > h), (avg[0], avg[1], avg[2])


def _opaque_thumbhash(image: pyvips.Image) -> tuple[bytes, tuple[float, float, float]]:
    """:func:`_thumbhash` of a 3-band uchar image within 100x100, every pixel opaque.

    With alpha 1 the reference's compositing is the identity and L, P and Q are linear
    in R, G and B, so the DCT runs once over the raw bands, side by side
    (``bandunfold``: one matrix product for all three), and L, P, Q and the mean colour
    (the R, G, B DC terms) are combined from its terms afterwards: five libvips calls.
    The rounding differs from the per-pixel order in the last bits only; the bytes
    match the reference encoder's (tests/imaging/test_placeholder.py).
    """
    w, h = image.width, image.height
    lx = max(1, _jround(7 * w / max(w, h)))
    ly = max(1, _jround(7 * h / max(w, h)))
    nx, ny = max(3, lx), max(3, ly)
    rows = image.bandunfold().matrixmultiply(_x_cosines_bands(w, nx, 3))
    f = _y_cosines(h, (ny,)).matrixmultiply(rows).tolist()
    norm = 1 / (255 * w * h)
    r, g, b = (
        [[f[cy][c * nx + cx] * norm for cx in range(nx)] for cy in range(ny)] for c in range(3)
    )

    def combine(kr: float, kg: float, kb: float) -> list[list[float]]:
        return [[kr * r[y][x] + kg * g[y][x] + kb * b[y][x] for x in range(nx)] for y in range(ny)]

    planes = [combine(1 / 3, 1 / 3, 1 / 3), combine(0.5, 0.5, -1), combine(1, -1, 0)]
    sizes = [(nx, ny), (3, 3), (3, 3)]
    terms = [_terms(plane, cnx, cny) for plane, (cnx, cny) in zip(planes, sizes, strict=True)]
    return _pack(terms, lx, ly, w > h), (r[0][0], g[0][0], b[0][0])


def _pack(dc_ac_scale: list[Terms], lx: int, ly: int, landscape: bool) -> bytes:
    """The ThumbHash bytes from each channel's terms (L, P, Q, and A when it has alpha)."""
    has_alpha = len(dc_ac_scale) > 3
    (l_dc, l_ac, l_scale), (p_dc, p_ac, p_scale), (q_dc, q_ac, q_scale) = dc_ac_scale[:3]
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
        a_dc, a_ac, a_scale = dc_ac_scale[3]
        out.append(_jround(15 * a_dc) | (_jround(15 * a_scale) << 4))
        acs.append(a_ac)
    nibbles = [_jround(15 * f) for ac in acs for f in ac]
    if len(nibbles) % 2:
        nibbles.append(0)
    out += [nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2)]
    return bytes(out)


Terms = tuple[float, list[float], float]


def _dct(channels: list[pyvips.Image], w: int, h: int, sizes: list[tuple[int, int]]) -> list[Terms]:
    """Per channel: DC term, AC terms normalised to 0..1, and their scale, for ``nx`` x
    ``ny`` coefficients in the reference's triangular order.

    All channels at once, as two matrix products: the channels stacked top to bottom
    times the x cosines (w x 7), then a block-diagonal matrix of each channel's y
    cosines times that: f[cy][cx] = sum over y, x of ch[y][x] fx[x][cx] fy[cy][y].
    """
    stacked = pyvips.Image.arrayjoin(channels, across=1)
    rows = stacked.matrixmultiply(_x_cosines(w, max(nx for nx, _ in sizes)))
    f = _y_cosines(h, tuple(ny for _, ny in sizes)).matrixmultiply(rows).tolist()
    terms: list[Terms] = []
    top = 0
    for nx, ny in sizes:
        plane = [[v / (w * h) for v in row] for row in f[top : top + ny]]
        terms.append(_terms(plane, nx, ny))
        top += ny
    return terms


def _terms(f: list[list[float]], nx: int, ny: int) -> Terms:
    """DC, normalised AC terms and scale of one channel's coefficients ``f[cy][cx]``
    (already divided by the pixel count), in the reference's triangular order."""
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            value = f[cy][cx]
            if cx or cy:
                ac.append(value)
                scale = max(scale, abs(value))
            else:
                dc = value
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * v for v in ac]
    return dc, ac, scale


def _cos(size: int, k: int, i: int) -> float:
    return math.cos(math.pi / size * k * (i + 0.5))


@functools.lru_cache(maxsize=128)
def _x_cosines(w: int, nx: int) -> pyvips.Image:
    """w rows x nx columns: fx[x][cx]. Built once per size: few sizes recur."""
    return pyvips.Image.new_from_array([[_cos(w, cx, x) for cx in range(nx)] for x in range(w)])


@functools.lru_cache(maxsize=128)
def _x_cosines_bands(w: int, nx: int, bands: int) -> pyvips.Image:
    """(w * bands) rows x (nx * bands) columns: band c of pixel x (row x * bands + c, as
    ``bandunfold`` lays them out) goes to column c * nx + cx with fx[x][cx]."""
    rows = []
    for x in range(w):
        for c in range(bands):
            row = [0.0] * (nx * bands)
            row[c * nx : (c + 1) * nx] = [_cos(w, cx, x) for cx in range(nx)]
            rows.append(row)
    return pyvips.Image.new_from_array(rows)


@functools.lru_cache(maxsize=128)
def _y_cosines(h: int, nys: tuple[int, ...]) -> pyvips.Image:
    """Block-diagonal: channel c's ny rows of fy[cy][y] over its own h columns."""
    rows = []
    for c, ny in enumerate(nys):
        for cy in range(ny):
            row = [0.0] * (h * len(nys))
            row[c * h : (c + 1) * h] = [_cos(h, cy, y) for y in range(h)]
            rows.append(row)
    return pyvips.Image.new_from_array(rows)
