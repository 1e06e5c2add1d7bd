"""libvips set-up for this process: threads, cache, and which loaders may run.

Call :func:`configure` once per process (worker start, Lambda cold start); ``render``
calls it with the defaults if nobody did.
"""

from __future__ import annotations

import threading

import pyvips

from thumbsmith.imaging.model import RenderOptions
from thumbsmith.settings import Settings

#: The only libvips loaders thumbsmith calls, by the format ``sniff`` reports. Each is
#: called by name: libvips' own format detection never runs, so a file cannot reach a
#: loader its magic bytes did not select.
VIPS_LOADERS = {
    "jpeg": "jpegload_buffer",
    "png": "pngload_buffer",
    "gif": "gifload_buffer",
    "webp": "webpload_buffer",
    "tiff": "tiffload_buffer",
    "avif": "heifload_buffer",
}

DEFAULT_CONCURRENCY = 1

_lock = threading.Lock()
_configured = False


def configure(
    settings: Settings | RenderOptions | None = None, *, concurrency: int | None = None
) -> None:
    """Set libvips up for this process; safe to call again (the last call wins).

    - threads: ``settings.vips_concurrency`` (default 1): throughput comes from worker
      processes, and one thread per image avoids libvips' thread-pool overhead;
    - operation cache off: every image is new, so the cache only costs memory;
    - every loader blocked except the six in :data:`VIPS_LOADERS`, and libvips'
      "untrusted" operations blocked too (defence in depth behind the sniffer).
    """
    global _configured
    threads = concurrency
    if threads is None:
        threads = getattr(settings, "vips_concurrency", DEFAULT_CONCURRENCY)
    with _lock:
        pyvips.concurrency_set(int(threads))
        pyvips.cache_set_max(0)
        pyvips.cache_set_max_mem(0)
        pyvips.cache_set_max_files(0)
        pyvips.block_untrusted_set(True)
        pyvips.operation_block_set("VipsForeignLoad", True)
        for nickname in VIPS_LOADERS.values():
            gtype = pyvips.type_find("VipsOperation", nickname)
            pyvips.operation_block_set(pyvips.type_name(gtype), False)
        _configured = True


def ensure_configured() -> None:
    """Apply the defaults unless :func:`configure` already ran in this process."""
    if not _configured:
        configure()
