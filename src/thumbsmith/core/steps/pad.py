"""Step ``pad``: ``contain`` outputs centred on a canvas of the exact box.

The padding is transparent when the rendition has a format with alpha (the JPEG of the
same pixels then shows the background colour, like every flattened pixel), else the
background colour itself.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.formats import keeps_alpha
from thumbsmith.core.job import Job


def step_pad(job: Job) -> None:
    for target in job.require_targets():
        image = job.outputs[target.index]
        if target.spec.fit != "contain" or (image.width, image.height) == (
            target.width,
            target.height,
        ):
            continue
        transparent = keeps_alpha(target.spec.formats)
        job.outputs[target.index] = pad(
            image, target.width, target.height, job.options.background, transparent=transparent
        )


def pad(
    image: pyvips.Image,
    width: int,
    height: int,
    background: tuple[int, int, int],
    *,
    transparent: bool,
) -> pyvips.Image:
    colour: list[float] = list(background)
    if transparent:
        if not image.hasalpha():
            image = image.bandjoin(255)
        colour.append(0)
    elif image.hasalpha():
        colour.append(255)
    return image.gravity("centre", width, height, extend="background", background=colour)
