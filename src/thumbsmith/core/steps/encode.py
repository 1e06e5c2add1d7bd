"""Step ``encode``: each output's pixels to bytes, every format of a rendition from the
same pixels, in the order of the specs and their formats (or the one ``only`` names)."""

from __future__ import annotations

from thumbsmith.core.encoders import ENCODERS
from thumbsmith.core.job import Job
from thumbsmith.core.result import Rendition


def step_encode(job: Job) -> None:
    job.require_targets()
    renditions = []
    for index, spec in enumerate(job.specs):
        image = job.outputs[index]
        for fmt in spec.formats:
            if job.only is not None and job.only != (spec.name, fmt):
                continue
            pixels = image
            if fmt == "webp" and index in job.animated:
                pixels = job.animated[index]
            quality = job.options.quality_for(spec, fmt)  # "match" resolved for the box
            data = ENCODERS[fmt](pixels, job.options, quality)
            renditions.append(Rendition(spec.name, data, image.width, image.height, fmt))
    job.renditions = renditions
