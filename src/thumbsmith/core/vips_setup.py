"""libvips set-up for this process: threads, cache, and which loaders may run.

:func:`thumbsmith.runners.bootstrap.start` calls :func:`configure` once per process
with the settings' thread count; ``render`` applies the defaults if nobody did.
"""

from __future__ import annotations

import ctypes
import logging
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
    - one glibc malloc arena (see :func:`_single_malloc_arena`);
    - libvips' warnings to the debug log (see :class:`VipsWarningsToDebug`).
    """
    global _configured
    _single_malloc_arena()
    _route_vips_warnings()
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


#: Where libvips' warnings go, at DEBUG (``thumbsmith -v`` shows them).
VIPS_LOG = logging.getLogger("thumbsmith.vips")


class VipsWarningsToDebug(logging.Filter):
    """Sends libvips' warnings (pyvips logs them as WARNING) to :data:`VIPS_LOG` at DEBUG.

    They are about the file being read ("read gave 1 warnings", libjpeg's "4 extraneous
    bytes before marker", libtiff's unknown tags): a file that decodes is fine and must
    print nothing, and one that fails says why in its error. Errors and criticals, which
    would be libvips' own trouble, pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        VIPS_LOG.debug("%s", record.getMessage())
        return False


def _route_vips_warnings() -> None:
    pyvips_log = logging.getLogger("pyvips")  # the logger pyvips' GLib log handler uses
    if not any(isinstance(f, VipsWarningsToDebug) for f in pyvips_log.filters):
        pyvips_log.addFilter(VipsWarningsToDebug())


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
