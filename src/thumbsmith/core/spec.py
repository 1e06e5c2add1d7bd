"""Rendition specs: what each output is called and the box it must fit.

``"large=1280,medium=640,thumb=160x160"``: a name, then ``W`` (a square box) or ``WxH``.
Every rendition fits inside its box, keeps the aspect ratio and is never upscaled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from thumbsmith.errors import ConfigError

DEFAULT_RENDITIONS = "large=1280,medium=640,thumb=160"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BOX = re.compile(r"^(\d{1,5})(?:x(\d{1,5}))?$")
MAX_BOX = 16384


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """One output. ``width``/``height`` are the box the image must fit inside.

    Every field shapes the output's bytes, so every field is part of its fingerprint
    (:meth:`thumbsmith.core.options.RenderOptions.fingerprint`).
    """

    name: str
    width: int
    height: int

    def fit(self, src_width: int, src_height: int) -> tuple[int, int]:
        """Output size for a source of the given size: fit inside, keep aspect, never upscale.

        Each side stays at least 1 px, so a 940x2 strip does not collapse to zero height.
        """
        scale = min(self.width / src_width, self.height / src_height, 1.0)
        return max(1, round(src_width * scale)), max(1, round(src_height * scale))


def parse_renditions(text: str, *, setting: str = "renditions") -> tuple[RenditionSpec, ...]:
    """Parse ``"name=W[xH],..."``; errors name the setting and the bad part."""
    specs: list[RenditionSpec] = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        name, sep, box = part.partition("=")
        name, box = name.strip(), box.strip()
        if not sep or not _NAME.match(name):
            raise ConfigError(
                f"setting {setting!r}: {part!r} is not 'name=WIDTH' or 'name=WIDTHxHEIGHT' "
                "(names use letters, digits, '-' and '_')"
            )
        match = _BOX.match(box)
        if not match:
            raise ConfigError(f"setting {setting!r}: box {box!r} of {name!r} is not W or WxH")
        width = int(match.group(1))
        height = int(match.group(2) or width)
        if not (1 <= width <= MAX_BOX and 1 <= height <= MAX_BOX):
            raise ConfigError(
                f"setting {setting!r}: box of {name!r} must be 1..{MAX_BOX} px, got {box}"
            )
        specs.append(RenditionSpec(name, width, height))
    if not specs:
        raise ConfigError(f"setting {setting!r}: at least one rendition is needed")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"setting {setting!r}: rendition names must be unique, got {names}")
    return tuple(specs)
