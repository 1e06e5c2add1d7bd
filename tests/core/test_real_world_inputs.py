"""Files every viewer shows (issue 14): damaged-but-recoverable JPEGs, TIFFs this libvips
build cannot decode, and PostScript with a bounding box but no EPSF line.

The inputs are made by our own code (tests/support/real_world_samples.py). Each must give upright
renditions close in colour to a reference decoded by Pillow (colour-managed where the
source is not sRGB), or the documented error; and the limits are read from the header
before anything is decoded, whichever decoder the file then goes to.
"""

from __future__ import annotations

import io
import shutil
from functools import cache

import numpy as np
import pytest
from PIL import Image

from support import real_world_samples as samples
from support.imaging import pixels
from thumbsmith.core import render, sniff
from thumbsmith.core.spec import parse_renditions
from thumbsmith.errors import CorruptImage, ImageTooLarge, UnsupportedFormat

FULL = parse_renditions("full=1280,thumb=40")  # full: the source size (no upscaling)
needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")


@cache
def jpegs() -> dict[str, bytes]:
    return samples.jpeg_samples()


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def full_pixels(
    data: bytes, name: str, size: tuple[int, int] = (samples.W, samples.H)
) -> np.ndarray:
    out = render(data, FULL, name=name)
    assert (out[0].width, out[0].height) == size
    scale = 40 / max(size)  # thumb=40 fits a 40x40 box
    assert (out[1].width, out[1].height) == (round(size[0] * scale), round(size[1] * scale))
    return pixels(out[0].data)


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


def assert_colour_close(got: np.ndarray, reference: np.ndarray, tolerance: float = 3) -> None:
    """Mean colour per channel, against a reference decoded by Pillow: robust to the
    re-encoding's texture error, far from what misread colours give (tens of levels)."""
    assert np.abs(got.mean((0, 1)) - reference.mean((0, 1))).max() < tolerance


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# --- JPEG ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["junk-before-sof", "junk-with-ff", "fill-bytes", "junk-after-soi", "no-eoi"]
)
def test_junk_and_a_missing_eoi_give_the_undamaged_files_pixels(name: str) -> None:
    data = jpegs()[name]
    assert tuple(sniff(data)) == ("jpeg", samples.W, samples.H, 1)
    clean = full_pixels(jpegs()["ok"], "ok.jpg")
    assert mean_diff(full_pixels(data, name), clean) == 0
    assert_colour_close(clean, decoded(jpegs()["ok"]))


def test_a_wrong_restart_marker_is_resynced_like_libjpeg() -> None:
    clean = full_pixels(jpegs()["rst-ok"], "rst.jpg")
    assert mean_diff(full_pixels(jpegs()["rst-wrong"], "wrong.jpg"), clean) == 0


@pytest.mark.parametrize("name", ["rst-missing", "scan-garbled"])
def test_corrupt_scan_data_still_decodes_every_row(name: str) -> None:
    clean = full_pixels(jpegs()["rst-ok" if name.startswith("rst") else "ok"], "clean.jpg")
    out = full_pixels(jpegs()[name], name)
    rows = np.abs(out - clean).mean(axis=(1, 2))
    assert rows[:16].max() < 1  # everything before the damage is the real picture
    if name == "rst-missing":  # libjpeg resyncs at the next restart marker
        assert (rows > 8).sum() <= 32


def test_progressive_cut_between_scans_decodes_at_lower_quality() -> None:
    out = full_pixels(jpegs()["progressive-cut-between-scans"], "p.jpg")
    assert_colour_close(out, decoded(jpegs()["ok"]), tolerance=12)


@pytest.mark.parametrize("name", ["cut-mid-scan", "cut-then-zero-filled"])
def test_a_jpeg_cut_mid_scan_is_rejected_as_cut_short(name: str) -> None:
    with pytest.raises(CorruptImage) as info:
        render(jpegs()[name], FULL, name=f"{name}.jpg")
    assert f"{name}.jpg: the JPEG is cut short" in str(info.value)


def test_a_jpeg_cut_in_its_header_is_corrupt() -> None:
    with pytest.raises(CorruptImage, match="frame header"):
        render(jpegs()["cut-in-header"], FULL, name="h.jpg")


def test_missing_eoi_together_with_junk_decodes_in_a_one_scan_jpeg() -> None:
    """One scan: the EOI-less decode tolerates libjpeg's junk warning (issue 22)."""
    clean = full_pixels(jpegs()["ok"], "ok.jpg")
    assert mean_diff(full_pixels(jpegs()["junk-before-sof"][:-2], "both.jpg"), clean) == 0


def test_missing_eoi_together_with_junk_is_rejected_in_a_progressive_jpeg() -> None:
    """Documented: several scans and no EOI make the decode strict, so libjpeg's junk
    warning fails it."""
    prog = samples.jpeg(samples.picture(), progressive=True)
    sof = samples.sof_offset(prog)
    with pytest.raises(CorruptImage):
        render((prog[:sof] + b"junk" + prog[sof:])[:-2], FULL, name="both.jpg")


