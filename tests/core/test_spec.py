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


def test_a_bad_spec_names_its_source_and_is_not_a_config_error() -> None:
    """A spec from a request is the client's error (permanent, never retried), named as
    the request's, not as the renditions setting."""
    from thumbsmith.core.spec import parse_spec
    from thumbsmith.errors import ConfigError, SpecError
    from thumbsmith.service.dispatch import classify
    from thumbsmith.service.outcome import Failure

    with pytest.raises(SpecError) as err:
        parse_spec("x=99999", source="request /img/a.jpg")
    assert str(err.value).startswith("request /img/a.jpg: rendition 'x': box '99999'")
    assert not isinstance(err.value, ConfigError)
    assert classify(err.value) is Failure.PERMANENT
    with pytest.raises(SpecError, match=r"^setting 'renditions': rendition 'x'"):
        parse_spec("x=0")
