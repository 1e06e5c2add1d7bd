"""Step ``cascade``: every smaller resize from the smallest one made that is twice its size.

Lanczos3 from an image at least twice as large keeps the result as sharp as a resize
from the decode (SSIM 0.9996 at 160 px from the 1280 px image, against 0.9975 when
halving step by step); below 2x the largest (made from the decode) is used instead.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.job import Job
from thumbsmith.core.ops import materialise, resize_exact


def step_cascade(job: Job) -> None:
    targets = job.require_targets()
    largest = job.require_image()
    made: list[pyvips.Image] = [largest]
    for target in targets[1:]:
        w, h = target.resize
        parent = min(
            (m for m in made if m.width >= 2 * w and m.height >= 2 * h),
            key=lambda m: m.width * m.height,
            default=largest,
        )
        image = resize_exact(parent, w, h)
        if image is not parent:
            image = materialise(image, job)
            made.append(image)
        job.resized[target.index] = image
