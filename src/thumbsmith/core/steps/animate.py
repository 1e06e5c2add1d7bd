"""Step ``animate``: the frames of an animated source for each ``animated`` rendition.

The source's frames were decoded once, by ``load``, into one in-memory strip; each
animated rendition resizes, crops (the still output's window) and pads every frame like
its still output, and keeps the source's frame timing and loop count for the WebP
encoder. Every other output keeps the first frame only.
"""

from __future__ import annotations

import pyvips

from thumbsmith.core.job import Job, PlannedOutput
from thumbsmith.core.ops import materialise, resize_exact
from thumbsmith.core.steps.flatten import with_alpha
from thumbsmith.core.steps.pad import pad
from thumbsmith.core.steps.to_srgb import to_srgb


def step_animate(job: Job) -> None:
    targets = job.require_targets()
    if job.frames is None:
        return
    strip = to_srgb(job.frames)
    if strip.hasalpha():
        strip = with_alpha(strip)
    for target in targets:
        if target.spec.animated and "webp" in target.spec.formats:
            job.animated[target.index] = materialise(_frames(job, strip, target), job)


def _frames(job: Job, strip: pyvips.Image, target: PlannedOutput) -> pyvips.Image:
    page_height = job.outputs[target.index].height
    source_height = strip.get("page-height") if strip.get_typeof("page-height") else strip.height
    count = strip.height // source_height
    window = job.windows.get(target.index)
    frames = []
    for i in range(count):
        frame = strip.extract_area(0, i * source_height, strip.width, source_height)
        frame = resize_exact(frame, *target.resize)
        if window is not None:
            frame = frame.extract_area(*window)
        if window is not None and (frame.width, frame.height) != (target.width, target.height):
            frame = resize_exact(frame, target.width, target.height)
        if (frame.width, frame.height) != (target.width, target.height):
            frame = pad(
                frame, target.width, target.height, job.options.background, transparent=True
            )
        frames.append(frame)
    out = pyvips.Image.arrayjoin(frames, across=1).copy()
    out.set_type(pyvips.GValue.gint_type, "page-height", page_height)
    for name in ("delay", "loop"):
        if strip.get_typeof(name):
            out.set_type(strip.get_typeof(name), name, strip.get(name))
    return out
