"""Pixel operations that several steps share: exact resizing, and computing under a deadline."""

from __future__ import annotations

import math
import time

import pyvips

from thumbsmith.core.job import Job
from thumbsmith.errors import DecoderTimeout


def resize_exact(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Lanczos3 to exactly ``width`` x ``height`` (never called to enlarge)."""
    if (image.width, image.height) == (width, height):
        return image
    hscale = width / image.width
    vscale = height / image.height
    if image.hasalpha():
        # Premultiplied, so transparent pixels' colour cannot bleed into the edges.
        out = image.premultiply().resize(hscale, vscale=vscale, kernel="lanczos3")
        out = out.unpremultiply().cast("uchar")
    else:
        out = image.resize(hscale, vscale=vscale, kernel="lanczos3")
    if (out.width, out.height) != (width, height):
        # Rounding inside libvips can land one pixel off on extreme aspect ratios.
        out = out.gravity("centre", width, height, extend="copy")
    return out


def materialise(image: pyvips.Image, job: Job) -> pyvips.Image:
    """Compute ``image`` into memory, killed if the job's deadline passes meanwhile."""
    check_deadline(job, "decoding")
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
        check_deadline(job, "decoding")
        raise


def check_deadline(job: Job, doing: str) -> None:
    if time.monotonic() > job.deadline:
        raise DecoderTimeout(f"{doing} took longer than the {job.options.decode_timeout:g} s limit")
