"""The pipeline, declared as data: named steps run in order over one :class:`Job`.

Like imgproxy's ``processing.go``: each step is a small function that reads and
updates the job, so the order is visible in one place (:data:`STEPS`) and each step
can be tested alone. Orientation comes late on purpose: rotating a sequentially
decoded image would force libvips to hold the whole decode in memory, while rotating
the largest rendition, already in memory, is nearly free.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyvips

from thumbsmith.errors import DecoderTimeout, ImageTooLarge
from thumbsmith.imaging import decode
from thumbsmith.imaging.encode import encode_jpeg
from thumbsmith.imaging.eps import render_eps
from thumbsmith.imaging.model import RenderOptions, Rendition
from thumbsmith.imaging.sniff import Header, sniff
from thumbsmith.specs import RenditionSpec

#: How much larger than the largest rendition the decode must stay. A JPEG DCT
#: shrink is a decent box filter, and at 1x the final Lanczos3 still has real pixels
#: to work from: SSIM at 640 px matched a 2x margin within 0.001 on the bench photos
#: while decoding 2-4x fewer pixels (see tests/imaging/bench_w3.py).
SHRINK_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    """One rendition to make: its spec, where it goes in the output, its upright size."""

    index: int
    spec: RenditionSpec
    width: int
    height: int


@dataclass
class Job:
    data: bytes
    specs: Sequence[RenditionSpec]
    options: RenderOptions
    name: str = "<bytes>"
    deadline: float = math.inf
    header: Header | None = None
    opened: decode.Opened | None = None
    orientation: int = 1
    source_size: tuple[int, int] = (0, 0)  # upright, at full scale
    targets: list[Target] = field(default_factory=list)  # largest first
    image: Any = None  # the current pyvips.Image
    outputs: dict[int, Any] = field(default_factory=dict)  # target index -> pyvips.Image
    renditions: list[Rendition] = field(default_factory=list)

    @property
    def swapped(self) -> bool:
        """EXIF orientations 5-8 turn the stored image a quarter turn."""
        return self.orientation >= 5


Step = Callable[[Job], None]


def step_sniff(job: Job) -> None:
    job.header = sniff(job.data)


def step_check_limits(job: Job) -> None:
    header = _header(job)
    opts = job.options
    if len(job.data) > opts.max_bytes:
        raise ImageTooLarge(f"{len(job.data)} bytes is over the limit of {opts.max_bytes}")
    if header.frames > opts.max_frames:
        raise ImageTooLarge(
            f"{header.format} declares {header.frames} frames, over the limit of {opts.max_frames}"
        )
    if header.format != "eps" and header.pixels > opts.max_pixels:
        frames = f" x {header.frames} frames" if header.frames > 1 else ""
        raise ImageTooLarge(
            f"{header.width}x{header.height}{frames} = {header.pixels:,} pixels is over "
            f"the limit of {opts.max_pixels:,}"
        )


def step_load(job: Job) -> None:
    header = _header(job)
    fmt = header.format
    if fmt == "eps":
        # Vector art is rasterised straight at the size the largest box wants.
        scale = max(min(s.width / header.width, s.height / header.height) for s in job.specs)
        long_side = max(1, round(max(header.width, header.height) * scale))
        png = render_eps(job.data, job.options, long_side)
        opened = decode.Opened(decode.open_vips("png", png), 1)
        full_size = (opened.image.width, opened.image.height)
    elif fmt in decode.SCALABLE:
        # Shrink-on-load, decided from the header alone so the file is opened once.
        factor = load_factor(header.width, header.height, job.specs)
        opened = decode.open_scaled(fmt, job.data, factor)
        full_size = (header.width, header.height)
    else:
        opened = decode.open_source(fmt, job.data)
        full_size = (opened.image.width, opened.image.height)
    _check_deadline(job, "opening")
    job.opened = opened
    job.image = opened.image
    job.orientation = opened.orientation
    w, h = full_size
    job.source_size = (h, w) if job.swapped else (w, h)


def load_factor(width: int, height: int, specs: Sequence[RenditionSpec]) -> float:
    """How much smaller than ``width`` x ``height`` the decode may be (>= 1).

    The EXIF orientation is not known before the file is opened, so the scale covers
    both ways round; with square boxes (the usual case) that costs nothing.
    """
    scale = max(
        max(min(s.width / width, s.height / height), min(s.width / height, s.height / width))
        for s in specs
    )
    return max(1.0, 1.0 / (SHRINK_MARGIN * min(scale, 1.0)))


def step_plan(job: Job) -> None:
    sw, sh = job.source_size
    targets = [Target(i, spec, *spec.fit(sw, sh)) for i, spec in enumerate(job.specs)]
    # By output area, not box area: a 2000x200 box can give a smaller image than a
    # 500x500 one, and the cascade must never enlarge.
    job.targets = sorted(targets, key=lambda t: t.width * t.height, reverse=True)


def step_to_srgb(job: Job) -> None:
    job.image = decode.to_srgb(job.image)


def step_flatten(job: Job) -> None:
    job.image = decode.flatten(job.image, job.options.background)


def step_resize_largest(job: Job) -> None:
    first = job.targets[0]
    resized = resize_exact(job.image, *_stored_size(job, first))
    # The one pass over the decoder: everything smaller comes from this copy.
    job.image = materialise(resized, job)
    job.outputs[first.index] = job.image


def step_orient(job: Job) -> None:
    job.image = decode.orient(job.image, job.orientation)
    job.outputs[job.targets[0].index] = job.image


def step_cascade(job: Job) -> None:
    previous = job.image
    for target in job.targets[1:]:
        image = resize_exact(previous, target.width, target.height)
        if image is not previous:
            image = materialise(image, job)
        job.outputs[target.index] = image
        previous = image


def step_encode(job: Job) -> None:
    renditions = []
    for index, spec in enumerate(job.specs):
        image = job.outputs[index]
        data = encode_jpeg(image, job.options)
        renditions.append(Rendition(spec.name, data, image.width, image.height))
    job.renditions = renditions


STEPS: list[tuple[str, Step]] = [
    ("sniff", step_sniff),
    ("check_limits", step_check_limits),
    ("load", step_load),
    ("plan", step_plan),
    ("to_srgb", step_to_srgb),
    ("flatten", step_flatten),
    ("resize_largest", step_resize_largest),
    ("orient", step_orient),
    ("cascade", step_cascade),
    ("encode", step_encode),
]


def run(job: Job, steps: Sequence[tuple[str, Step]] = STEPS) -> Job:
    for _name, step in steps:
        step(job)
    return job


# --- helpers ----------------------------------------------------------------------------


def resize_exact(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Lanczos3 to exactly ``width`` x ``height`` (never called to enlarge)."""
    if (image.width, image.height) == (width, height):
        return image
    hscale = width / image.width
    vscale = height / image.height
    out = image.resize(hscale, vscale=vscale, kernel="lanczos3")
    if (out.width, out.height) != (width, height):
        # Rounding inside libvips can land one pixel off on extreme aspect ratios.
        out = out.gravity("centre", width, height, extend="copy")
    return out


def materialise(image: pyvips.Image, job: Job) -> pyvips.Image:
    """Compute ``image`` into memory, killed if the job's deadline passes meanwhile."""
    _check_deadline(job, "decoding")
    if math.isfinite(job.deadline):
        deadline = job.deadline

        def on_eval(img: pyvips.Image, _progress: object) -> None:
            if time.monotonic() > deadline:
                img.set_kill(True)

        image.set_progress(True)
        image.signal_connect("eval", on_eval)
    try:
        return image.copy_memory()
    except pyvips.Error:
        _check_deadline(job, "decoding")
        raise


def _check_deadline(job: Job, doing: str) -> None:
    if time.monotonic() > job.deadline:
        raise DecoderTimeout(f"{doing} took longer than the {job.options.decode_timeout:g} s limit")


def _stored_size(job: Job, target: Target) -> tuple[int, int]:
    """A target's size in the stored (not yet rotated) orientation."""
    return (target.height, target.width) if job.swapped else (target.width, target.height)


def _header(job: Job) -> Header:
    assert job.header is not None, "sniff runs first"
    return job.header
