"""The ThumbHash of a 1-3 px source (issue 22): decoded with the author's reference decoder
(npm thumbhash, in tests/node), it paints the source's colour, not grey. On so few pixels
ThumbHash's cosines alias; the hash is taken of an enlarged copy."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess

import numpy as np
import pytest
import pyvips
from PIL import Image

from support.helpers import REPO
from thumbsmith.core import RenderOptions, render
from thumbsmith.core.placeholder import placeholder, rgba_to_thumbhash
from thumbsmith.core.spec import parse_renditions

NODE_DIR = REPO / "tests" / "node"
SPECS = parse_renditions("large=1280,medium=640,thumb=160")
COLOURS = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (230, 20, 30),
    "sky": (40, 130, 220),
    "olive": (128, 128, 0),
}
SIZES = [(1, 1), (2, 1), (3, 3)]


def decoded(thumbhash: str) -> dict[str, object]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "thumbhash").is_dir():
        pytest.skip("node or npm thumbhash missing: run 'npm ci' in tests/node")
    out = subprocess.run(
        [node, "thumbhash_pixels.mjs", thumbhash],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("colour", list(COLOURS))
def test_a_tiny_source_placeholder_decodes_to_its_colour(
    size: tuple[int, int], colour: str
) -> None:
    rgb = COLOURS[colour]
    result = render(png(size, rgb), SPECS, RenderOptions())
    assert [(r.width, r.height) for r in result] == [size] * 3  # never enlarged
    ph = result.placeholder
    assert ph is not None
    assert ph.color == "#{:02x}{:02x}{:02x}".format(*rgb)
    assert (ph.data_uri_width, ph.data_uri_height) == size
    got = decoded(ph.thumbhash)
    mean = np.array(got["meanRGBA"])
    assert np.abs(mean[:3] - rgb).max() < 6, f"{colour} {size} decodes to {mean[:3]}"
    assert mean[3] == 255
    ratio = got["w"] / got["h"]  # type: ignore[operator]
    assert ratio == pytest.approx(size[0] / size[1], rel=0.15)  # ThumbHash: steps of 1/7


def test_a_two_colour_pixel_pair_decodes_to_their_mean() -> None:
    """2x1, red | blue: the hash paints their mean, as a larger source would."""
    image = pyvips.Image.new_from_array(
        np.array([[[230, 20, 30], [40, 130, 220]]], dtype=np.uint8), interpretation="srgb"
    )
    got = decoded(placeholder(image).thumbhash)
    mean = np.array(got["meanRGBA"])
    assert np.abs(mean[:3] - [135, 75, 125]).max() < 8  # the mean of the two


def test_sources_of_seven_pixels_or_more_hash_as_before() -> None:
    """Only tiny sides are enlarged: a 7x7 source's hash is the reference encoder's."""
    rgba = bytes(np.random.default_rng(1).integers(0, 256, (7, 7, 4), dtype=np.uint8))
    image = pyvips.Image.new_from_memory(rgba, 7, 7, 4, "uchar")
    ours = placeholder(image.copy(interpretation="srgb")).thumbhash
    assert base64.b64decode(ours) == rgba_to_thumbhash(7, 7, rgba)[0]
