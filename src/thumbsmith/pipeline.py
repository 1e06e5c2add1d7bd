"""``render(data, specs)``: decode once, then each rendition from the one before it."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import pyvips

from thumbsmith.errors import CorruptImage, ImageError, ThumbsmithError
from thumbsmith.imaging.engine import configure, ensure_configured
from thumbsmith.imaging.model import RenderOptions, Rendition
from thumbsmith.imaging.steps import Job, run
from thumbsmith.specs import RenditionSpec

__all__ = ["RenderOptions", "Rendition", "configure", "render"]


def render(
    data: bytes,
    specs: Sequence[RenditionSpec],
    options: RenderOptions | None = None,
    *,
    name: str = "<bytes>",
) -> list[Rendition]:
    """Return one JPEG rendition per spec, in the order of ``specs``.

    Raises a typed :class:`thumbsmith.errors.ImageError` naming ``name`` on bad input;
    no other exception type escapes.
    """
    options = options or RenderOptions()
    if not specs:
        return []
    ensure_configured()
    timeout = options.decode_timeout
    deadline = time.monotonic() + timeout if timeout > 0 else math.inf
    job = Job(bytes(data), specs, options, name=name, deadline=deadline)
    try:
        return run(job).renditions
    except ImageError as exc:
        if exc.object_name == name:
            raise
        raise exc.for_object(name) from exc
    except ThumbsmithError:
        raise
    except pyvips.Error as exc:
        raise CorruptImage(f"cannot decode: {_vips_reason(exc)}", object_name=name) from exc
    except MemoryError as exc:
        raise CorruptImage("ran out of memory while decoding", object_name=name) from exc
    except Exception as exc:
        raise CorruptImage(
            f"unexpected {type(exc).__name__} while rendering: {exc}", object_name=name
        ) from exc


def _vips_reason(exc: pyvips.Error) -> str:
    detail = (getattr(exc, "detail", "") or "").strip()
    lines = [line for line in detail.splitlines() if line.strip()]
    return "; ".join(lines[:3])[:300] or str(exc.message)
