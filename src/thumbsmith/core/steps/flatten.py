"""Step ``flatten``: alpha composited onto the background, exactly three bands out."""

from __future__ import annotations

import pyvips

from thumbsmith.core.job import Job


def step_flatten(job: Job) -> None:
    job.image = flatten(job.require_image(), job.options.background)


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