def test_known_gap_stray_eoi_inside_the_scan_gives_grey_rows() -> None:
    """Documented gap: libjpeg stops at an EOI inside the scan and, the file ending in an
    EOI as a whole one does, nothing tells it from a complete file: the rows after it
    come out grey."""
    bottom = full_pixels(jpegs()["stray-eoi-in-scan"], "stray.jpg")[-8:]
    assert abs(bottom.mean() - 128) < 6 and bottom.std() < 6


@pytest.mark.parametrize("variant", ["junk-before-sof", "junk-after-soi", "no-eoi", "both"])
def test_jpeg_limits_hold_on_the_tolerant_paths(variant: str) -> None:
    big = samples.with_sof_size(jpegs()["ok"], 64250, 64250)
    sof = samples.sof_offset(big)
    data = {
        "junk-before-sof": big[:sof] + b"junk" + big[sof:],
        "junk-after-soi": big[:2] + b"\0\0junk" + big[2:],
        "no-eoi": big[:-2],
        "both": (big[:sof] + b"junk" + big[sof:])[:-2],
    }[variant]
    assert (sniff(data).width, sniff(data).height) == (64250, 64250)
    with pytest.raises(ImageTooLarge, match="64250x64250"):
        render(data, FULL, name="bomb.jpg")


# --- TIFF ---------------------------------------------------------------------------------
def test_cielab_tiff_comes_out_as_srgb_not_reinterpreted() -> None:
    original = samples.picture(64, 48)
    got = full_pixels(samples.lab_tiff(original), "lab.tif", (64, 48))
    # The same picture as lossless sRGB, through the same pipeline.
    assert mean_diff(got, full_pixels(png(original), "lab.png", (64, 48))) < 3
    # Colour-managed reference: the sRGB picture the CIELab file was made from. Read as
    # RGB, a* and b* would be off by tens of levels.
    assert_colour_close(got, np.asarray(original, dtype=np.float64))


def test_cielab_tiff_orientation_is_applied() -> None:
    original = samples.picture(64, 48)
    got = full_pixels(samples.lab_tiff(original, orientation=6), "lab6.tif", (48, 64))
    upright = original.transpose(Image.Transpose.ROTATE_270)
    assert mean_diff(got, full_pixels(png(upright), "up.png", (48, 64))) < 3


def test_old_style_jpeg_tiff_decodes() -> None:
    original = samples.picture(64, 48)
    stream = samples.jpeg(original, subsampling=0)  # the JPEG inside it
    got = full_pixels(samples.old_jpeg_tiff(original), "ojpeg.tif", (64, 48))
    assert mean_diff(got, full_pixels(stream, "stream.jpg", (64, 48))) < 1
    assert_colour_close(got, decoded(stream))


@pytest.mark.parametrize("kind", ["cielab", "old-jpeg"])
def test_tiff_limits_hold_before_the_pillow_decode(kind: str) -> None:
    small = samples.picture(64, 48)
    data = samples.lab_tiff(small) if kind == "cielab" else samples.old_jpeg_tiff(small)
    bomb = samples.with_tiff_size(data, 30000, 30000)
    with pytest.raises(ImageTooLarge, match="30000x30000"):
        render(bomb, FULL, name="bomb.tif")


# --- PostScript ---------------------------------------------------------------------------
@needs_gs
def test_postscript_with_a_bounding_box_renders_like_its_eps_twin() -> None:
    eps = render(samples.postscript("%!PS-Adobe-3.0 EPSF-3.0"), FULL, name="a.eps")
    ps = render(samples.postscript("%!PS-Adobe-2.0"), FULL, name="a.ps")
    # Cropped to the 200x150 pt box, not drawn on a default page.
    assert [(r.width, r.height) for r in ps] == [(1280, 960), (40, 30)]
    assert mean_diff(pixels(ps[0].data), pixels(eps[0].data)) < 1
    blue = pixels(ps[0].data)[900, 100]  # inside the box, away from the red line
    assert np.abs(blue - [255 * c for c in samples.BLUE]).max() < 10


@pytest.mark.parametrize(
    "data",
    [
        samples.postscript("%!PS-Adobe-3.0", box=None),
        samples.postscript("%!PS-Adobe-2.0", box="(atend)"),  # and no box at the end
        samples.postscript("%!", box="0 0 10 10"),  # not DSC PostScript at all
    ],
    ids=["no-box", "atend-without-box", "plain"],
)
def test_postscript_without_a_bounding_box_stays_rejected(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat, match="PostScript"):
        render(data, FULL, name="doc.ps")


def test_a_box_only_in_the_body_does_not_make_postscript_eps() -> None:
    data = samples.postscript("%!PS-Adobe-2.0", box=None).replace(
        b"showpage", b"%%BoundingBox: 0 0 10 10\nshowpage"
    )
    with pytest.raises(UnsupportedFormat):
        render(data, FULL, name="doc.ps")


@needs_gs
def test_postscript_raster_stays_bounded_whatever_the_box() -> None:
    data = samples.postscript("%!PS-Adobe-2.0", box="0 0 20000 20000")
    assert tuple(sniff(data)) == ("eps", 20000, 20000, 1)
    out = render(data, FULL, name="huge.ps")
    assert [(r.width, r.height) for r in out] == [(1280, 1280), (40, 40)]
