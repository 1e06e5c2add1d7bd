"""Step ``encode``: each output's pixels to bytes, in the order of the specs."""

from __future__ import annotations

from thumbsmith.core.encoders.jpeg import encode_jpeg
from thumbsmith.core.job import Job
from thumbsmith.core.result import Rendition


def step_encode(job: Job) -> None:
    job.require_targets()
    renditions = []
    for index, spec in enumerate(job.specs):
        image = job.outputs[index]
        data = encode_jpeg(image, job.options)
        renditions.append(Rendition(spec.name, data, image.width, image.height, "jpeg"))
    job.renditions = renditions
