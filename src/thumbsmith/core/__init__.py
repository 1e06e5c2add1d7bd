"""The pure imaging core: bytes and specs in, a :class:`RenderResult` out.

No settings, no storage, no network: the only thing it runs besides libvips and Pillow
is Ghostscript's sandboxed subprocess for EPS. :func:`configure` sets libvips up for the
process; :func:`sniff` reads format, size and frame count from the header alone.

Names are loaded on first use, so importing a light module of the core (the spec
parser, say, for the settings) does not load libvips.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thumbsmith.core.decoders.sniff import Header, sniff, sniff_format
    from thumbsmith.core.formats import ALLOWED_FORMATS
    from thumbsmith.core.hints import Hints, parse_focus
    from thumbsmith.core.options import RenderOptions
    from thumbsmith.core.placeholder import Placeholder
    from thumbsmith.core.rendering import render
    from thumbsmith.core.result import RenderResult, Rendition, SourceFacts
    from thumbsmith.core.spec import RenditionSpec, parse_renditions
    from thumbsmith.core.vips_setup import configure

_WHERE = {
    "ALLOWED_FORMATS": "formats",
    "Header": "decoders.sniff",
    "sniff": "decoders.sniff",
    "sniff_format": "decoders.sniff",
    "configure": "vips_setup",
    "Hints": "hints",
    "parse_focus": "hints",
    "RenderOptions": "options",
    "Placeholder": "placeholder",
    "render": "rendering",
    "RenderResult": "result",
    "Rendition": "result",
    "SourceFacts": "result",
    "RenditionSpec": "spec",
    "parse_renditions": "spec",
}

__all__ = [
    "ALLOWED_FORMATS",
    "Header",
    "Hints",
    "Placeholder",
    "RenderOptions",
    "RenderResult",
    "Rendition",
    "RenditionSpec",
    "SourceFacts",
    "configure",
    "parse_focus",
    "parse_renditions",
    "render",
    "sniff",
    "sniff_format",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
