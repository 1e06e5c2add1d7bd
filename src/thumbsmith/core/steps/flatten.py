"""Step ``flatten``: alpha composited onto the background unless an output keeps it.

WebP, AVIF and PNG keep an alpha band; JPEG has none. When no output of the set keeps
alpha the source is flattened here, once, before any resize (the cheapest place, and
the pixels of a JPEG-only set are exactly what they always were). Otherwise the pixels
go on as sRGB plus alpha, and the JPEG encoder flattens its own copy.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.formats import keeps_alpha
from thumbsmith.core.job import Job


def step_flatten(job: Job) -> None:
    image = job.require_image()
    job.keep_alpha = bool(image.hasalpha()) and keeps_alpha(
        fmt for spec in job.specs for fmt in spec.formats
    )
    job.image = with_alpha(image) if job.keep_alpha else flatten(image, job.options.background)


def flatten(image: pyvips.Image, background: tuple[int, int, int]) -> pyvips.Image:
    """Alpha composited onto ``background`` (JPEG has no alpha); exactly 3 bands out."""
    if image.hasalpha():
        image = image.flatten(background=list(background))
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    elif image.bands < 3:
        image = image.colourspace("srgb") if image.bands == 1 else image.bandjoin([image] * 2)
    return image


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    """Exactly 4 bands, sRGB plus alpha (grey plus alpha is widened)."""
    if image.bands == 2:
        grey = image.extract_band(0).copy(interpretation="b-w").colourspace("srgb")
        image = grey.bandjoin(image.extract_band(1))
    if image.bands > 4:
        image = image.extract_band(0, n=4)
    if image.format != "uchar":
        image = image.cast("uchar")
    return image.copy(interpretation="srgb")
