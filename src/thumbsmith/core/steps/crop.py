"""Step ``crop``: ``cover`` outputs cut from their resized image; the rest pass through.

The window is found on small pixels: the resized image, never the decode. ``entropy``
and ``attention`` (libvips' smartcrop) look at a copy of at most
:data:`ANALYSIS_SIZE` px and the window is scaled back (on the bench photos the window
moved by 2 px of 1280 against a full-size analysis, at a fraction of the cost). A focal
point (:class:`thumbsmith.core.job.Hints`) overrides the position: the window is
centred on it, as far as the image allows.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.job import Job
from thumbsmith.core.ops import materialise, resize_exact
from thumbsmith.core.steps.flatten import flatten

ANALYSIS_SIZE = 256


def step_crop(job: Job) -> None:
    for target in job.require_targets():
        image = job.resized[target.index]
        size = (target.width, target.height)
        if target.spec.fit == "cover" and (image.width, image.height) != size:
            w, h = window_size(image, *size)
            left, top = window(image, w, h, target.spec.position, job.hints.focus)
            job.windows[target.index] = (left, top, w, h)
            image = image.extract_area(left, top, w, h)
            if (w, h) != size:  # upscale: only the window is enlarged
                image = materialise(resize_exact(image, *size), job)
        job.outputs[target.index] = image


def window_size(image: pyvips.Image, width: int, height: int) -> tuple[int, int]:
    """The window to cut: the output's size, or its aspect where the image is smaller."""
    if image.width >= width and image.height >= height:
        return width, height
    scale = max(width / image.width, height / image.height)
    return (
        max(1, min(image.width, round(width / scale))),
        max(1, min(image.height, round(height / scale))),
    )


def window(
    image: pyvips.Image,
    width: int,
    height: int,
    position: str,
    focus: tuple[float, float] | None = None,
) -> tuple[int, int]:
    """Top-left corner of the ``width`` x ``height`` window to keep of ``image``."""
    free_x, free_y = image.width - width, image.height - height
    if focus is not None:
        left = round(focus[0] * image.width - width / 2)
        top = round(focus[1] * image.height - height / 2)
    elif position in ("entropy", "attention"):
        left, top = _smart(image, width, height, position)
    else:
        left, top = free_x // 2, free_y // 2
    return max(0, min(free_x, left)), max(0, min(free_y, top))


def _smart(image: pyvips.Image, width: int, height: int, interesting: str) -> tuple[int, int]:
    scale = min(1.0, ANALYSIS_SIZE / max(image.width, image.height))
    small = image
    if scale < 1.0:
        small = resize_exact(
            image, max(1, round(image.width * scale)), max(1, round(image.height * scale))
        )
    # smartcrop reads its input several times: it needs random access, in memory.
    small = flatten(small, (255, 255, 255)).copy_memory()
    cw = max(1, min(small.width, round(width * scale)))
    ch = max(1, min(small.height, round(height * scale)))
    cropped = small.smartcrop(cw, ch, interesting=interesting)
    # libvips records the window's origin as the output's (negative) offset.
    return round(-cropped.xoffset / scale), round(-cropped.yoffset / scale)
