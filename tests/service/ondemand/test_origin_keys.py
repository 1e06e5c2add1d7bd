"""Output keys read back through any template the settings accept (the inverse of the key
templates), the ETag, and the start-up checks of the on-demand settings."""

from __future__ import annotations

import pytest

from thumbsmith.errors import ConfigError
from thumbsmith.service.ondemand.keys import KeyReader, adhoc_prefix, adhoc_source
from thumbsmith.service.ondemand.origin import stored_etag, strong_etag
from thumbsmith.service.ports import ObjectInfo
from thumbsmith.service.renditions import META_FINGERPRINT, META_SOURCE_ETAG
from thumbsmith.settings import load

RENDITIONS = "large=1280:webp+jpeg,large2=900:avif,thumb=160x160:cover:png"
SOURCES = ["images/cat.png", "images/a b/ü.jpg", "images/x.large.jpg", "images/noext"]


def reader(**env: str) -> KeyReader:
    settings = load(
        env={"THUMBSMITH_RENDITIONS": RENDITIONS}
        | {f"THUMBSMITH_{k.upper()}": v for k, v in env.items()}
    )
    keys = settings.key_mapper
    specs = {s.name: s for s in settings.specs}
    return KeyReader(keys, "photos", specs, settings.origin_key_template, settings.origin_limits)


@pytest.mark.parametrize(
    "template",
    [
        "{rendition}/{key}.{ext}",
        "{key}.{rendition}.{ext}",
        "out/{rendition}-{ext}/{key}",
        "{bucket}/{rendition}/{key}.{ext}",
    ],
)
@pytest.mark.parametrize("source", SOURCES)
def test_every_named_key_reads_back_to_its_source_rendition_and_format(
    template: str, source: str
) -> None:
    r = reader(key_template=template)
    for name, spec in r.renditions.items():
        for fmt in spec.formats:
            ext = {"jpeg": "jpg"}.get(fmt, fmt)
            key = r.keys.output_key("photos", source, name, ext)
            wanted = r.read(key)
            assert wanted is not None, key
            assert (wanted.source_key, wanted.name, wanted.format) == (source, name, fmt)
            assert wanted.adhoc is None


@pytest.mark.parametrize(
    "template", ["_ondemand/{key}/{id}.{ext}", "od/{bucket}/{key}/v1/{id}.{ext}"]
)
@pytest.mark.parametrize("source", SOURCES)
def test_ad_hoc_keys_read_back(template: str, source: str) -> None:
    r = reader(origin_key_template=template)
    key = template.replace("{bucket}", "photos").replace("{key}", source)
    key = key.replace("{id}", "w640-h480-cover-attention-q75").replace("{ext}", "webp")
    wanted = r.read(key)
    assert wanted is not None and wanted.adhoc is not None
    assert (wanted.source_key, wanted.format, wanted.name) == (
        source, "webp", "w640-h480-cover-attention-q75",
    )  # fmt: skip
    assert (wanted.spec.width, wanted.spec.height, wanted.spec.fit) == (640, 480, "cover")
    assert adhoc_source(template, "photos", key) == source
    assert key.startswith(adhoc_prefix(template, "photos", source))


@pytest.mark.parametrize(
    "key",
    [
        "large/images/cat.png.avif",  # large is not made as AVIF
        "huge/images/cat.png.jpg",  # no such rendition
        "large/elsewhere/cat.png.jpg",  # not under the prefix
        "manifest/images/cat.png.json",
        "_ondemand/images/cat.png/inside-w640.webp",  # not a canonical id
        "_ondemand/images/cat.png/w640-fill.webp",  # fill needs both sides
        "_ondemand/images/cat.png/w5000-inside.webp",  # over origin_max_side
        "_ondemand/images/cat.png/w640-inside-q75.png",  # q means nothing for PNG
        "_ondemand/images/cat.png/w640-inside.gif",
    ],
)
def test_keys_that_name_nothing_read_as_none(key: str) -> None:
    assert reader().read(key) is None


def test_the_limits_in_force_decide_what_an_ad_hoc_key_may_render() -> None:
    key = "_ondemand/images/cat.png/w2000-inside.webp"
    assert reader().read(key) is not None
    assert reader(origin_max_side="1000").read(key) is None
    assert reader(origin_formats="jpeg").read(key) is None


def test_the_etag_is_the_source_etag_and_fingerprint_and_stored_objects_repeat_it() -> None:
    etag = strong_etag('"abc"', "fp1")
    assert etag.startswith('"') and len(etag) == 34 and etag != strong_etag('"abc"', "fp2")
    meta = {META_SOURCE_ETAG: '"abc"', META_FINGERPRINT: "fp1"}
    assert stored_etag(ObjectInfo("b", "k", 1, '"zzz"', meta)) == etag
    assert stored_etag(ObjectInfo("b", "k", 1, '"zzz"')) == '"zzz"'  # not thumbsmith's


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"origin_key_template": "_ondemand/{key}/{ext}"}, "'{id}' once"),
        ({"origin_key_template": "_ondemand/{id}/{key}.{ext}"}, "'{key}/' before"),
        ({"origin_key_template": "_ondemand/{key}-{id}.{ext}"}, "'{key}/' before"),
        ({"origin_key_template": "{key}/{id}.{ext}"}, "reads as an ad-hoc one"),
        ({"origin_key_template": "x/{key}/{id}.{ext}", "renditions": "x=100"}, "reads as"),
        ({"origin_key_template": "_od/{key}/{nope}.{ext}"}, "unknown placeholder"),
        ({"origin_signing_keys": "short"}, "at least 16 characters"),
        ({"origin_formats": "jpeg,gif"}, "gif"),
        ({"origin_listen": "8090"}, "HOST:PORT"),
    ],
)
def test_bad_origin_settings_stop_start_up_naming_the_setting(
    env: dict[str, str], says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(env={f"THUMBSMITH_{k.upper()}": v for k, v in env.items()})
    message = str(info.value)
    assert says in message and "THUMBSMITH_ORIGIN_" in message
    assert "short" not in message or "hidden" in message  # a secret is never shown
