"""Step ``load``: open the source lazily, shrinking on load where the format can.

The scale is decided from the header alone, so the file is opened exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from thumbsmith.core.decoders import vips
from thumbsmith.core.decoders.ghostscript import render_eps
from thumbsmith.core.formats import INPUT
from thumbsmith.core.job import Job
from thumbsmith.core.ops import check_deadline, materialise
from thumbsmith.core.spec import RenditionSpec, plan_size

#: How much larger than the largest rendition the decode must stay. A JPEG DCT
#: shrink is a decent box filter, and at 1x the final Lanczos3 still has real pixels
#: to work from: SSIM at 640 px matched a 2x margin within 0.001 on the bench photos
#: while decoding 2-4x fewer pixels (see bench/steps.py).
SHRINK_MARGIN = 1.0


def step_load(job: Job) -> None:
    header = job.require_header()
    fmt = header.format
    if fmt == "eps":
        # Vector art is rasterised straight at the size the most demanding box wants,
        # past its nominal size if need be: vectors scale up freely.
        scale = max(
            _scale_needed(replace(s, upscale=True), header.width, header.height) for s in job.specs
        )
        long_side = max(1, round(max(header.width, header.height) * scale))
        png = render_eps(job.data, job.options, long_side)
        opened = vips.Opened(vips.open_vips("png", png), 1)
        full_size = (opened.image.width, opened.image.height)
    elif wants_frames(job):
        opened = _open_frames(job)
        full_size = (opened.image.width, opened.image.height)
    elif INPUT[fmt].scalable:
        factor = load_factor(header.width, header.height, job.specs)
        opened = vips.open_scaled(fmt, job.data, factor)
        full_size = (header.width, header.height)
    else:
        opened = vips.open_source(fmt, job.data, (header.width, header.height))
        full_size = (opened.image.width, opened.image.height)
    check_deadline(job, "opening")
    job.image = opened.image
    job.orientation = opened.orientation
    job.has_alpha = bool(opened.image.hasalpha())
    w, h = full_size
    job.source_size = (h, w) if job.swapped else (w, h)


def load_factor(width: int, height: int, specs: Sequence[RenditionSpec]) -> float:
    """How much smaller than ``width`` x ``height`` the decode may be (>= 1).

    The most demanding output decides: the scale its whole-image resize needs (a
    ``cover`` crop needs the short side, ``fill`` the larger of its two scales). The
    EXIF orientation is not known before the file is opened, so the scale covers both
    ways round; with square boxes (the usual case) that costs nothing.
    """
    scale = max(
        _scale_needed(spec, w, h) for spec in specs for w, h in ((width, height), (height, width))
    )
    return max(1.0, 1.0 / (SHRINK_MARGIN * min(scale, 1.0)))


def _scale_needed(spec: RenditionSpec, width: int, height: int) -> float:
    rw, rh, _, _ = plan_size(spec, width, height)
    return max(rw / width, rh / height)


def wants_frames(job: Job) -> bool:
    """Whether an animated rendition asks for every frame of an animated source."""
    header = job.require_header()
    return (
        header.frames > 1
        and INPUT[header.format].frames
        and any(spec.animated for spec in job.specs)
    )


def _open_frames(job: Job) -> vips.Opened:
    """Every frame, decoded once into memory as one tall strip (``page-height`` tall
    frames); the still renditions use the first frame of it, the animated ones all.
    The summed pixels were checked against the limits from the header already."""
    header = job.require_header()
    strip = vips.open_vips(header.format, job.data, n=-1)
    page_height = strip.get("page-height") if strip.get_typeof("page-height") else strip.height
    job.frames = materialise(strip, job)
    first = job.frames.extract_area(0, 0, job.frames.width, page_height)
    return vips.Opened(first, 1)
