"""Every format fact, once (as imgproxy's ``imagetype/defs.go``).

:data:`OUTPUTS` holds what thumbsmith writes: name, extension, MIME type, whether it keeps
alpha, is lossy, can hold an animation, whether every browser shows it, its encoder
module (``thumbsmith.core.encoders.<name>``, whose ``encode`` makes the bytes) and the
:class:`~thumbsmith.core.options.RenderOptions` fields that are its knobs. :data:`INPUTS`
holds what thumbsmith reads: name, MIME type, the decoder, the libvips loader, whether it
can shrink while decoding or carry frames, and whether a browser shows it as it is.

Everything else reads these tables: spec parsing, content types and extensions, the
fingerprint's knobs, the manifest's single-URL order, the serve page, the sniffer's
allowlist, the libvips loader allowlist. A new output format is one entry here, one
``encoders/<name>.py`` and its knobs in ``RenderOptions`` and ``settings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class OutputFormat:
    name: str
    extension: str
    mime: str
    alpha: bool  # keeps an alpha band (else transparent pixels are flattened)
    lossy: bool  # takes a quality (``webp@70``)
    animation: bool  # can hold an animated rendition
    #: 0 is shown everywhere; higher ranks are newer, smaller, and not shown by every
    #: client. A single-URL consumer (``next``'s ``src``) gets the lowest rank there is.
    support_rank: int
    knobs: tuple[str, ...]  # RenderOptions fields that shape only this format's bytes
    quality_knob: str | None = None  # the one of ``knobs`` that is its quality
    aliases: tuple[str, ...] = ()

    @property
    def encoder_module(self) -> str:
        return f"thumbsmith.core.encoders.{self.name}"


OUTPUTS: tuple[OutputFormat, ...] = (
    OutputFormat(
        "jpeg", "jpg", "image/jpeg", alpha=False, lossy=True, animation=False,
        support_rank=0, knobs=("quality", "progressive", "optimize"), quality_knob="quality",
        aliases=("jpg",),
    ),
    OutputFormat(
        "webp", "webp", "image/webp", alpha=True, lossy=True, animation=True,
        support_rank=2, knobs=("webp_quality", "webp_effort"), quality_knob="webp_quality",
    ),
    OutputFormat(
        "avif", "avif", "image/avif", alpha=True, lossy=True, animation=False,
        support_rank=3, knobs=("avif_quality", "avif_effort"), quality_knob="avif_quality",
    ),
    OutputFormat(
        "png", "png", "image/png", alpha=True, lossy=False, animation=False,
        support_rank=1, knobs=(),
    ),
)  # fmt: skip

#: Output formats by name, in the order specs list them by default.
OUTPUT = {f.name: f for f in OUTPUTS}
#: Names a spec may use: every name and alias.
OUTPUT_NAMES = {alias: f.name for f in OUTPUTS for alias in (f.name, *f.aliases)}
#: Every encoder knob, with the format whose bytes it shapes.
KNOBS = {knob: f.name for f in OUTPUTS for knob in f.knobs}
#: Every output's extension, and back (the serve page reads formats from file names).
EXTENSIONS = {f.name: f.extension for f in OUTPUTS}
FORMAT_OF_EXTENSION = {f.extension: f.name for f in OUTPUTS}


def output(name: str) -> OutputFormat:
    """The output format of a name or alias; :class:`KeyError` for anything else."""
    return OUTPUT[OUTPUT_NAMES[name]]


def keeps_alpha(formats: Iterable[str]) -> bool:
    """Whether any of ``formats`` keeps an alpha band."""
    return any(OUTPUT[f].alpha for f in formats)


def single_url_order(has_alpha: bool) -> tuple[str, ...]:
    """The formats a single-URL consumer prefers, best first: the most widely shown;
    for a source with alpha, those that keep it first."""
    ranked = sorted(OUTPUTS, key=lambda f: f.support_rank)
    if has_alpha:
        ranked = [f for f in ranked if f.alpha] + [f for f in ranked if not f.alpha]
    return tuple(f.name for f in ranked)


Decoder = Literal["vips", "pillow", "ghostscript"]


@dataclass(frozen=True, slots=True)
class InputFormat:
    name: str
    mime: str
    decoder: Decoder
    vips_loader: str | None = None  # the one libvips loader it may reach, by nickname
    scalable: bool = False  # the decoder shrinks while decoding (shrink-on-load)
    frames: bool = False  # may hold frames an animated rendition keeps
    browser: bool = False  # a browser shows the source itself (the serve page)


INPUTS: tuple[InputFormat, ...] = (
    InputFormat("jpeg", "image/jpeg", "vips", "jpegload_buffer", scalable=True, browser=True),
    InputFormat("png", "image/png", "vips", "pngload_buffer", browser=True),
    InputFormat("gif", "image/gif", "vips", "gifload_buffer", frames=True, browser=True),
    InputFormat(
        "webp", "image/webp", "vips", "webpload_buffer", scalable=True, frames=True, browser=True
    ),
    InputFormat("tiff", "image/tiff", "vips", "tiffload_buffer"),
    InputFormat("bmp", "image/bmp", "pillow", browser=True),
    InputFormat("heic", "image/heic", "pillow"),
    InputFormat("avif", "image/avif", "vips", "heifload_buffer", browser=True),
    InputFormat("eps", "application/postscript", "ghostscript"),
)

INPUT = {f.name: f for f in INPUTS}
#: Formats the core accepts, by the name the sniffer reports.
ALLOWED_FORMATS = tuple(f.name for f in INPUTS)
#: The only libvips loaders thumbsmith calls, by the format the sniffer reports. Each is
#: called by name: libvips' own format detection never runs, so a file cannot reach a
#: loader its magic bytes did not select.
VIPS_LOADERS = {f.name: f.vips_loader for f in INPUTS if f.vips_loader}
