"""``render(data, specs, options)``: decode once, then every rendition from that decode."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import pyvips

from thumbsmith.core.decoders.jpeg_markers import is_cut_short
from thumbsmith.core.hints import Hints
from thumbsmith.core.job import Job
from thumbsmith.core.options import RenderOptions
from thumbsmith.core.pipeline import run
from thumbsmith.core.result import RenderResult
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.core.vips_setup import ensure_configured
from thumbsmith.errors import CorruptImage, ImageError, ThumbsmithError


def render(
    data: bytes,
    specs: Sequence[RenditionSpec],
    options: RenderOptions | None = None,
    *,
    name: str = "<bytes>",
    hints: Hints | None = None,
    only: tuple[str, str] | None = None,
) -> RenderResult:
    """The source's facts and one rendition per spec and format, in the order of
    ``specs`` and of each spec's formats. ``hints`` (a focal point) steer cover crops.
    ``only=(name, format)`` encodes that one output, its pixels made exactly as among
    all of ``specs`` (the same cascade), so its bytes are those of the full render.

    Raises a typed :class:`thumbsmith.errors.ImageError` naming ``name`` on bad input;
    no other exception type escapes.
    """
    options = options or RenderOptions()
    if not specs:
        raise ValueError("render needs at least one rendition spec")
    ensure_configured()
    timeout = options.decode_timeout
    deadline = time.monotonic() + timeout if timeout > 0 else math.inf
    job = Job(
        bytes(data), specs, options, name=name, deadline=deadline, hints=hints or Hints(), only=only
    )
    try:
        run(job)
        return RenderResult(job.facts(), job.renditions, job.placeholder)
    except ImageError as exc:
        if exc.object_name == name:
            raise
        raise exc.for_object(name) from exc
    except ThumbsmithError:
        raise
    except pyvips.Error as exc:
        reason = f"cannot decode: {_vips_reason(exc)}"
        if job.header is not None and job.header.format == "jpeg" and is_cut_short(job.data):
            reason = f"the JPEG is cut short (its data stops before the end of image); {reason}"
        raise CorruptImage(reason, object_name=name) from exc
    except MemoryError as exc:
        raise CorruptImage("ran out of memory while decoding", object_name=name) from exc
    except UnicodeDecodeError as exc:
        if not _raised_by_pyvips(exc):
            raise CorruptImage(
                f"unexpected {type(exc).__name__} while rendering: {exc}", object_name=name
            ) from exc
        # pyvips reads libvips' error text as UTF-8 and gives up on other bytes (a file's
        # own text quoted in a message) before clearing it: clear it here, or every later
        # error of this process fails the same way.
        pyvips.vips_lib.vips_error_clear()
        raise CorruptImage(
            "cannot decode (libvips' error message was not UTF-8)", object_name=name
        ) from exc
    except Exception as exc:
        raise CorruptImage(
            f"unexpected {type(exc).__name__} while rendering: {exc}", object_name=name
        ) from exc


def _raised_by_pyvips(exc: BaseException) -> bool:
    """Whether ``exc`` came out of pyvips' own code (its error handling), not ours."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("pyvips"):
            return True
        tb = tb.tb_next
    return False


def _vips_reason(exc: pyvips.Error) -> str:
    detail = (getattr(exc, "detail", "") or "").strip()
    lines = [line for line in detail.splitlines() if line.strip()]
    return "; ".join(lines[:3])[:300] or str(exc.message)
