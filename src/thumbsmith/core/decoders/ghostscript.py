"""EPS through Ghostscript, in a sandboxed subprocess.

Ghostscript has had repeated ``-dSAFER`` escapes (CVE-2017-8291, CVE-2018-16509,
CVE-2024-29510), so ``-dSAFER`` is one layer among several: its own process group
(killed whole on timeout), CPU/memory/file-size/process rlimits, a minimal environment
(no inherited credentials), and a fresh scratch directory that is its cwd and its
TMPDIR, since even under -dSAFER PostScript may write and delete files in its temp dir.
The raster size is bounded from the %%BoundingBox, so a tiny box with a huge
resolution cannot become a memory bomb.

This is the only module of the core that runs a subprocess.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from thumbsmith.core.decoders.sniff import eps_bounding_box, eps_postscript
from thumbsmith.core.options import RenderOptions
from thumbsmith.errors import CorruptImage, DecoderTimeout, DecoderUnavailable

#: Raster bounds whatever the box or the renditions ask for.
MAX_RASTER_PIXELS = 25_000_000
MAX_RASTER_SIDE = 8000
MIN_DPI = 0.01
MAX_DPI = 2400.0
_MAX_OUTPUT_BYTES = 256 * 1024 * 1024
_MAX_OPEN_FILES = 64


def raster_dpi(box_w: float, box_h: float, long_side: int) -> float:
    """Resolution that makes the box's long side ``long_side`` px, within the bounds."""
    box_w, box_h = max(box_w, 1.0), max(box_h, 1.0)
    dpi = max(MIN_DPI, min(72.0 * long_side / max(box_w, box_h), MAX_DPI))
    # The raster bounds win over everything else.
    dpi = min(dpi, 72.0 * MAX_RASTER_SIDE / max(box_w, box_h))
    return min(dpi, 72.0 * math.sqrt(MAX_RASTER_PIXELS / (box_w * box_h)))


_FIRST_LINE = re.compile(rb"\A%!PS-Adobe-[^\r\n]*")
EPSF_LINE = b"%!PS-Adobe-3.0 EPSF-3.0"


def for_epscrop(postscript: bytes) -> bytes:
    """The PostScript with an ``EPSF`` first line, so that ``-dEPSCrop`` honours its box.

    Ghostscript 10 crops to the %%BoundingBox only when the first line says EPSF; a
    ``%!PS-Adobe-2.0`` file with a box (accepted by sniffing) would otherwise be drawn on
    a default A4/letter page. Only that line of the copy handed to gs changes.
    """
    first = _FIRST_LINE.match(postscript)
    if first is None or b"EPSF" in first.group(0):
        return postscript
    return EPSF_LINE + postscript[first.end() :]


def ghostscript_argv(gs: str, dpi: float, source: str, output: str) -> list[str]:
    return [
        gs,
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-dQUIET",
        "-dNOPROMPT",
        "-dEPSCrop",
        "-dFirstPage=1",
        "-dLastPage=1",
        "-dTextAlphaBits=4",
        "-dGraphicsAlphaBits=4",
        "-sDEVICE=png16m",
        f"-r{dpi:.3f}",
        f"-sOutputFile={output}",
        "-f",
        source,
    ]


def _limits(options: RenderOptions) -> Callable[[], None]:
    memory = options.eps_memory_mb * 1024 * 1024
    cpu = max(1, math.ceil(options.eps_timeout)) + 1

    def apply() -> None:  # runs in the child between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_MAX_OUTPUT_BYTES, _MAX_OUTPUT_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (_MAX_OPEN_FILES, _MAX_OPEN_FILES))
        # gs never needs a child: no fork, so no %pipe% even if SAFER were bypassed.
        # (Ignored for root, which the other layers still cover.)
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))

    return apply


def render_eps(data: bytes, options: RenderOptions, long_side: int) -> bytes:
    """Rasterise an EPS to PNG bytes whose long side is about ``long_side`` px.

    Raises DecoderUnavailable (switched off, no Ghostscript), DecoderTimeout, or
    CorruptImage (Ghostscript failed or produced nothing).
    """
    if not options.eps_enabled:
        raise DecoderUnavailable("EPS input is switched off (THUMBSMITH_EPS_ENABLED)")
    gs = shutil.which(options.ghostscript)
    if gs is None:
        raise DecoderUnavailable(
            f"Ghostscript (gs) is not installed (looked for {options.ghostscript!r})"
        )
    try:
        postscript = eps_postscript(data)
        llx, lly, urx, ury = eps_bounding_box(postscript)
    except (ValueError, IndexError) as exc:
        raise CorruptImage(f"EPS header: {exc}") from exc
    dpi = raster_dpi(urx - llx, ury - lly, long_side)

    scratch = Path(tempfile.mkdtemp(prefix="thumbsmith-gs-"))
    try:
        source = scratch / "input.eps"
        output = scratch / "output.png"
        source.write_bytes(for_epscrop(postscript))
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            "TEMP": str(scratch),
            "TMP": str(scratch),
            "LC_ALL": "C",
        }
        try:
            proc = subprocess.Popen(
                ghostscript_argv(gs, dpi, str(source), str(output)),
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_limits(options),
                close_fds=True,
            )
        except FileNotFoundError as exc:
            raise DecoderUnavailable("Ghostscript (gs) is not installed") from exc
        try:
            _, stderr = proc.communicate(timeout=options.eps_timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise DecoderTimeout(
                f"Ghostscript took longer than {options.eps_timeout:g} s and was killed"
            ) from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        if proc.returncode != 0:
            if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
                raise DecoderTimeout("Ghostscript hit its CPU limit and was killed")
            detail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise CorruptImage(
                f"Ghostscript could not render the EPS (exit {proc.returncode}) {detail[0][:200]}"
            )
        # Never follow a link the PostScript may have planted in its scratch dir.
        if not output.is_file() or output.is_symlink() or output.stat().st_size == 0:
            raise CorruptImage("Ghostscript produced no image from the EPS")
        return output.read_bytes()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)
