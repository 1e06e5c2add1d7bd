"""How the core renders, besides the specs: encoder knobs (which shape the bytes) and
limits (which only bound the work). Plain values, no I/O, no settings."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from thumbsmith.core.spec import RenditionSpec

#: Field metadata: ``bounds`` marks a field that limits the work but never changes the
#: bytes of an output that succeeds, so it is left out of the fingerprint.
BOUNDS = {"bounds": True}
#: The layout of the fingerprinted payload (not a pipeline version: the payload is
#: derived from the fields, so a changed field changes the hash by itself).
FINGERPRINT_VERSION = 1


def neutral(value: Any) -> dict[str, Any]:
    """Metadata for a shaping field added later, whose ``value`` reproduces old output.

    At that value the field is left out of the fingerprint, so adding it does not
    re-render renditions that are already right.
    """
    return {"neutral": value}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Everything besides the specs that changes the pixels or bounds the work."""

    quality: int = 85
    progressive: bool = True
    optimize: bool = True
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

    def fingerprint(self, spec: RenditionSpec) -> str:
        """Short hash of what shapes one rendition's bytes, recorded beside it.

        A rendition is up to date only if both the source ETag and this match, so changing
        the quality or a box re-renders on the next run instead of keeping stale output.
        Derived from the dataclass fields: every field of the spec and every option not
        marked ``bounds`` takes part, so a new knob cannot be forgotten.
        """
        shaping: dict[str, object] = {"spec": _values(spec), "v": FINGERPRINT_VERSION}
        for f in dataclasses.fields(self):
            if f.metadata.get("bounds"):
                continue
            value = getattr(self, f.name)
            if "neutral" in f.metadata and value == f.metadata["neutral"]:
                continue
            shaping[f.metadata.get("fingerprint_name", f.name)] = value
        return hashlib.sha256(repr(sorted(shaping.items())).encode()).hexdigest()[:16]


def _values(obj: Any) -> tuple[object, ...]:
    """A dataclass's field values in order, leaving out fields at their neutral value."""
    return tuple(
        getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if not ("neutral" in f.metadata and getattr(obj, f.name) == f.metadata["neutral"])
    )
