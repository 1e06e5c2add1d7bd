"""Step ``orient``: the largest output turned upright.

It runs late on purpose: rotating a sequentially decoded image would force libvips to
hold the whole decode in memory, while rotating the largest rendition, already in
memory, is nearly free; every smaller rendition is then made from upright pixels.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.job import Job


def step_orient(job: Job) -> None:
    largest = job.require_targets()[0]
    job.image = orient(job.require_image(), job.orientation)
    job.resized[largest.index] = job.image


def orient(image: pyvips.Image, orientation: int) -> pyvips.Image:
    """Upright pixels for EXIF orientation 1..8; the tag is gone afterwards."""
    if orientation == 1:
        return image
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return image.autorot()
