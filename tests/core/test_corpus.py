"""Every corpus file, as users would see its renditions."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from support.helpers import corpus_bytes, entries, expected_size
from support.imaging import SPECS, pixels
from thumbsmith.core import render
from thumbsmith.core.spec import RenditionSpec
from thumbsmith.errors import ImageError


def assert_clean_jpeg(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG"
        assert im.mode == "RGB", "3-band sRGB output"
        assert not im.getexif(), "EXIF must be stripped"
        assert "exif" not in im.info
        assert "icc_profile" not in im.info, "pixels are sRGB; no profile is shipped"
        im.load()


@pytest.mark.parametrize("entry", entries("ok"))
def test_ok_file_gives_every_rendition(entry: dict[str, Any]) -> None:
    data = corpus_bytes(entry["file"])
    out = render(data, SPECS, name=entry["file"])
    assert [r.name for r in out] == [s.name for s in SPECS]
    for rendition, spec in zip(out, SPECS, strict=True):
        assert_clean_jpeg(rendition.data)
        with Image.open(io.BytesIO(rendition.data)) as im:
            assert im.size == (rendition.width, rendition.height)
        assert spec.width is not None and spec.height is not None  # two-sided boxes here
        if entry["format"] == "EPS":
            # Vector: rasterised to fit the box; only the aspect ratio is known.
            assert rendition.width <= spec.width and rendition.height <= spec.height
            assert max(rendition.width / spec.width, rendition.height / spec.height) > 0.99
            aspect = entry["width"] / entry["height"]
            assert abs(rendition.width / rendition.height - aspect) < 0.02 * aspect + 1 / min(
                rendition.width, rendition.height
            )
        else:
            assert (rendition.width, rendition.height) == expected_size(entry, spec)


def _small(entry_file: str) -> np.ndarray:
    thumb = render(corpus_bytes(entry_file), [RenditionSpec("t", 160, 160)], name=entry_file)
    return pixels(thumb[0].data)


# Calibrated on the sharp Landscape/Portrait sets: upright copies differ by < 5 (mostly
# colour profile and JPEG noise); a wrong rotation or flip differs by > 25.
ORIENTATION_THRESHOLD = 12.0


@pytest.mark.parametrize("entry", [e for e in entries("ok") if e.values[0].get("reference")])
def test_orientation_matches_reference(entry: dict[str, Any]) -> None:
    got = _small(entry["file"])
    ref = _small(entry["reference"])
    assert got.shape == ref.shape
    diff = np.abs(got - ref).mean()
    assert diff < ORIENTATION_THRESHOLD, f"{entry['file']} not upright: mean diff {diff:.1f}"


def test_orientation_check_would_catch_a_wrong_rotation(corpus: object) -> None:
    ref = _small("sharp__Landscape_1.jpg")
    for wrong in (ref[::-1, :], ref[:, ::-1], ref[::-1, ::-1]):
        assert np.abs(wrong - ref).mean() > 2 * ORIENTATION_THRESHOLD


@pytest.mark.parametrize("entry", entries("reject"))
def test_reject_file_raises_typed_error(entry: dict[str, Any]) -> None:
    data = corpus_bytes(entry["file"])
    start = time.monotonic()
    with pytest.raises(ImageError) as info:
        render(data, SPECS, name=entry["file"])
    assert entry["file"] in str(info.value)
    assert info.value.object_name == entry["file"]
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize("entry", entries("ok-or-reject"))
def test_ok_or_reject_is_clean_and_quick(entry: dict[str, Any]) -> None:
    data = corpus_bytes(entry["file"])
    start = time.monotonic()
    try:
        out = render(data, SPECS, name=entry["file"])
    except ImageError as exc:
        assert entry["file"] in str(exc)
    else:
        assert len(out) == len(SPECS)
        for rendition in out:
            assert_clean_jpeg(rendition.data)
    assert time.monotonic() - start < 5.0


# --- colour management ------------------------------------------------------------------


def managed_reference(name: str, size: tuple[int, int]) -> np.ndarray:
    """The source converted to sRGB by LittleCMS through Pillow, resized to ``size``."""
    with Image.open(io.BytesIO(corpus_bytes(name))) as im:
        icc = im.info.get("icc_profile")
        assert icc, f"{name} should carry a profile"
        im.load()
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        rgb = ImageCms.profileToProfile(
            im,
            src,
            ImageCms.createProfile("sRGB"),
            outputMode="RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
        assert rgb is not None
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(rgb, dtype=np.float64)


@pytest.mark.parametrize(
    "name",
    [
        "sharp__Channel_digital_image_CMYK_color.jpg",
        "mei__Canon_EOS_7D_adobergb.jpg",
        "sharp__p3.png",
        "sharp__fogra-0-100-100-0.tif",
    ],
)
def test_profiled_source_matches_colour_managed_reference(name: str) -> None:
    out = render(corpus_bytes(name), [RenditionSpec("m", 320, 320)], name=name)[0]
    got = pixels(out.data)
    ref = managed_reference(name, (out.width, out.height))
    mean_diff = np.abs(got.mean(axis=(0, 1)) - ref.mean(axis=(0, 1)))
    assert mean_diff.max() < 6.0, f"mean colour off by {mean_diff}"
    assert np.abs(got - ref).mean() < 10.0


def test_adobe_rgb_is_converted_not_just_relabelled() -> None:
    name = "mei__Canon_EOS_7D_adobergb.jpg"
    out = render(corpus_bytes(name), [RenditionSpec("m", 320, 320)], name=name)[0]
    with Image.open(io.BytesIO(corpus_bytes(name))) as im:
        raw = np.asarray(im.convert("RGB").resize((out.width, out.height)), dtype=np.float64)
    ref = managed_reference(name, (out.width, out.height))
    got = pixels(out.data)
    # Closer to the managed conversion than to the raw (unconverted) numbers.
    assert np.abs(got - ref).mean() < np.abs(got - raw).mean()


def test_cmyk_without_profile_is_not_inverted() -> None:
    profiled = pixels(
        render(corpus_bytes("sharp__Channel_digital_image_CMYK_color.jpg"), [SPECS[2]])[0].data
    )
    bare = pixels(
        render(corpus_bytes("sharp__Channel_digital_image_CMYK_color_no_profile.jpg"), [SPECS[2]])[
            0
        ].data
    )
    # Same picture: the built-in CMYK profile lands near the embedded SWOP one, while an
    # inverted (negative) decode would be ~100+ away.
    assert np.abs(bare - profiled).mean() < 20.0
    assert np.abs((255 - bare) - profiled).mean() > 60.0


def test_fogra_red_patch_is_red() -> None:
    out = render(corpus_bytes("sharp__fogra-0-100-100-0.tif"), [SPECS[2]])[0]
    r, g, b = pixels(out.data).mean(axis=(0, 1))
    assert r > 200 and g < 80 and b < 80


def test_greyscale_sources_become_three_band_srgb() -> None:
    for name in ("thumbor__grayscale.jpg", "thumbor__grayscale-icc.jpg", "sharp__concert.jpg"):
        out = render(corpus_bytes(name), [SPECS[2]], name=name)[0]
        got = pixels(out.data)
        assert got.shape[2] == 3
        # Still grey: the three channels agree.
        assert np.abs(got[..., 0] - got[..., 1]).mean() < 2.0
