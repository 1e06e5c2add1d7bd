"""Damaged inputs (issue 22): what every viewer shows is shown whole, and what is not the
picture is rejected as corrupt, naming the object, with nothing made.

The inputs are made by our own code (damaged_samples.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from support import damaged_samples as damaged
from support import real_world_samples as samples
from support.imaging import SPECS, pixels
from thumbsmith import settings as S
from thumbsmith.core import render
from thumbsmith.errors import CorruptImage
from thumbsmith.runners.convert import convert

SIZES = [(1280, 960), (640, 480), (160, 120)]  # the default renditions of a 4:3 photo


@cache
def camera(progressive: bool = False) -> bytes:
    return damaged.with_restart_damage(damaged.camera_jpeg(progressive))


@cache
def large(data: bytes) -> np.ndarray:
    out = render(data, SPECS, name="IMG_0001.JPG")
    assert [(r.width, r.height) for r in out] == SIZES
    return pixels(out[0].data)


# --- JPEG: a camera file with a short restart interval and a wrong restart marker ------
ENDINGS: dict[str, Callable[[bytes], bytes]] = {
    "eoi-kept": lambda data: data,
    "eoi-lost": damaged.eoi_lost,
    "eoi-lost-zero-padded": lambda data: damaged.eoi_lost(data, bytes(4096)),
    "eoi-lost-ff-padded": lambda data: damaged.eoi_lost(data, b"\xff" * 64),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_camera_jpeg_with_restart_damage_decodes_every_row(ending: str) -> None:
    """libjpeg: "premature end of data segment", "found marker 0xd1 instead of RST5".
    Pillow and browsers show the file; so does thumbsmith, with or without its EOI."""
    got = large(ENDINGS[ending](camera()))
    assert np.abs(got - large(camera())).max() == 0  # the same decode as with its EOI
    rows = np.abs(got - large(damaged.camera_jpeg())).mean(axis=(1, 2))
    top, bottom = (round(y * 1280 / damaged.CAMERA[0]) for y in damaged.DAMAGED_BAND)
    assert rows[top:bottom].min() > 20  # the lost band is really lost ...
    # ... and only it (give or take the output's 16-row JPEG blocks)
    assert rows[: top - 16].max() == 0 and rows[bottom + 16 :].max() == 0


def test_progressive_camera_jpeg_with_restart_damage_decodes_every_row() -> None:
    got = large(camera(progressive=True))
    rows = np.abs(got - large(damaged.camera_jpeg(progressive=True))).mean(axis=(1, 2))
    assert rows[-100:].max() < 2  # the bottom of the picture is there


def test_progressive_jpeg_with_damage_and_no_eoi_is_rejected() -> None:
    """Documented: several scans and no EOI decode strictly; the damage's warning fails."""
    with pytest.raises(CorruptImage, match=r"^IMG_0001\.JPG: the JPEG is cut short"):
        render(damaged.eoi_lost(camera(progressive=True)), SPECS, name="IMG_0001.JPG")


