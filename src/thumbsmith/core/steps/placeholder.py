"""Step ``placeholder``: ThumbHash, colour and data URI from the smallest output's pixels."""

from __future__ import annotations

from thumbsmith.core.job import Job
from thumbsmith.core.placeholder import placeholder


def step_placeholder(job: Job) -> None:
    job.require_targets()
    if not job.options.placeholders:
        return
    # The smallest output is already decoded, upright and in sRGB: reading it costs
    # nothing more, and its pixels are what a page shows first anyway.
    smallest = min(job.outputs.values(), key=lambda image: image.width * image.height)
    job.placeholder = placeholder(smallest)
