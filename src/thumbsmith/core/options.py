"""How the core renders, besides the specs: encoder knobs (which shape the bytes) and
limits (which only bound the work). Plain values, no I/O, no settings."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

from thumbsmith.core.formats import KNOBS, OUTPUT
from thumbsmith.core.quality import MATCH, Quality, resolve
from thumbsmith.core.spec import BOUNDS, RenditionSpec, neutral

__all__ = ["BOUNDS", "FINGERPRINT_VERSION", "RenderOptions", "neutral"]
#: The layout of the fingerprinted payload (not a pipeline version: the payload is
#: derived from the fields, so a changed field changes the hash by itself).
FINGERPRINT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Everything besides the specs that changes the pixels or bounds the work."""

    quality: int = 85
    progressive: bool = True
    optimize: bool = True
    # "match": as good as the JPEG q85 beside them, per size class (core/quality.py).
    # Efforts from the bytes/SSIM/time curve in bench/README.md (W4).
    webp_quality: Quality = MATCH
    webp_effort: int = 2
    avif_quality: Quality = MATCH
    avif_effort: int = 3
    background: tuple[int, int, int] = (255, 255, 255)
    strip_metadata: bool = field(default=True, metadata={"fingerprint_name": "strip"})
    max_pixels: int = field(default=100_000_000, metadata=BOUNDS)
    max_bytes: int = field(default=52_428_800, metadata=BOUNDS)
    max_frames: int = field(default=1000, metadata=BOUNDS)
    decode_timeout: float = field(default=60.0, metadata=BOUNDS)
    eps_enabled: bool = field(default=True, metadata=BOUNDS)
    ghostscript: str = field(default="gs", metadata=BOUNDS)
    eps_timeout: float = field(default=20.0, metadata=BOUNDS)
    eps_memory_mb: int = field(default=1024, metadata=BOUNDS)
    # The placeholder goes into the manifest, never into a rendition's bytes.
    placeholders: bool = field(default=True, metadata=BOUNDS)

    def fingerprint(
        self, spec: RenditionSpec, fmt: str = "jpeg", *, focus: tuple[float, float] | None = None
    ) -> str:
        """Short hash of what shapes one rendition's bytes in ``fmt``, recorded beside it.

        A rendition is up to date only if both the source ETag and this match, so changing
        the quality or a box re-renders on the next run instead of keeping stale output.
        Derived from the dataclass fields: every field of the spec and every option not
        marked ``bounds`` takes part, so a new knob cannot be forgotten. Per format: the
        spec's format list is left out and a knob of another format is too, so adding a
        format or changing WebP's quality never re-renders the JPEGs. A quality is the
        number the option gives the rendition (``"match"`` resolved for its box, see
        :mod:`thumbsmith.core.quality`); a rendition's own quality (``avif@45``) is in its
        spec, beside it, as it always was.

        ``focus``, the source's focal point, steers only ``cover`` crops: it enters their
        fingerprint, so a new focal point re-renders them (and leaves the rest alone).
        """
        shaping: dict[str, object] = {"spec": spec.for_format(fmt), "v": FINGERPRINT_VERSION}
        if fmt != "jpeg":
            shaping["format"] = fmt
        if focus is not None and spec.fit == "cover":
            shaping["focus"] = focus
        for f in dataclasses.fields(self):
            if f.metadata.get("bounds") or KNOBS.get(f.name, fmt) != fmt:
                continue
            value = getattr(self, f.name)
            if f.name == OUTPUT[fmt].quality_knob:
                value = resolve(fmt, value, spec.width, spec.height)
            if "neutral" in f.metadata and value == f.metadata["neutral"]:
                continue
            shaping[f.metadata.get("fingerprint_name", f.name)] = value
        return hashlib.sha256(repr(sorted(shaping.items())).encode()).hexdigest()[:16]

    def quality_for(self, spec: RenditionSpec, fmt: str) -> int | None:
        """The quality ``spec``'s ``fmt`` output is encoded at: the spec's own, else this
        option's number, else the matched one for the spec's box; None for PNG."""
        own = spec.quality_for(fmt)
        if own is not None:
            return own
        setting = self.setting_for(fmt)
        return None if setting is None else resolve(fmt, setting, spec.width, spec.height)

    def setting_for(self, fmt: str) -> Quality | None:
        """This option's quality setting for ``fmt`` (None: the format has none)."""
        knob = OUTPUT[fmt].quality_knob
        if knob is None:
            return None
        value: Quality = getattr(self, knob)
        return value