@pytest.mark.parametrize("filler", [b"", b"\x00", b"\xff"], ids=["cut", "zero-filled", "ff-filled"])
def test_camera_jpeg_cut_inside_its_scan_is_still_rejected(filler: bytes) -> None:
    whole = camera()
    cut = whole[: len(whole) * 6 // 10]
    data = cut + filler * (len(whole) - len(cut))
    with pytest.raises(CorruptImage, match=r"^IMG_0001\.JPG: the JPEG is cut short"):
        render(data, SPECS, name="IMG_0001.JPG")


def test_camera_jpeg_cut_in_its_last_rows_is_rejected() -> None:
    """A few hundred bytes missing is still a cut: the padding does not hide it."""
    whole = damaged.eoi_lost(camera())
    with pytest.raises(CorruptImage, match="cut short"):
        render(whole[:-400] + bytes(4096), SPECS, name="IMG_0001.JPG")


# --- TIFF: strips that cannot be read ------------------------------------------------------
PICTURE = samples.picture(200, 150)
TIFFS = {
    "uncompressed": lambda: damaged.tiff(PICTURE),
    "lzw": lambda: damaged.tiff(PICTURE, "tiff_lzw"),
    "deflate": lambda: damaged.tiff(PICTURE, "tiff_adobe_deflate"),
    # decoded by Pillow (this libvips build cannot read 8-bit CIELab)
    "cielab": lambda: damaged.tiff(PICTURE.convert("LAB")),
    "cielab-lzw": lambda: damaged.tiff(PICTURE.convert("LAB"), "tiff_lzw"),
    "cielab-deflate": lambda: damaged.tiff(PICTURE.convert("LAB"), "tiff_adobe_deflate"),
}
DAMAGES = list(damaged.tiff_damages(damaged.tiff(PICTURE)))


@pytest.mark.parametrize("kind", list(TIFFS))
def test_a_whole_tiff_still_decodes(kind: str) -> None:
    out = render(TIFFS[kind](), SPECS, name="scan.tif")
    assert [(r.width, r.height) for r in out] == [(200, 150), (200, 150), (160, 120)]
    reference = np.asarray(PICTURE, dtype=np.float64)
    assert np.abs(pixels(out[0].data).mean((0, 1)) - reference.mean((0, 1))).max() < 3


#: Pillow reads uncompressed strips by their offsets and the rows' size: with the bytes
#: all there, wrong byte counts still give the whole picture (checked below).
PICTURE_STILL_THERE = {("cielab", "byte-counts-past-end"), ("cielab", "strips-cut-short")}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("kind", list(TIFFS))
def test_a_tiff_whose_strips_cannot_be_read_is_corrupt(kind: str, damage: str) -> None:
    """Once all black (libtiff: "Read error on strip 0"; Pillow: "decoder error -2")."""
    data = damaged.tiff_damages(TIFFS[kind]())[damage]
    if (kind, damage) in PICTURE_STILL_THERE:
        whole = render(TIFFS[kind](), SPECS, name="whole.tif")
        assert [r.data for r in render(data, SPECS, name="scan.tif")] == [r.data for r in whole]
        return
    with pytest.raises(CorruptImage, match=r"^scan\.tif: "):
        render(data, SPECS, name="scan.tif")


def test_an_uncompressed_tiff_cut_short_is_corrupt() -> None:
    data = TIFFS["uncompressed"]()  # Pillow writes its IFD first here: a cut keeps it
    assert damaged.strip_table(data, damaged.STRIP_OFFSETS)[0] < 1000
    with pytest.raises(CorruptImage, match=r"^scan\.tif: "):
        render(data[: len(data) * 2 // 3], SPECS, name="scan.tif")


@pytest.mark.parametrize("damage", ["stream-cut", "stream-past-end"])
def test_an_old_style_jpeg_tiff_whose_data_is_missing_is_corrupt(damage: str) -> None:
    """libtiff's old-JPEG codec paints missing rows grey without an error."""
    data = samples.old_jpeg_tiff(samples.picture(64, 48))
    if damage == "stream-cut":
        data = data[: len(data) * 2 // 3]
    else:
        start = damaged.strip_table(data, 513)[0]
        data = damaged.with_strip_table(data, 513, [len(data) + 100])
        data = damaged.with_strip_table(data, damaged.STRIP_OFFSETS, [len(data) + 100])
        assert start < len(data)
    with pytest.raises(CorruptImage, match=r"^scan\.tif: "):
        render(data, SPECS, name="scan.tif")


def test_a_corrupt_tiff_writes_nothing(tmp_path: Path) -> None:
    """Through ``thumbsmith convert``: one line naming the file, no rendition, no manifest."""
    source = tmp_path / "in" / "scan.tif"
    source.parent.mkdir()
    source.write_bytes(damaged.tiff_damages(TIFFS["lzw"]())["offsets-past-end"])
    out = tmp_path / "out"
    summary = convert([source], out, S.load(env={}))
    assert summary.failed == 1
    assert summary.results[0].error.startswith(f"{source}: cannot decode")
    assert [p for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "damage", ["offsets-past-end", "lower-strips-past-end", "byte-counts-past-end"]
)
def test_a_jpeg_compressed_tiff_whose_strips_are_missing_is_corrupt(damage: str) -> None:
    """Strips past the end of the file: libtiff's read error. (Known gap: a strip whose
    byte count is merely too small is handed to libjpeg short, which fills it in grey.)"""
    data = damaged.tiff_damages(damaged.tiff(PICTURE, "jpeg"))[damage]
    with pytest.raises(CorruptImage, match=r"^scan\.tif: "):
        render(data, SPECS, name="scan.tif")
