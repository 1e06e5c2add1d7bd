"""Damaged inputs (issue 22): what every viewer shows is shown whole, and what is not the
picture is rejected as corrupt, naming the object, with nothing made.

The inputs are made by our own code (damaged_samples.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import damaged_samples as damaged
import numpy as np
import pytest
from imaging_helpers import SPECS, pixels

from thumbsmith.core import render
from thumbsmith.errors import CorruptImage

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
