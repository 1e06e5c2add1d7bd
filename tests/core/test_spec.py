"""Rendition specs: sizes for a fit, the compact grammar and its order."""

from __future__ import annotations

import pytest

from thumbsmith.core.spec import RenditionSpec, parse_renditions


@pytest.mark.parametrize(
    ("box", "src", "out"),
    [
        ((1280, 1280), (4032, 3024), (1280, 960)),
        ((640, 640), (3024, 4032), (480, 640)),
        ((160, 160), (100, 50), (100, 50)),  # never upscale
        ((160, 160), (940, 2), (160, 1)),  # keeps at least 1 px
        ((160, 90), (1000, 1000), (90, 90)),
    ],
)
def test_fit_inside_keep_aspect_never_upscale(
    box: tuple[int, int], src: tuple[int, int], out: tuple[int, int]
) -> None:
    assert RenditionSpec("x", *box).size_for(*src) == out


def test_parse_and_order() -> None:
    specs = parse_renditions("thumb=160x120, large=1280 ,medium=640")
    assert [s.name for s in specs] == ["thumb", "large", "medium"]
    assert specs[0] == RenditionSpec("thumb", 160, 120)
