"""``render(data, specs)``: decode once, then each rendition from the one before it."""

from __future__ import annotations

from collections.abc import Sequence

from thumbsmith.imaging.model import RenderOptions, Rendition
from thumbsmith.specs import RenditionSpec

__all__ = ["RenderOptions", "Rendition", "render"]


def render(
    data: bytes,
    specs: Sequence[RenditionSpec],
    options: RenderOptions | None = None,
    *,
    name: str = "<bytes>",
) -> list[Rendition]:
    """Return one JPEG rendition per spec, in the order of ``specs``.

    Raises a typed :class:`thumbsmith.errors.ImageError` naming ``name`` on bad input.
    """
    raise NotImplementedError("imaging core under construction")
