"""Step ``check_limits``: bytes, frames and pixels against the limits, before any decode."""

from __future__ import annotations

from thumbsmith.core.job import Job
from thumbsmith.errors import ImageTooLarge


def step_check_limits(job: Job) -> None:
    header = job.require_header()
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
