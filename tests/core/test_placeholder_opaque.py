"""The opaque placeholder path (every JPEG-only rendition set takes it): the same ThumbHash,
colour and data URI as the general RGBA path, and the reference encoder's bytes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import pyvips

from support.helpers import corpus_bytes
from support.thumbhash import reference
from thumbsmith.core.placeholder import _rgba_within, placeholder, rgba_to_thumbhash

OPAQUE = (
    "imagers__cat.jpg",
    "sharp__Landscape_1.jpg",
    "sharp__Portrait_5.jpg",
    "mei__Samsung_GT-I9000_orientation6.jpg",
    "sharp__concert.jpg",  # greyscale
)
# Not thumbor__grayscale.jpg: a synthetic, symmetric gradient whose AC terms are zero in
# exact arithmetic, so every nibble sits on the tie round(7.5); which way 1e-17 of rounding
# noise tips it depends on the order of the sums, and no two orders agree (this port's RGBA
# path, its opaque path and the reference give three different hashes, all of which decode
# to the same gradient).


def _thumb(name: str) -> pyvips.Image:
    image = pyvips.Image.new_from_buffer(corpus_bytes(name), "").thumbnail_image(160)
    if image.bands == 1:
        image = image.colourspace("srgb")
    return image.copy_memory()


@pytest.mark.parametrize("name", OPAQUE)
def test_opaque_path_gives_what_the_rgba_path_gives(name: str) -> None:
    image = _thumb(name)
    assert image.bands == 3
    opaque = placeholder(image)
    general = placeholder(image.bandjoin(255))  # the same pixels, with an opaque alpha band
    assert opaque == general


@pytest.mark.parametrize("name", OPAQUE)
def test_opaque_path_matches_the_reference_encoder(name: str, tmp_path: Path) -> None:
    small = _rgba_within(_thumb(name), 100)
    raw = bytes(small.write_to_memory())
    (tmp_path / "px.rgba").write_bytes(raw)
    ours, _ = rgba_to_thumbhash(small.width, small.height, raw)  # opaque: the fast path
    theirs = reference("encode", str(small.width), str(small.height), str(tmp_path / "px.rgba"))
    assert base64.b64encode(ours).decode() == theirs
