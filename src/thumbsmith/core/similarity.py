"""How close each format of a rendition is to the pixels it was encoded from: SSIM.

For the serve page's detail view: "the WebP is 0.002 below the JPEG beside it". The
reference is the pipeline's own output before encoding (the source decoded, shrunk,
oriented, converted, resized, cropped: what every encoder of the rendition got), made
again from the source; each encoded rendition is decoded and compared with it.

SSIM is Wang et al.'s (11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255) on
BT.601 luma over the fully windowed area, as bench/ssim.py computes it in numpy against
its float reference (the two agree to 2e-5 on the W4 outputs); here in libvips. Not
done while rendering: making the reference again, decoding and scoring the ten W4
outputs of the 12 MP photo took 0.8x as long as rendering them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pyvips

from thumbsmith.core.decoders.sniff import sniff_format
from thumbsmith.core.decoders.vips import open_vips
from thumbsmith.core.hints import Hints
from thumbsmith.core.job import Job
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import CorruptImage

LUMA = (0.299, 0.587, 0.114)
_RADIUS = 5
_SIGMA = 1.5


def _window() -> pyvips.Image:
    taps = [math.exp(-(t * t) / (2 * _SIGMA * _SIGMA)) for t in range(-_RADIUS, _RADIUS + 1)]
    total = sum(taps)
    return pyvips.Image.new_from_array([[t / total for t in taps]])


def luma(image: pyvips.Image, background: tuple[int, int, int] = (255, 255, 255)) -> pyvips.Image:
    """BT.601 luma, in double, of 8-bit sRGB (alpha flattened onto ``background``)."""
    if image.hasalpha():
        image = image.flatten(background=list(background))
    if image.bands < 3:
        image = image.extract_band(0).bandjoin([image.extract_band(0)] * 2)
    return image.extract_band(0, n=3).cast("double").recomb([list(LUMA)])


def ssim(a: pyvips.Image, b: pyvips.Image) -> float:
    """SSIM of two same-sized 1-band images (luma, 0..255)."""
    if (a.width, a.height) != (b.width, b.height):
        raise ValueError(f"sizes differ: {a.width}x{a.height} and {b.width}x{b.height}")
    if min(a.width, a.height) <= 2 * _RADIUS:
        return 1.0 if a.avg() == b.avg() else 0.0  # no full window fits
    mask = _window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    w, h = a.width - 2 * _RADIUS, a.height - 2 * _RADIUS

    def blur(image: pyvips.Image) -> pyvips.Image:
        # convsep keeps the size; the fully windowed area is the interior.
        out = image.convsep(mask, precision="float").extract_area(_RADIUS, _RADIUS, w, h)
        return out.cast("double")

    mu_a, mu_b = blur(a), blur(b)
    aa = blur(a * a) - mu_a * mu_a
    bb = blur(b * b) - mu_b * mu_b
    ab = blur(a * b) - mu_a * mu_b
    num = (mu_a * mu_b * 2 + c1) * (ab * 2 + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (aa + bb + c2)
    return float((num / den).avg())


def pixels(
    data: bytes,
    specs: Sequence[RenditionSpec],
    options: RenderOptions,
    hints: Hints | None = None,
) -> dict[str, pyvips.Image]:
    """Each rendition's pixels as its encoders got them, by name (no encode)."""
    from thumbsmith.core.pipeline import STEPS, run

    steps = [s for s in STEPS if s.name not in ("placeholder", "animate", "encode")]
    job = run(Job(bytes(data), specs, options, hints=hints or Hints()), steps)
    return {spec.name: job.outputs[i].copy_memory() for i, spec in enumerate(specs)}


def scores(
    data: bytes,
    specs: Sequence[RenditionSpec],
    options: RenderOptions,
    renditions: Mapping[tuple[str, str], bytes],
    hints: Hints | None = None,
) -> dict[tuple[str, str], float]:
    """SSIM of each encoded rendition ``(name, format) -> bytes`` against its pixels.

    ``specs`` must be the set the source was rendered with (shrink-on-load depends on
    the largest). A rendition whose size no longer matches (stale) is left out.
    """
    try:
        ref = pixels(data, specs, options, hints)
    except pyvips.Error as exc:
        raise CorruptImage("cannot render the source again to compare") from exc
    out: dict[tuple[str, str], float] = {}
    for (name, fmt), encoded in renditions.items():
        if name not in ref:
            continue
        kind = sniff_format(encoded)
        try:
            if kind not in ("jpeg", "webp", "avif", "png"):
                raise CorruptImage(f"the {name} {fmt} rendition is not an image we write")
            decoded = open_vips(kind, encoded)
        except pyvips.Error as exc:
            raise CorruptImage(f"cannot decode the {name} {fmt} rendition") from exc
        if (decoded.width, decoded.height) != (ref[name].width, ref[name].height):
            continue
        background = options.background
        out[name, fmt] = ssim(luma(ref[name], background), luma(decoded, background))
    return out
