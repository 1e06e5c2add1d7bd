"""Step ``resize_largest``: the one pass over the decoder, at the largest resize's size."""

from __future__ import annotations

from thumbsmith.core.job import Job, PlannedOutput
from thumbsmith.core.ops import materialise, resize_exact


def step_resize_largest(job: Job) -> None:
    largest = job.require_targets()[0]
    resized = resize_exact(job.require_image(), *stored_size(job, largest))
    # Everything smaller comes from this in-memory copy.
    job.image = materialise(resized, job)
    job.resized[largest.index] = job.image


def stored_size(job: Job, target: PlannedOutput) -> tuple[int, int]:
    """A target's resize size in the stored (not yet rotated) orientation."""
    w, h = target.resize
    return (h, w) if job.swapped else (w, h)
