"""Placeholders: the ThumbHash decodes with the author's reference decoder (npm thumbhash)
to the source's aspect ratio and colour; the colour and the data URI are the source's."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import pyvips
from PIL import Image

from support.helpers import corpus_bytes
from support.thumbhash import reference
from thumbsmith.core import RenderOptions, RenditionSpec, render
from thumbsmith.core.placeholder import _rgba_within, rgba_to_thumbhash

pytestmark = pytest.mark.node  # the reference decoder is npm thumbhash

SPECS = (RenditionSpec("large", 1280, 1280), RenditionSpec("thumb", 160, 160))


def photo(width: int = 1200, height: int = 800, seed: int = 3) -> bytes:
    """A smooth, photo-like gradient with noise: warm on the left, blue on the right."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    base = np.array([200, 120, 60]) * (1 - x) + np.array([40, 90, 210]) * x
    px = base * (0.8 + 0.2 * y) + rng.normal(0, 8, (height, width, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(px, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def mean_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        mean: np.ndarray = np.asarray(img.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(0)
        return mean


SOURCES = {
    "16x9": lambda: photo(1280, 720),
    "square": lambda: photo(500, 500, seed=4),
    "portrait-3x5": lambda: photo(600, 1000, seed=5),
    "cat.jpg": lambda: corpus_bytes("imagers__cat.jpg"),
}


@pytest.mark.parametrize("name", list(SOURCES))
def test_thumbhash_decodes_to_the_source_aspect_and_colour(name: str) -> None:
    data = SOURCES[name]()
    result = render(data, SPECS, RenderOptions())
    ph = result.placeholder
    assert ph is not None
    decoded = json.loads(reference("decode", ph.thumbhash))
    aspect = result.source.width / result.source.height
    assert decoded["approximateAspectRatio"] == pytest.approx(aspect, rel=0.05)
    assert decoded["w"] / decoded["h"] == pytest.approx(aspect, rel=0.15)  # a 32 px image
    avg = decoded["averageRGBA"]
    got = np.array([avg["r"], avg["g"], avg["b"]]) * 255
    # Against the renditions' own pixels (sRGB, upright): a few levels at most.
    assert np.abs(got - mean_rgb(result.by_name("large")[0].data)).max() < 6
    assert avg["a"] == 1


@pytest.mark.parametrize("size", [(1200, 800), (800, 1200), (1000, 250)])
def test_thumbhash_aspect_is_the_nearest_it_can_say(size: tuple[int, int]) -> None:
    """ThumbHash stores the aspect ratio as n/7 (n/5 with alpha): 3:2 can only come back
    as 7/5 (6.7% off). The manifest's own width and height are exact; the hash is for the
    blur, and it picks the nearest step."""
    result = render(photo(*size), SPECS, RenderOptions())
    assert result.placeholder is not None
    decoded = json.loads(reference("decode", result.placeholder.thumbhash))
    aspect = size[0] / size[1]
    steps = [n / 7 for n in range(1, 8)] + [7 / n for n in range(1, 8)]
    nearest = min(steps, key=lambda r: abs(r - aspect))
    assert decoded["approximateAspectRatio"] == pytest.approx(nearest)


def test_colour_and_data_uri_are_the_sources() -> None:
    data = photo()
    result = render(data, SPECS, RenderOptions())
    ph = result.placeholder
    assert ph is not None
    source_mean = mean_rgb(result.by_name("large")[0].data)
    colour = np.array([int(ph.color[i : i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(colour - source_mean).max() < 4
    assert ph.data_uri.startswith("data:image/webp;base64,")
    assert len(ph.data_uri) < 1024, "an LQIP for a photo must stay under 1 KB"
    webp = base64.b64decode(ph.data_uri.split(",", 1)[1], validate=True)
    with Image.open(io.BytesIO(webp)) as img:
        assert img.format == "WEBP"
        assert img.size == (ph.data_uri_width, ph.data_uri_height) == (16, 11)
    assert np.abs(mean_rgb(webp) - source_mean).max() < 8


def test_transparent_source_keeps_alpha_in_the_hash() -> None:
    """An RGBA output (the encoder keeps alpha) gives a ThumbHash with alpha."""
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[:, :40] = (250, 30, 30, 255)  # left half opaque red, right half transparent
    image = pyvips.Image.new_from_array(rgba, interpretation="srgb")
    from thumbsmith.core.placeholder import placeholder

    ph = placeholder(image)
    decoded = json.loads(reference("decode", ph.thumbhash))
    assert 0.3 < decoded["averageRGBA"]["a"] < 0.7
    assert decoded["approximateAspectRatio"] == 1
    assert ph.color == "#fa1e1e", "the mean colour weighs by alpha: transparent pixels count 0"


@pytest.mark.parametrize(
    "image",
    ["imagers__cat.jpg", "imagers__ball.png", "sharp__5_webp_a.webp"],
)
def test_port_matches_the_reference_encoder_bit_for_bit(image: str, tmp_path: Path) -> None:
    source = pyvips.Image.new_from_buffer(corpus_bytes(image), "")
    small = _rgba_within(source.thumbnail_image(160), 100)
    raw = bytes(small.write_to_memory())
    (tmp_path / "px.rgba").write_bytes(raw)
    ours, _ = rgba_to_thumbhash(small.width, small.height, raw)
    theirs = reference("encode", str(small.width), str(small.height), str(tmp_path / "px.rgba"))
    assert base64.b64encode(ours).decode() == theirs


def test_placeholders_can_be_switched_off() -> None:
    result = render(photo(300, 200), SPECS, RenderOptions(placeholders=False))
    assert result.placeholder is None
    assert len(result) == 2
