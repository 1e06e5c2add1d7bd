"""EPS through Ghostscript: renders, and hostile PostScript stays in its sandbox."""

from __future__ import annotations

import contextlib
import shutil
import struct
import tempfile
import time
from pathlib import Path

import pytest

from support.imaging import SPECS
from thumbsmith.core import RenderOptions, render
from thumbsmith.core.decoders import ghostscript as eps
from thumbsmith.errors import CorruptImage, DecoderTimeout, DecoderUnavailable, ImageError

pytestmark = pytest.mark.ghostscript

needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")


def eps_doc(body: str, box: str = "0 0 100 50") -> bytes:
    return (
        f"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: {box}\n%%EndComments\n{body}\n"
        "0 0 1 setrgbcolor 0 0 100 50 rectfill showpage\n%%EOF\n"
    ).encode()


def temp_listing() -> set[str]:
    return set(p.name for p in Path(tempfile.gettempdir()).iterdir())


@needs_gs
def test_simple_eps_renders_to_the_box() -> None:
    out = render(eps_doc(""), SPECS, name="a.eps")
    assert [(r.width, r.height) for r in out] == [(1280, 640), (640, 320), (160, 80)]


@needs_gs
def test_dos_binary_eps_is_unwrapped() -> None:
    ps = eps_doc("")
    header = b"\xc5\xd0\xd3\xc6" + struct.pack("<IIIIIIH", 30, len(ps), 0, 0, 0, 0, 0xFFFF)
    out = render(header + ps, [SPECS[2]], name="dos.eps")
    assert (out[0].width, out[0].height) == (160, 80)


def test_raster_is_bounded() -> None:
    dpi = eps.raster_dpi(1, 1, 100_000)
    assert dpi <= eps.MAX_DPI
    dpi = eps.raster_dpi(1000, 1000, 100_000)
    side = 1000 * dpi / 72
    assert side <= eps.MAX_RASTER_SIDE and side * side <= eps.MAX_RASTER_PIXELS * 1.001


def test_switched_off() -> None:
    with pytest.raises(DecoderUnavailable, match="THUMBSMITH_EPS_ENABLED"):
        render(eps_doc(""), SPECS, RenderOptions(eps_enabled=False), name="a.eps")


def test_missing_ghostscript() -> None:
    options = RenderOptions(ghostscript="/nonexistent/gs-missing")
    with pytest.raises(DecoderUnavailable, match=r"Ghostscript \(gs\) is not installed"):
        render(eps_doc(""), SPECS, options, name="a.eps")


@needs_gs
def test_reading_etc_passwd_is_refused(tmp_path: Path) -> None:
    body = (
        "(/etc/passwd) (r) file 1000 string readstring pop "
        "/Times-Roman findfont 5 scalefont setfont 0 0 moveto show"
    )
    with pytest.raises(CorruptImage):
        render(eps_doc(body), SPECS, name="passwd.eps")


@needs_gs
def test_cannot_write_or_delete_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Scratch folders go to a temp dir of this test's own, so other runs on the machine
    # (whose Ghostscript scratch folders come and go in /tmp) cannot show up as leftovers.
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "written.txt"
    before = temp_listing()
    for body in (
        f"({target}) (w) file dup (pwned) writestring closefile",
        f"({victim}) deletefile",
        "(%pipe%id > /tmp/thumbsmith-pipe-test) (w) file closefile",
        "(scratch.txt) (w) file dup (x) writestring closefile",
        "(/tmp/thumbsmith-gs-escape) (w) file closefile",
    ):
        # Failing is fine; the effects are what matter.
        with contextlib.suppress(ImageError):
            render(eps_doc(body), [SPECS[2]], name="hostile.eps")
    assert victim.read_text() == "keep me"
    assert not target.exists()
    assert not Path("/tmp/thumbsmith-pipe-test").exists()
    assert not Path("/tmp/thumbsmith-gs-escape").exists()
    leftovers = {n for n in temp_listing() - before if n.startswith("thumbsmith-gs-")}
    assert not leftovers, "scratch directories must be removed"


@needs_gs
def test_infinite_loop_times_out() -> None:
    start = time.monotonic()
    with pytest.raises(DecoderTimeout) as info:
        render(eps_doc("{} loop"), SPECS, RenderOptions(eps_timeout=1.0), name="loop.eps")
    assert "loop.eps" in str(info.value)
    assert time.monotonic() - start < 5.0


@needs_gs
def test_unbounded_allocation_fails_cleanly() -> None:
    body = "/a 1 def { /a [a a a a a a a a] def } loop"
    start = time.monotonic()
    with pytest.raises((CorruptImage, DecoderTimeout)):
        render(
            eps_doc(body),
            SPECS,
            RenderOptions(eps_timeout=5.0, eps_memory_mb=256),
            name="alloc.eps",
        )
    assert time.monotonic() - start < 8.0


@needs_gs
def test_huge_box_is_rendered_at_a_bounded_size() -> None:
    out = render(eps_doc("", box="0 0 20000 10000"), [SPECS[0]], name="huge.eps")
    assert (out[0].width, out[0].height) == (1280, 640)
