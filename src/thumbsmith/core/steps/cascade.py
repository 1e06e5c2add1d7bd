"""Step ``cascade``: every smaller output from the one just above it."""

from __future__ import annotations

from thumbsmith.core.job import Job
from thumbsmith.core.ops import materialise, resize_exact


def step_cascade(job: Job) -> None:
    targets = job.require_targets()
    previous = job.require_image()
    for target in targets[1:]:
        image = resize_exact(previous, target.width, target.height)
        if image is not previous:
            image = materialise(image, job)
        job.outputs[target.index] = image
        previous = image
