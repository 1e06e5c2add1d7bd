"""libvips set-up for this process: threads, cache, and which loaders may run.

:func:`thumbsmith.runners.bootstrap.start` calls :func:`configure` once per process
with the settings' thread count; ``render`` applies the defaults if nobody did.
"""

from __future__ import annotations

import ctypes
import threading

import pyvips

from thumbsmith.core.formats import VIPS_LOADERS

DEFAULT_CONCURRENCY = 1

_lock = threading.Lock()
_configured = False


def configure(concurrency: int = DEFAULT_CONCURRENCY) -> None:
    """Set libvips up for this process; safe to call again (the last call wins).

    - threads: ``concurrency`` (default 1; 0 = one per core): throughput comes from worker
      processes, and one thread per image avoids libvips' thread-pool overhead;
    - operation cache off: every image is new, so the cache only costs memory;
    - every loader blocked except the six in :data:`VIPS_LOADERS`, and libvips'
      "untrusted" operations blocked too (defence in depth behind the sniffer);
    - one glibc malloc arena (see :func:`_single_malloc_arena`).
    """
    global _configured
    _single_malloc_arena()
    with _lock:
        pyvips.concurrency_set(int(concurrency))
        pyvips.cache_set_max(0)
        pyvips.cache_set_max_mem(0)
        pyvips.cache_set_max_files(0)
        pyvips.block_untrusted_set(True)
        pyvips.operation_block_set("VipsForeignLoad", True)
        for nickname in VIPS_LOADERS.values():
            gtype = pyvips.type_find("VipsOperation", nickname)
            pyvips.operation_block_set(pyvips.type_name(gtype), False)
        _configured = True


def _single_malloc_arena() -> None:
    """Ask glibc for one malloc arena instead of one per thread.

    libvips' worker threads each get their own arena by default, and freed image buffers
    stay mapped in them: peak RSS on a 22 MP JPEG climbed for ~10 images to 72 MB and
    settled there; with one arena it stays at 51 MB at the same speed (bench/README.md).
    Lambda bills by memory, so this is cost. A no-op where libc is not glibc.
    """
    m_arena_max = -8  # from glibc's malloc.h
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(m_arena_max, 1)


def ensure_configured() -> None:
    """Apply the defaults unless :func:`configure` already ran in this process."""
    if not _configured:
        configure()
