"""Output buckets and keys, the prefix filter and the recursion guard."""

from __future__ import annotations

import pytest

from thumbsmith import settings as S
from thumbsmith.errors import ConfigError
from thumbsmith.runners.bootstrap import process_config
from thumbsmith.service.keys import KeyMapper


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


def test_bucket_placeholder_is_substituted() -> None:
    keys = mapper(key_template="{bucket}/{rendition}/{key}.{ext}")
    assert keys.output_key("photos", "images/cat.png", "large") == "photos/large/images/cat.png.jpg"
    assert keys.output_prefixes("photos") == [
        "photos/large/",
        "photos/medium/",
        "photos/thumb/",
        "photos/manifest/",
        "photos/failed/",  # failure records: the recursion guard covers them too
    ]
