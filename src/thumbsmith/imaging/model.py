"""The core's inputs and outputs: plain values, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from thumbsmith.settings import Settings
from thumbsmith.specs import RenditionSpec


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Everything besides the specs that changes the pixels or bounds the work."""

    quality: int = 85
    progressive: bool = True
    optimize: bool = True
    background: tuple[int, int, int] = (255, 255, 255)
    strip_metadata: bool = True
    max_pixels: int = 100_000_000
    max_bytes: int = 52_428_800
    max_frames: int = 1000
    decode_timeout: float = 60.0
    eps_enabled: bool = True
    ghostscript: str = "gs"
    eps_timeout: float = 20.0
    eps_memory_mb: int = 1024

    @classmethod
    def from_settings(cls, s: Settings) -> RenderOptions:
        return cls(
            quality=s.quality,
            progressive=s.progressive,
            optimize=s.optimize,
            background=s.background_rgb,
            strip_metadata=s.strip_metadata,
            max_pixels=s.max_pixels,
            max_bytes=s.max_bytes,
            max_frames=s.max_frames,
            decode_timeout=s.decode_timeout,
            eps_enabled=s.eps_enabled,
            ghostscript=s.ghostscript,
            eps_timeout=s.eps_timeout,
            eps_memory_mb=s.eps_memory_mb,
        )

    def fingerprint(self, spec: RenditionSpec) -> str:
        """Short hash of what shapes one rendition's bytes, recorded beside it.

        A rendition is up to date only if both the source ETag and this match, so changing
        the quality or a box re-renders on the next run instead of keeping stale output.
        """
        shaping = {
            "spec": (spec.name, spec.width, spec.height),
            "quality": self.quality,
            "progressive": self.progressive,
            "optimize": self.optimize,
            "background": self.background,
            "strip": self.strip_metadata,
            "v": 1,
        }
        return hashlib.sha256(repr(sorted(shaping.items())).encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded output."""

    name: str
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"
    extension: str = "jpg"
