from __future__ import annotations

import pytest

from thumbsmith import settings as S
from thumbsmith.core.spec import RenditionSpec, parse_renditions
from thumbsmith.errors import ConfigError
from thumbsmith.runners.bootstrap import process_config
from thumbsmith.service.keys import KeyMapper


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


def mapper(**env: str) -> KeyMapper:
    return process_config(S.load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})).keys


def test_default_layout() -> None:
    m = mapper()
    assert m.output_bucket("photos") == "photos-output"
    assert m.rendition_keys("photos", "images/cat.png") == {
        "large/images/cat.png.jpg",
        "medium/images/cat.png.jpg",
        "thumb/images/cat.png.jpg",
    }


def test_default_template_is_collision_free() -> None:
    m = mapper()
    sources = [
        "images/cat.png",
        "images/cat.jpg",
        "images/cat",
        "images/cat.png.jpg",
        "images/a b+c.jpg",
        "images/é.jpg",
        "images/e\u0301.jpg",
        "images/sub/cat.png",
    ]
    outs = [m.output_key("photos", k, "large") for k in sources]
    assert len(set(outs)) == len(sources)


def test_prefix_filter() -> None:
    m = mapper()
    assert m.accepts("images/x.jpg")
    assert not m.accepts("other/x.jpg")
    assert not m.accepts("images/folder/")


def test_recursion_guard_default_is_safe() -> None:
    mapper().check_no_recursion("photos")


@pytest.mark.parametrize(
    "env",
    [
        {"output_bucket": "{bucket}", "prefix": ""},
        {"output_bucket": "{bucket}", "key_template": "images/{rendition}/{key}.{ext}"},
        {"output_bucket": "{bucket}", "key_template": "{key}.{rendition}.{ext}"},
        {"output_bucket": "photos", "prefix": "images/", "key_template": "{key}-{rendition}.jpg"},
    ],
)
def test_recursion_guard_refuses_self_triggering_settings(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="recursion guard"):
        mapper(**env).check_no_recursion("photos")


def test_same_bucket_with_disjoint_prefix_is_allowed() -> None:
    m = mapper(output_bucket="{bucket}", key_template="thumbs/{rendition}/{key}.{ext}")
    m.check_no_recursion("photos")
    assert m.is_own_output("photos", "thumbs/large/images/a.jpg.jpg")
    assert not m.is_own_output("photos", "images/a.jpg")
